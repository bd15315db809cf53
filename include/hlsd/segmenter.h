// Stage 2: cut the packet stream into MPEG-TS segments, in memory, with one libavformat muxer.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "hlsd/segment.h"
#include "hlsd/source.h"

namespace hlsd {

// What to do with one packet; pure arithmetic on timestamps, unit-tested on synthetic streams.
struct CutDecision {
    bool drop = false;           // before the first keyframe of a run (or after a jump)
    bool closeSegment = false;   // the open segment ends before this packet
    bool openSegment = false;    // this packet starts a new segment
    bool discontinuity = false;  // ...which follows a timestamp jump (new muxer, new timeline)
};

class CutPolicy {
public:
    explicit CutPolicy(double segmentTime);
    void reset();  // a new run: wait for a keyframe
    CutDecision next(int64_t pts, int64_t dts, bool keyframe);

    bool segmentOpen() const { return open_; }
    int64_t segmentStartPts() const { return startPts_; }
    int64_t frameDuration() const { return frameDuration_; }
    // The longest interval between keyframes seen in this run (ticks), 0 before the second.
    int64_t keyframeInterval() const { return keyframeInterval_; }

private:
    bool isJump(int64_t dts) const;

    int64_t segmentTicks_;
    bool open_ = false;
    bool pendingDiscontinuity_ = false;
    int64_t startPts_ = 0;
    int64_t lastDts_ = 0;
    int64_t lastKeyPts_ = -1;
    int64_t frameDuration_ = 0;
    int64_t keyframeInterval_ = 0;
};

struct SegmenterOptions {
    double segmentTime = 1.0;
    std::string runPrefix;  // per-process, makes names unique across restarts
};

class TsMuxer;

// Thread-bound (the source thread). Emits each finished segment to the sink.
class Segmenter : public PacketSink {
public:
    using SegmentSink = std::function<void(std::shared_ptr<Segment>)>;

    Segmenter(SegmenterOptions options, SegmentSink sink);
    ~Segmenter() override;

    void beginRun(const StreamInfo& info) override;
    void push(const EncodedPacket& packet) override;
    void endRun() override;

    uint64_t droppedPackets() const { return dropped_; }

private:
    void openSegment(const EncodedPacket& first, bool discontinuity);
    void closeSegment(int64_t endPts);
    void openMuxer();

    SegmenterOptions options_;
    SegmentSink sink_;
    CutPolicy policy_;
    StreamInfo info_;
    std::unique_ptr<TsMuxer> muxer_;
    std::unique_ptr<Segment> current_;
    std::vector<uint8_t> parameterSets_;  // latest SPS/PPS, Annex B
    int64_t runOffset_ = 0;               // subtracted so every muxer starts at dts 0
    int64_t lastMuxedDts_ = -1;
    bool runOffsetSet_ = false;
    bool pendingRunDiscontinuity_ = false;
    int64_t currentStartPts_ = 0;
    int64_t maxEndPts_ = 0;
    uint64_t nextMsn_ = 0;
    uint64_t discontinuitySequence_ = 0;
    uint64_t runs_ = 0;
    uint64_t dropped_ = 0;
};

}  // namespace hlsd
