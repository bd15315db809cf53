#include <algorithm>

#include "hlsd/segmenter.h"

namespace hlsd {
namespace {

constexpr int64_t kMinJump = kTimeBase;  // a gap of more than 1 s between frames is a jump...
constexpr int64_t kJumpFrames = 10;      // ...or of more than 10 frames, at low frame rates
constexpr int64_t kMinTolerance = kTimeBase / 1000;

}  // namespace

CutPolicy::CutPolicy(double segmentTime) : segmentTicks_(secondsToTicks(segmentTime)) {}

void CutPolicy::reset() {
    open_ = false;
    pendingDiscontinuity_ = false;
    lastKeyPts_ = -1;
    frameDuration_ = 0;
    keyframeInterval_ = 0;
}

bool CutPolicy::isJump(int64_t dts) const {
    if (dts < lastDts_) return true;
    return dts - lastDts_ > std::max(kMinJump, kJumpFrames * frameDuration_);
}

int64_t CutPolicy::tolerance() const {
    return std::max(kMinTolerance, frameDuration_ / 4);
}

CutDecision CutPolicy::next(int64_t pts, int64_t dts, bool keyframe) {
    CutDecision d;
    if (open_ && isJump(dts)) {
        // The timeline broke: end the segment here; the next one starts a new timeline.
        d.closeSegment = true;
        d.discontinuity = true;
        open_ = false;
        pendingDiscontinuity_ = true;
        lastKeyPts_ = -1;
    }
    if (!open_) {
        if (!keyframe) {
            d.drop = true;
            d.discontinuity = false;
            return d;
        }
        d.openSegment = true;
        d.discontinuity = pendingDiscontinuity_;
        pendingDiscontinuity_ = false;
        open_ = true;
        startPts_ = pts;
        lastKeyPts_ = pts;
        lastDts_ = dts;
        return d;
    }
    if (dts > lastDts_) frameDuration_ = dts - lastDts_;
    lastDts_ = dts;
    if (!keyframe) return d;
    if (lastKeyPts_ >= 0 && pts > lastKeyPts_) {
        keyframeInterval_ = std::max(keyframeInterval_, pts - lastKeyPts_);
    }
    lastKeyPts_ = pts;
    // The first keyframe at or after segment_time.
    if (endsSegmentAt(pts)) {
        d.closeSegment = true;
        d.openSegment = true;
        startPts_ = pts;
    }
    return d;
}

}  // namespace hlsd
