// The camera's frame path, independent of libcamera so it can be fed synthetic frames:
// captured YUV 4:2:0 planes (any stride) → flipped/copied AVFrame with pts and wall-clock
// capture time → the H.264 encoder. The libcamera callback only queues; all work happens on
// the source thread.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>

#include "hlsd/encoder.h"

struct AVFrame;

namespace hlsd {

struct CapturedPlane {
    const uint8_t* data = nullptr;
    size_t stride = 0;  // bytes per row
};

// One completed capture: borrowed planes plus the way to give the buffer back.
struct CapturedFrame {
    int width = 0;
    int height = 0;
    std::array<CapturedPlane, 3> planes{};  // Y, U, V
    // The camera's second, smaller stream of the same capture ("lores"), where it has one:
    // pictures for MJPEG. Width 0: none.
    int loresWidth = 0;
    int loresHeight = 0;
    std::array<CapturedPlane, 3> lores{};
    int64_t timestampNs = 0;        // sensor time, CLOCK_BOOTTIME nanoseconds
    std::function<void()> release;  // requeues the buffer; called exactly once
};

// Thread-safe, bounded. The capture side never blocks: a full queue gives the frame straight
// back (dropped, counted).
class FrameQueue {
public:
    explicit FrameQueue(size_t capacity) : capacity_(capacity) {}
    ~FrameQueue() { clear(); }
    void push(CapturedFrame frame);
    // Waits up to `timeout`; std::nullopt on timeout or after close().
    std::optional<CapturedFrame> pop(std::chrono::milliseconds timeout);
    void close();
    void clear();  // releases every queued frame
    uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

private:
    size_t capacity_;
    std::mutex mutex_;
    std::condition_variable ready_;
    std::deque<CapturedFrame> frames_;
    bool closed_ = false;
    std::atomic<uint64_t> dropped_{0};  // read by /metrics
};

struct FramePathOptions {
    Rational fps{30, 1};
    bool hflip = false;
    bool vflip = false;
    FrameTap* loresTap = nullptr;  // where the lores pictures go (MJPEG), copied and flipped
};

// Thread-bound (the source thread).
class CameraFramePath {
public:
    CameraFramePath(FramePathOptions options, std::unique_ptr<Encoder> encoder);
    ~CameraFramePath();

    // Copies the frame (the buffer is released before encoding), stamps it and encodes it.
    void process(CapturedFrame frame);
    std::optional<EncodedPacket> receive() { return encoder_->receive(); }
    StreamInfo streamInfo() const { return encoder_->streamInfo(); }

    // Sensor (CLOCK_BOOTTIME) time → wall clock, as of now.
    static WallClock::time_point toWallClock(int64_t boottimeNs);
    // The last frame handed to the encoder, for tests.
    const AVFrame* lastFrame() const { return frame_; }

private:
    // YUV 4:2:0 planes of w × h into `to`, flipped as configured.
    void copy(const std::array<CapturedPlane, 3>& planes, int w, int h, AVFrame* to) const;

    FramePathOptions options_;
    std::unique_ptr<Encoder> encoder_;
    AVFrame* frame_ = nullptr;
    bool started_ = false;
    int64_t firstTimestampNs_ = 0;
    int64_t lastPts_ = -1;
};

}  // namespace hlsd
