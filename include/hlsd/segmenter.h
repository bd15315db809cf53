// Stage 2: cut the packet stream into MPEG-TS segments, in memory, with one libavformat muxer.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
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

    int64_t frameDuration() const { return frameDuration_; }
    // The longest interval between keyframes seen in this run (ticks), 0 before the second.
    int64_t keyframeInterval() const { return keyframeInterval_; }
    // How far timestamps may be off (rounding, e.g. 30 fps in milliseconds), never a frame.
    int64_t tolerance() const;
    // Whether a keyframe at `pts` would end the open segment: it has reached segment_time.
    bool endsSegmentAt(int64_t pts) const { return pts - startPts_ + tolerance() >= segmentTicks_; }

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

// Keeps a run's timeline usable before the cut policy sees it, against three faults of real
// sources (pure arithmetic on timestamps, like CutPolicy):
//  - timestamps that stall (the same dts again while frames keep coming): each repeat is
//    restamped one frame after the previous frame, so it is shown instead of stacked on it; the
//    offset this builds up is given back when the source's clock steps ahead by more than a
//    frame (it caught up with real time) and kept when it goes on from where it stalled;
//  - a packet whose dts does not follow (backwards, or ahead by more than a jump): held until
//    the next packet tells. If that one follows the stream as it was, the held one was an
//    outlier (a stray frame from elsewhere, garbage that parsed as a frame) and is dropped; if
//    it follows the held one, the timeline really jumped and both pass (the cut policy then
//    starts a new segment, marked discontinuous);
//  - a pts before its dts, or further after it than any frame reordering: set to the dts.
class TimelineGuard {
public:
    enum class Verdict {
        Pass,         // follows the timeline (pts/dts possibly restamped); a held packet is dropped
        Hold,         // does not follow (yet): hold it, dropping any packet already held
        ReleaseHeld,  // follows the held packet: pass the held one, then this one
    };

    void reset();
    // `duration` (ticks, 0 if unknown) is the nominal frame length until the stream shows one.
    Verdict next(int64_t& pts, int64_t& dts, int64_t duration);

    int64_t offset() const { return offset_; }  // restamping now in force (ticks)
    uint64_t restamped() const { return restamped_; }
    uint64_t fixedPts() const { return fixedPts_; }

private:
    bool started_ = false;
    int64_t lastIn_ = 0;   // the source's dts of the last packet that passed
    int64_t lastOut_ = 0;  // ...and what it became
    int64_t offset_ = 0;   // added to the source's timestamps since a stall
    int64_t step_ = 0;     // the source's last dts step outside a stall: one frame
    bool holding_ = false;
    int64_t heldIn_ = 0;
    int holds_ = 0;  // packets held in a row, none following another
    uint64_t restamped_ = 0;
    uint64_t fixedPts_ = 0;
};

struct SegmenterOptions {
    double segmentTime = 1.0;
    std::string runPrefix;  // per-process, makes names unique across restarts
    // LL-HLS: also cut each segment into parts of at most this many seconds (on access-unit
    // boundaries; a frame longer than that is a part alone). 0: segments only.
    double partDuration = 0.0;
    Container container = Container::MpegTs;
};

class Muxer;

// Thread-bound (the source thread). Emits each finished segment to the sink and, with parts,
// the segment being written after each part (complete == false, sharing the parts so far).
class Segmenter : public PacketSink {
public:
    using SegmentSink = std::function<void(std::shared_ptr<const Segment>)>;

    Segmenter(SegmenterOptions options, SegmentSink sink);
    ~Segmenter() override;

    void beginRun(const StreamInfo& info) override;
    void push(const EncodedPacket& packet) override;
    void endRun() override;

    // Any thread (/metrics).
    uint64_t droppedPackets() const { return dropped_.load(std::memory_order_relaxed); }

private:
    // One packet that passed the timeline guard, with its (possibly restamped) timestamps.
    void process(const EncodedPacket& packet, int64_t pts, int64_t dts);
    void dropHeld();
    void openSegment(const EncodedPacket& first, int64_t pts, bool discontinuity);
    void closeSegment(int64_t endPts);
    // Ends the open part at `end` (ticks, on the segment's presentation timeline); `publish`:
    // hand the sink the segment so far.
    void closePart(int64_t end, bool publish);
    void openMuxer();

    SegmenterOptions options_;
    SegmentSink sink_;
    CutPolicy policy_;
    TimelineGuard guard_;
    std::optional<EncodedPacket> held_;  // what the guard holds, timestamps as it left them
    uint64_t outliers_ = 0;              // held packets dropped in this run
    bool warnedDependentPart_ = false;   // logged a part that starts without a keyframe
    uint64_t reportedRestamped_ = 0;
    StreamInfo info_;
    std::unique_ptr<Muxer> muxer_;
    std::shared_ptr<const InitSection> init_;  // fMP4: the muxer's, named after its first segment
    std::unique_ptr<Segment> current_;
    std::shared_ptr<FileCopy> segmentFile_;  // current_'s parts, one after another
    int64_t partTicks_ = 0;                  // 0: no parts
    int64_t partStart_ = 0;                  // where the open part starts (pts timeline)
    int64_t dtsToPts_ = 0;     // pts − dts of the segment's first frame: dts + this = position
    uint32_t partFrames_ = 0;  // frames in the open part
    bool partIndependent_ = false;
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
    std::atomic<uint64_t> dropped_{0};
};

}  // namespace hlsd
