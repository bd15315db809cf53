#include "hlsd/segmenter.h"

#include "hlsd/log.h"
#include "segmenter/muxer.h"
#include "source/h264.h"

namespace hlsd {

Segmenter::Segmenter(SegmenterOptions options, SegmentSink sink)
    : options_(std::move(options)),
      sink_(std::move(sink)),
      policy_(options_.segmentTime),
      partTicks_(options_.partDuration > 0 ? secondsToTicks(options_.partDuration) : 0) {}

Segmenter::~Segmenter() = default;

void Segmenter::beginRun(const StreamInfo& info) {
    if (current_) closeSegment(maxEndPts_);
    info_ = info;
    parameterSets_ = info.extradata;
    policy_.reset();
    guard_.reset();
    held_.reset();
    outliers_ = 0;
    reportedRestamped_ = 0;
    // A run after one that produced segments is a new timeline for players.
    pendingRunDiscontinuity_ = nextMsn_ > 0;
    ++runs_;
    muxer_.reset();
    runOffsetSet_ = false;
}

void Segmenter::openMuxer() {
    StreamInfo info = info_;
    // An fMP4 init section needs SPS/PPS up front: the newest ones seen, in-band or not.
    if (options_.container == Container::Fmp4 && !parameterSets_.empty())
        info.extradata = parameterSets_;
    muxer_ = makeMuxer(options_.container, info);
    init_.reset();
    runOffsetSet_ = false;
}

void Segmenter::push(const EncodedPacket& packet) {
    int64_t pts = packet.pts;
    int64_t dts = packet.dts;
    const uint64_t restampedBefore = guard_.restamped();
    switch (guard_.next(pts, dts, packet.duration)) {
        case TimelineGuard::Verdict::Pass:
            dropHeld();  // the stream went on where it was: the held packet was an outlier
            process(packet, pts, dts);
            break;
        case TimelineGuard::Verdict::Hold:
            dropHeld();
            held_ = packet;
            held_->pts = pts;
            held_->dts = dts;
            break;
        case TimelineGuard::Verdict::ReleaseHeld: {
            EncodedPacket first = std::move(*held_);
            held_.reset();
            process(first, first.pts, first.dts);
            process(packet, pts, dts);
            break;
        }
    }
    if (guard_.restamped() == restampedBefore && restampedBefore > reportedRestamped_) {
        // A stall just ended: one line for all of it.
        logger("segmenter")
            ->warn("timestamps stalled for {} frames: restamped them one frame apart{}",
                   restampedBefore - reportedRestamped_,
                   guard_.offset() > 0 ? fmt::format(" (the source's clock is now {:.3f} s behind)",
                                                     ticksToSeconds(guard_.offset()))
                                       : "");
        reportedRestamped_ = restampedBefore;
    }
}

void Segmenter::dropHeld() {
    if (!held_) return;
    if (outliers_++ == 0) {
        logger("segmenter")
            ->warn(
                "dropped a frame whose timestamp does not follow the stream (dts {:.3f} s, "
                "stream at {:.3f} s); further ones in this run are logged at debug level",
                ticksToSeconds(held_->dts), ticksToSeconds(maxEndPts_));
    } else {
        logger("segmenter")
            ->debug("dropped a frame whose timestamp does not follow the stream (dts {:.3f} s)",
                    ticksToSeconds(held_->dts));
    }
    held_.reset();
}

void Segmenter::process(const EncodedPacket& packet, int64_t pts, int64_t dts) {
    // SPS/PPS are remembered even from packets that are dropped (a hardware encoder may send
    // them alone, ahead of the first IDR).
    const auto types = h264::nalTypes(packet.data);
    if (h264::contains(types, h264::kSps) && h264::contains(types, h264::kPps)) {
        parameterSets_ = h264::parameterSets(packet.data.data(), packet.data.size());
    }
    CutDecision d = policy_.next(pts, dts, packet.keyframe);
    if (d.closeSegment && current_)
        closeSegment(d.openSegment && !d.discontinuity ? pts : maxEndPts_);
    if (d.drop) {
        if (dropped_++ == 0 || d.closeSegment) {
            logger("segmenter")->info("waiting for a keyframe (dropping frames before it)");
        }
        return;
    }
    int64_t duration = packet.duration > 0 ? packet.duration : policy_.frameDuration();
    if (duration <= 0) {
        duration = info_.frameRate.valid() ? secondsToTicks(1.0 / info_.frameRate.toDouble())
                                           : kTimeBase / 30;
    }
    const int64_t tolerance = policy_.tolerance();
    if (!d.openSegment && current_ && partTicks_ > 0 && partFrames_ > 0) {
        // The open part ends before this frame if the frame would take it past the part target
        // (a frame longer than the one before it; usually the part was closed after that one).
        const int64_t position = dts + dtsToPts_;
        if (position + duration - partStart_ > partTicks_ + tolerance) closePart(position, true);
    }
    if (d.openSegment && (!muxer_ || d.discontinuity)) openMuxer();
    const bool partStarts = d.openSegment || (current_ && partFrames_ == 0);
    if (partStarts) muxer_->startPart();
    if (partStarts && !packet.keyframe && !warnedDependentPart_) {
        warnedDependentPart_ = true;
        logger("segmenter")
            ->warn(
                "LL-HLS parts start without a keyframe (the source's keyframes are further "
                "apart than part_duration {:.3f} s): Shaka Player's low-latency mode and "
                "Video.js with MPEG-TS drop such parts; give the source a keyframe every part "
                "(README, Players)",
                options_.partDuration);
    }

    // Every muxer starts its timeline at dts 0; dts never repeats.
    if (!runOffsetSet_) {
        runOffset_ = dts;
        runOffsetSet_ = true;
        lastMuxedDts_ = -1;
    }
    const int64_t muxDts = std::max(dts - runOffset_, lastMuxedDts_ + 1);
    const int64_t muxPts = std::max(pts - runOffset_, muxDts);
    lastMuxedDts_ = muxDts;

    // A part is complete once another frame as long as this one would take it past the target:
    // published with this frame, not when that frame arrives, which puts every LL-HLS player
    // one frame closer to the camera. Not the part that takes the segment to segment_time: the
    // segment ends at the next keyframe, and until that arrives the preload hint could only
    // name a part of this segment that may never exist. Either way this frame may end its part,
    // and MPEG-TS holds it until the part's end is known.
    const int64_t frameEnd = dts + (d.openSegment ? pts - dts : dtsToPts_) + duration;
    const bool partFull =
        partTicks_ > 0 &&
        frameEnd + duration - (d.openSegment ? pts : partStart_) > partTicks_ + tolerance;
    const bool segmentFull = policy_.endsSegmentAt(frameEnd);
    if (partFull || segmentFull) muxer_->nextMayEndPart();
    // A segment must decode alone: SPS/PPS ahead of its IDR. An MPEG-TS part gets them too,
    // with PAT/PMT (startPart()): Shaka's TS transmuxer makes an init segment of every part it
    // fetches, from that part alone, and fails (error 3018) on one without them; the cost is
    // ~0.4 KiB a part.
    const bool needsSets = d.openSegment || (partStarts && options_.container == Container::MpegTs);
    if (needsSets && !h264::contains(types, h264::kSps) && !parameterSets_.empty()) {
        const auto withSets =
            h264::withParameterSets(packet.data.data(), packet.data.size(), parameterSets_);
        muxer_->write(withSets.data(), withSets.size(), muxPts, muxDts, duration, packet.keyframe);
    } else {
        muxer_->write(packet.data.data(), packet.data.size(), muxPts, muxDts, duration,
                      packet.keyframe);
    }
    // The segment exists once its first frame is muxed: a frame the muxer refuses (it throws,
    // and the run ends) leaves no empty segment behind to publish, nor a sequence number.
    if (d.openSegment) {
        openSegment(packet, pts, d.discontinuity || pendingRunDiscontinuity_);
        pendingRunDiscontinuity_ = false;
        dtsToPts_ = pts - dts;
        partStart_ = pts;
        partFrames_ = 0;
    }
    if (partFrames_++ == 0) partIndependent_ = packet.keyframe;
    ++current_->frames;
    maxEndPts_ = std::max(maxEndPts_, pts + duration);
    if (partFull && !segmentFull) closePart(frameEnd, true);
}

void Segmenter::openSegment(const EncodedPacket& first, int64_t pts, bool discontinuity) {
    current_ = std::make_unique<Segment>();
    segmentFile_.reset();
    current_->msn = nextMsn_++;
    const std::string base = options_.runPrefix + "-" + std::to_string(current_->msn);
    current_->name = base + (options_.container == Container::Fmp4 ? ".m4s" : ".ts");
    if (!init_ && !muxer_->init().empty()) {
        auto init = std::make_shared<InitSection>();
        init->name = base + ".mp4";
        init->data = muxer_->init();
        init_ = std::move(init);
    }
    current_->init = init_;
    current_->programDateTime = first.captureTime;
    if (discontinuity) ++discontinuitySequence_;
    current_->discontinuity = discontinuity;
    current_->discontinuitySequence = discontinuitySequence_;
    currentStartPts_ = pts;
    maxEndPts_ = pts;
}

void Segmenter::closePart(int64_t end, bool publish) {
    auto part = std::make_shared<Part>();
    muxer_->partEndsAt(end - runOffset_);
    part->data = muxer_->take();
    // The segment's file, the parts one after another (a response of several is one range).
    if (current_->parts.empty()) segmentFile_ = FileCopy::create();
    if (segmentFile_ && !part->data.empty()) {
        if (segmentFile_->append(part->data, part->fileOffset)) {
            part->file = segmentFile_;
        } else {
            segmentFile_.reset();  // a failed write: this segment's later parts from memory
        }
    }
    part->duration = ticksToSeconds(std::max<int64_t>(end - partStart_, 1));
    part->independent = partIndependent_;
    current_->addPart(std::move(part));
    partStart_ = end;
    partFrames_ = 0;
    if (!publish) return;
    auto view = std::make_shared<Segment>(*current_);  // shares the parts; copies no bytes
    view->complete = false;
    view->duration = ticksToSeconds(end - currentStartPts_);
    sink_(std::move(view));
}

void Segmenter::closeSegment(int64_t endPts) {
    int64_t ticks = endPts - currentStartPts_;
    if (ticks <= 0) ticks = policy_.frameDuration();
    if (partTicks_ > 0) {
        if (partFrames_ > 0) closePart(std::max(endPts, partStart_ + 1), false);
    } else {
        auto whole = std::make_shared<Part>();
        muxer_->partEndsAt(endPts - runOffset_);
        whole->data = muxer_->take();
        whole->file = FileCopy::of(whole->data);
        whole->duration = ticksToSeconds(ticks);
        whole->independent = true;
        current_->addPart(std::move(whole));
    }
    segmentFile_.reset();  // the next segment has its own
    std::shared_ptr<Segment> segment = std::move(current_);
    segment->complete = true;
    segment->duration = ticksToSeconds(ticks);
    segment->keyframeInterval = ticksToSeconds(policy_.keyframeInterval());
    logger("segmenter")
        ->debug("segment {} duration={:.3f} bytes={} parts={} discontinuity={}", segment->name,
                segment->duration, segment->size, segment->parts.size(), segment->discontinuity);
    sink_(std::move(segment));
}

void Segmenter::endRun() {
    dropHeld();  // nothing came to confirm it
    if (current_) closeSegment(maxEndPts_);
    muxer_.reset();
}

}  // namespace hlsd
