#include "source/pacer.h"

#include <cmath>

namespace hlsd {

bool Interrupter::sleepUntil(std::chrono::steady_clock::time_point until) {
    std::unique_lock lock(mutex_);
    cv_.wait_until(lock, until, [this] { return flag_.load(); });
    return !flag_.load();
}

bool Interrupter::sleepFor(double seconds) {
    auto d = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(seconds));
    return sleepUntil(std::chrono::steady_clock::now() + d);
}

void Interrupter::trigger() {
    {
        std::lock_guard lock(mutex_);
        flag_ = true;
    }
    cv_.notify_all();
}

bool Pacer::pace(int64_t dts, WallClock::time_point& captureTime) {
    using namespace std::chrono;
    auto nowSteady = steady_clock::now();
    if (!anchored_) {
        anchored_ = true;
        anchorDts_ = dts;
        anchorSteady_ = nowSteady;
        anchorWall_ = WallClock::now();
    }
    auto offset =
        duration_cast<steady_clock::duration>(duration<double>(ticksToSeconds(dts - anchorDts_)));
    auto due = anchorSteady_ + offset;
    if (mode_ != Mode::Synthetic) {
        double drift = duration<double>(nowSteady - due).count();  // > 0: behind
        bool reanchor = mode_ == Mode::Paced ? drift > kMaxDrift : std::fabs(drift) > kMaxDrift;
        if (reanchor) {
            ++reanchors_;
            anchorDts_ = dts;
            anchorSteady_ = nowSteady;
            anchorWall_ = WallClock::now();
            offset = steady_clock::duration::zero();
            due = nowSteady;
        }
        if (mode_ == Mode::Paced && due > nowSteady && !interrupter_.sleepUntil(due)) {
            return false;
        }
    }
    captureTime = anchorWall_ + duration_cast<WallClock::duration>(offset);
    return !interrupter_.triggered();
}

}  // namespace hlsd
