#include "hlsd/segmenter.h"

#include "hlsd/log.h"
#include "segmenter/ts_muxer.h"
#include "source/h264.h"

namespace hlsd {

Segmenter::Segmenter(SegmenterOptions options, SegmentSink sink)
    : options_(std::move(options)), sink_(std::move(sink)), policy_(options_.segmentTime) {}

Segmenter::~Segmenter() = default;

void Segmenter::beginRun(const StreamInfo& info) {
    if (current_) closeSegment(maxEndPts_);
    info_ = info;
    parameterSets_ = info.extradata;
    policy_.reset();
    // A run after one that produced segments is a new timeline for players.
    pendingRunDiscontinuity_ = nextMsn_ > 0;
    ++runs_;
    muxer_.reset();
    runOffsetSet_ = false;
}

void Segmenter::openMuxer() {
    muxer_ = std::make_unique<TsMuxer>(info_);
    runOffsetSet_ = false;
}

void Segmenter::push(const EncodedPacket& packet) {
    // SPS/PPS are remembered even from packets that are dropped (a hardware encoder may send
    // them alone, ahead of the first IDR).
    const auto types = h264::nalTypes(packet.data);
    if (h264::contains(types, h264::kSps) && h264::contains(types, h264::kPps)) {
        parameterSets_ = h264::parameterSets(packet.data.data(), packet.data.size());
    }
    CutDecision d = policy_.next(packet.pts, packet.dts, packet.keyframe);
    if (d.closeSegment && current_)
        closeSegment(d.openSegment && !d.discontinuity ? packet.pts : maxEndPts_);
    if (d.drop) {
        if (dropped_++ == 0 || d.closeSegment) {
            logger("segmenter")->info("waiting for a keyframe (dropping frames before it)");
        }
        return;
    }
    if (d.openSegment) {
        if (!muxer_ || d.discontinuity) openMuxer();
        muxer_->startSegment();
    }

    // Every muxer starts its timeline at dts 0; dts never repeats.
    if (!runOffsetSet_) {
        runOffset_ = packet.dts;
        runOffsetSet_ = true;
        lastMuxedDts_ = -1;
    }
    int64_t dts = std::max(packet.dts - runOffset_, lastMuxedDts_ + 1);
    int64_t pts = std::max(packet.pts - runOffset_, dts);
    lastMuxedDts_ = dts;

    if (d.openSegment && !h264::contains(types, h264::kSps) && !parameterSets_.empty()) {
        // The segment must decode alone: SPS/PPS ahead of its IDR.
        std::vector<uint8_t> withHeaders = parameterSets_;
        withHeaders.insert(withHeaders.end(), packet.data.begin(), packet.data.end());
        muxer_->write(withHeaders.data(), withHeaders.size(), pts, dts, packet.duration,
                      packet.keyframe);
    } else {
        muxer_->write(packet.data.data(), packet.data.size(), pts, dts, packet.duration,
                      packet.keyframe);
    }
    // The segment exists once its first frame is muxed: a frame the muxer refuses (it throws,
    // and the run ends) leaves no empty segment behind to publish, nor a sequence number.
    if (d.openSegment) {
        openSegment(packet, d.discontinuity || pendingRunDiscontinuity_);
        pendingRunDiscontinuity_ = false;
    }
    ++current_->frames;
    const int64_t duration = packet.duration > 0 ? packet.duration : policy_.frameDuration();
    maxEndPts_ = std::max(maxEndPts_, packet.pts + duration);
}

void Segmenter::openSegment(const EncodedPacket& first, bool discontinuity) {
    current_ = std::make_unique<Segment>();
    current_->msn = nextMsn_++;
    current_->name = options_.runPrefix + "-" + std::to_string(current_->msn) + ".ts";
    current_->programDateTime = first.captureTime;
    if (discontinuity) ++discontinuitySequence_;
    current_->discontinuity = discontinuity;
    current_->discontinuitySequence = discontinuitySequence_;
    currentStartPts_ = first.pts;
    maxEndPts_ = first.pts;
}

void Segmenter::closeSegment(int64_t endPts) {
    auto segment = std::move(current_);
    segment->data = muxer_->take();
    int64_t ticks = endPts - currentStartPts_;
    if (ticks <= 0) ticks = policy_.frameDuration();
    segment->duration = ticksToSeconds(ticks);
    segment->keyframeInterval = ticksToSeconds(policy_.keyframeInterval());
    logger("segmenter")
        ->debug("segment {} duration={:.3f} bytes={} discontinuity={}", segment->name,
                segment->duration, segment->data.size(), segment->discontinuity);
    sink_(std::move(segment));
}

void Segmenter::endRun() {
    if (current_) closeSegment(maxEndPts_);
    muxer_.reset();
}

}  // namespace hlsd
