// Pacing and wall-clock stamping of packets, and an interruptible sleep.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

#include "hlsd/packet.h"

namespace hlsd {

// Thread-safe. One thread sleeps; any thread may interrupt it (for shutdown).
class Interrupter {
public:
    // False when interrupted (before or during the wait).
    bool sleepUntil(std::chrono::steady_clock::time_point until);
    bool sleepFor(double seconds);
    void trigger();
    bool triggered() const { return flag_.load(); }

private:
    std::atomic<bool> flag_{false};
    std::mutex mutex_;
    std::condition_variable cv_;
};

// Thread-bound. Maps packet timestamps to wall-clock capture times on a timeline anchored at
// the first packet of a run.
//  - Paced (files in real time): sleeps until each packet's time, like `ffmpeg -re`.
//  - Follow (live inputs, and --no-realtime): never sleeps.
// Either way, if the timeline drifts from the wall clock by more than `maxDrift` (a slow
// machine, or a live source whose real rate differs from its timestamps), it re-anchors.
class Pacer {
public:
    enum class Mode { Paced, Follow, Synthetic };

    Pacer(Mode mode, Interrupter& interrupter) : mode_(mode), interrupter_(interrupter) {}
    void reset() { anchored_ = false; }
    // Capture time for a packet; std::nullopt-like: returns false when interrupted.
    bool pace(int64_t dts, WallClock::time_point& captureTime);
    uint64_t reanchors() const { return reanchors_; }

    static constexpr double kMaxDrift = 1.0;

private:
    Mode mode_;
    Interrupter& interrupter_;
    bool anchored_ = false;
    int64_t anchorDts_ = 0;
    std::chrono::steady_clock::time_point anchorSteady_;
    WallClock::time_point anchorWall_;
    uint64_t reanchors_ = 0;
};

}  // namespace hlsd
