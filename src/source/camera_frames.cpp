#include "source/camera_frames.h"

#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <utility>

#include "hlsd/source.h"

extern "C" {
#include <libavutil/frame.h>
}

namespace hlsd {

void FrameQueue::push(CapturedFrame frame) {
    {
        std::lock_guard lock(mutex_);
        if (!closed_ && frames_.size() < capacity_) {
            frames_.push_back(std::move(frame));
            ready_.notify_one();
            return;
        }
        ++dropped_;
    }
    if (frame.release) frame.release();
}

std::optional<CapturedFrame> FrameQueue::pop(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    ready_.wait_for(lock, timeout, [this] { return closed_ || !frames_.empty(); });
    if (closed_ || frames_.empty()) return std::nullopt;
    CapturedFrame f = std::move(frames_.front());
    frames_.pop_front();
    return f;
}

void FrameQueue::close() {
    {
        std::lock_guard lock(mutex_);
        closed_ = true;
    }
    ready_.notify_all();
}

void FrameQueue::clear() {
    std::deque<CapturedFrame> frames;
    {
        std::lock_guard lock(mutex_);
        frames.swap(frames_);
    }
    for (auto& f : frames) {
        if (f.release) f.release();
    }
}

CameraFramePath::CameraFramePath(FramePathOptions options, std::unique_ptr<Encoder> encoder)
    : options_(options), encoder_(std::move(encoder)), frame_(av_frame_alloc()) {
    const EncoderOptions& e = encoder_->options();
    frame_->format = AV_PIX_FMT_YUV420P;
    frame_->width = e.width;
    frame_->height = e.height;
    if (av_frame_get_buffer(frame_, 0) < 0) {
        throw SourceError("out of memory for a camera frame", true);
    }
}

CameraFramePath::~CameraFramePath() {
    av_frame_free(&frame_);
}

void CameraFramePath::copy(const std::array<CapturedPlane, 3>& planes, int w0, int h0,
                           AVFrame* to) const {
    for (int p = 0; p < 3; ++p) {
        const int w = p ? w0 / 2 : w0;
        const int h = p ? h0 / 2 : h0;
        const CapturedPlane& in = planes[p];
        for (int y = 0; y < h; ++y) {
            const uint8_t* src =
                in.data + static_cast<size_t>(options_.vflip ? h - 1 - y : y) * in.stride;
            uint8_t* dst = to->data[p] + static_cast<size_t>(y) * to->linesize[p];
            if (options_.hflip) {
                std::reverse_copy(src, src + w, dst);
            } else {
                std::memcpy(dst, src, static_cast<size_t>(w));
            }
        }
    }
}

WallClock::time_point CameraFramePath::toWallClock(int64_t boottimeNs) {
    timespec boot{};
    clock_gettime(CLOCK_BOOTTIME, &boot);
    const auto wallNow = WallClock::now();
    const int64_t nowNs = static_cast<int64_t>(boot.tv_sec) * 1'000'000'000 + boot.tv_nsec;
    return wallNow - std::chrono::duration_cast<WallClock::duration>(
                         std::chrono::nanoseconds(nowNs - boottimeNs));
}

void CameraFramePath::process(CapturedFrame f) {
    // The buffer goes back to the camera exactly once, whatever happens below.
    struct Releaser {
        std::function<void()> release;
        void now() {
            if (release) std::exchange(release, nullptr)();
        }
        ~Releaser() { now(); }
    } releaser{std::move(f.release)};

    if (f.width != frame_->width || f.height != frame_->height) {
        throw SourceError("camera delivered " + std::to_string(f.width) + "x" +
                              std::to_string(f.height) + ", expected " +
                              std::to_string(frame_->width) + "x" + std::to_string(frame_->height),
                          false);
    }
    if (av_frame_make_writable(frame_) < 0) throw SourceError("out of memory", false);
    copy(f.planes, f.width, f.height, frame_);
    const auto captureTime = toWallClock(f.timestampNs);
    // The lores picture, while MJPEG wants one: copied out of the camera's buffer (it goes
    // back now) into a frame of its own, which the tap references.
    if (options_.loresTap && options_.loresTap->wantsFrames()) {
        AVFrame* lores = f.loresWidth > 0 ? av_frame_alloc() : nullptr;
        if (lores) {
            lores->format = AV_PIX_FMT_YUV420P;
            lores->width = f.loresWidth;
            lores->height = f.loresHeight;
        }
        if (lores && av_frame_get_buffer(lores, 0) == 0) {
            copy(f.lores, f.loresWidth, f.loresHeight, lores);
            options_.loresTap->offer(*lores, captureTime);
        } else {
            // No lores picture with this capture (its buffer failed): MJPEG gets the main one,
            // which it scales, rather than nothing.
            options_.loresTap->offer(*frame_, captureTime);
        }
        av_frame_free(&lores);
    }
    releaser.now();  // requeue before the (slower) encode
    if (!started_) {
        started_ = true;
        firstTimestampNs_ = f.timestampNs;
    }
    // pts in frames of the nominal rate, from the sensor clock: a dropped frame leaves a gap.
    const double seconds = static_cast<double>(f.timestampNs - firstTimestampNs_) / 1e9;
    int64_t pts = std::llround(seconds * options_.fps.toDouble());
    pts = std::max(pts, lastPts_ + 1);
    lastPts_ = pts;
    frame_->pts = pts;
    frame_->pict_type = AV_PICTURE_TYPE_NONE;
    encoder_->send(frame_, captureTime);
}

}  // namespace hlsd
