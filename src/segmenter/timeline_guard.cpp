#include <algorithm>

#include "hlsd/segmenter.h"

namespace hlsd {
namespace {

// The same idea of a jump as the cut policy's: more than 1 s, or 10 frames at low frame rates.
constexpr int64_t kMinJump = kTimeBase;
constexpr int64_t kJumpFrames = 10;
// A pts this far after its dts is no B-frame delay (H.264 reorders at most 16 frames).
constexpr int64_t kMaxReorder = 5 * kTimeBase;
constexpr int64_t kMaxReorderFrames = 32;
// After this many packets in a row that follow neither the stream nor each other, the next one
// starts a new timeline whatever it looks like: a stream this erratic still gets published.
constexpr int kMaxHolds = 8;

int64_t jumpThreshold(int64_t frame) {
    return std::max(kMinJump, kJumpFrames * frame);
}

}  // namespace

void TimelineGuard::reset() {
    *this = TimelineGuard{};
}

TimelineGuard::Verdict TimelineGuard::next(int64_t& pts, int64_t& dts, int64_t duration) {
    const int64_t frame = step_ > 0 ? step_ : std::max<int64_t>(duration, 0);
    if (pts < dts || pts - dts > std::max(kMaxReorder, kMaxReorderFrames * frame)) {
        pts = dts;
        ++fixedPts_;
    }
    const int64_t in = dts;
    auto pass = [&](int64_t offset) {
        offset_ = offset;
        lastIn_ = in;
        lastOut_ = in + offset;
        dts += offset;
        pts += offset;
        holding_ = false;
        holds_ = 0;
        return Verdict::Pass;
    };
    if (!started_) {
        started_ = true;
        return pass(0);
    }
    if (in == lastIn_) {
        // Stalled: one frame after the previous output.
        ++restamped_;
        return pass(offset_ + std::max<int64_t>(frame, 1));
    }
    if (in > lastIn_) {
        const int64_t delta = in - lastIn_;
        // A step longer than a frame gives back restamping in force: the clock caught up.
        const int64_t giveBack = std::min(offset_, std::max<int64_t>(0, delta - frame));
        if (delta - giveBack <= jumpThreshold(frame)) {
            if (offset_ == 0) step_ = delta;
            return pass(offset_ - giveBack);
        }
    }
    if (holding_ && in > heldIn_ && in - heldIn_ <= jumpThreshold(frame)) {
        // The held packet started a new timeline and this one follows it.
        holding_ = false;
        holds_ = 0;
        offset_ = 0;
        step_ = in - heldIn_;
        lastIn_ = lastOut_ = in;
        return Verdict::ReleaseHeld;
    }
    if (++holds_ > kMaxHolds) return pass(0);  // give up guessing: a new timeline here
    holding_ = true;
    heldIn_ = in;
    return Verdict::Hold;
}

}  // namespace hlsd
