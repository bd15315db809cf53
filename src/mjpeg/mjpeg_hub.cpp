#include "hlsd/mjpeg.h"

#include <time.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include "hlsd/log.h"
#include "mjpeg/frame_jpeg.h"

extern "C" {
#include <libavutil/frame.h>
}

namespace hlsd {
namespace {

using Clock = std::chrono::steady_clock;

// A GOP longer than this (a source without keyframes) is not kept whole: pictures start again
// at the next keyframe.
constexpr size_t kMaxGopPackets = 1200;

std::string unixTime(WallClock::time_point t) {
    const int64_t us =
        std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
    char text[32];
    const int n =
        std::snprintf(text, sizeof text, "%" PRId64 ".%06" PRId64, us / 1000000, us % 1000000);
    return std::string(text, static_cast<size_t>(n));
}

// mjpg-streamer's part head: what Mainsail's, Fluidd's and OctoPrint's readers expect.
std::string partHead(size_t size, const std::string& timestamp) {
    return std::string("--") + kMjpegBoundary +
           "\r\nContent-Type: image/jpeg\r\nContent-Length: " + std::to_string(size) +
           "\r\nX-Timestamp: " + timestamp + "\r\n\r\n";
}

// This thread's CPU time: what making pictures costs, not the time it waited for a core.
int64_t threadCpuMicros() {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<int64_t>(t.tv_sec) * 1000000 + t.tv_nsec / 1000;
}

}  // namespace

MjpegHub::MjpegHub(MjpegOptions options, PacketSink& next)
    : options_(options),
      next_(next),
      minInterval_(options.fps > 0 ? std::chrono::duration_cast<WallClock::duration>(
                                         std::chrono::duration<double>(0.999 / options.fps))
                                   : WallClock::duration::zero()),
      picture_(av_frame_alloc()),
      raw_(av_frame_alloc()) {
    if (!raw_ || !picture_) throw std::runtime_error("out of memory for MJPEG pictures");
}

MjpegHub::~MjpegHub() {
    stop();
    av_frame_free(&raw_);
    av_frame_free(&picture_);
}

void MjpegHub::beginRun(const StreamInfo& info) {
    next_.beginRun(info);
    std::lock_guard lock(mutex_);
    ++run_;
    extradata_ = info.extradata;
    gop_.clear();
    fed_ = 0;
}

void MjpegHub::push(const EncodedPacket& packet) {
    next_.push(packet);              // HLS first: nothing here delays it
    if (options_.rawFrames) return;  // pictures come raw (offer()): nothing to decode
    auto copy = std::make_shared<const EncodedPacket>(packet);
    bool notify;
    {
        std::lock_guard lock(mutex_);
        if (packet.keyframe) {
            gop_.clear();
            fed_ = 0;
            awaitKeyframe_ = false;
        } else if (gop_.empty() || gop_.size() >= kMaxGopPackets) {
            return;  // nothing to decode it from
        }
        gop_.push_back(std::move(copy));
        notify = viewers_ > 0 || Clock::now() < lingerUntil_;
    }
    if (notify) cv_.notify_one();
}

void MjpegHub::endRun() {
    next_.endRun();
}

void MjpegHub::start() {
    thread_ = std::thread([this] { run(); });
}

void MjpegHub::stop() {
    stopFlag_ = true;  // a long decode stops between two packets
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

std::shared_ptr<void> MjpegHub::watch() {
    {
        std::lock_guard lock(mutex_);
        ++viewers_;
        wantsFrames_ = true;
    }
    cv_.notify_one();
    // A token that is not null (a null shared_ptr would test false while it watches).
    return std::shared_ptr<void>(static_cast<void*>(this), [](void* hub) {
        auto* self = static_cast<MjpegHub*>(hub);
        std::lock_guard lock(self->mutex_);
        if (--self->viewers_ == 0)
            self->lingerUntil_ = std::max(self->lingerUntil_, Clock::now() + self->options_.linger);
    });
}

void MjpegHub::want() {
    {
        std::lock_guard lock(mutex_);
        lingerUntil_ = std::max(lingerUntil_, Clock::now() + options_.linger);
        wantsFrames_ = true;
    }
    cv_.notify_one();
}

void MjpegHub::offer(const AVFrame& frame, WallClock::time_point captureTime) {
    {
        std::lock_guard lock(mutex_);
        if (!wantsFrames_.load(std::memory_order_relaxed)) return;
        av_frame_unref(raw_);  // one not taken yet is replaced: the newest wins
        if (av_frame_ref(raw_, &frame) < 0) return;
        rawCapture_ = captureTime;
        rawPending_ = true;
    }
    cv_.notify_one();
}

std::shared_ptr<const JpegFrame> MjpegHub::latest() const {
    std::lock_guard lock(frameMutex_);
    return latest_;
}

bool MjpegHub::wanted(Clock::time_point now) const {
    return viewers_ > 0 || now < lingerUntil_;
}

MjpegHub::Stats MjpegHub::stats() const {
    Stats s;
    {
        std::lock_guard lock(mutex_);
        s.viewers = viewers_;
    }
    s.running = running_.load();
    s.decoded = decoded_.load();
    s.encoded = encoded_.load();
    s.failed = failed_.load();
    s.encodeSeconds = static_cast<double>(encodeMicros_.load()) / 1e6;
    s.dropped = dropped_.load();
    return s;
}

void MjpegHub::run() {
    std::unique_lock lock(mutex_);
    for (;;) {
        const auto now = Clock::now();
        const bool want = wanted(now);
        const bool work =
            want && (options_.rawFrames ? rawPending_ : fed_ < gop_.size() && !awaitKeyframe_);
        if (stopping_) break;
        if (!work) {
            if (!want) {
                // Nobody watches: the decoder, the encoder and the picture held go.
                running_ = false;
                wantsFrames_ = false;
                rawPending_ = false;
                av_frame_unref(raw_);
                if (decoder_ || encoder_) {
                    lock.unlock();
                    decoder_.reset();
                    encoder_.reset();
                    lock.lock();
                    continue;
                }
                cv_.wait(lock);  // watch(), want() or stop()
            } else {
                cv_.wait_for(lock, std::chrono::milliseconds(500));
            }
            continue;
        }
        running_ = true;
        if (options_.rawFrames) {
            av_frame_unref(picture_);
            av_frame_move_ref(picture_, raw_);
            rawPending_ = false;
            const auto capture = rawCapture_;
            lock.unlock();
            const int64_t started = threadCpuMicros();
            try {
                publish(*picture_, capture);
            } catch (const std::exception& e) {
                ++failed_;
                logger("mjpeg")->warn("{}", e.what());
            }
            av_frame_unref(picture_);
            addWork(started);
        } else {
            decodeAndPublish(lock);
        }
        lock.lock();
    }
    running_ = false;
}

// The packets since the decoder's place (or, for a new decoder, since the newest keyframe),
// decoded; the newest picture encoded. Called with `lock` held; returns with it released.
void MjpegHub::decodeAndPublish(std::unique_lock<std::mutex>& lock) {
    // A new run, or a decoder that lost its place: begin again at the newest keyframe.
    const bool fresh = !decoder_ || decoderRun_ != run_;
    if (fresh) fed_ = 0;
    std::vector<std::shared_ptr<const EncodedPacket>> batch(
        gop_.begin() + static_cast<std::ptrdiff_t>(fed_), gop_.end());
    fed_ = gop_.size();
    const uint64_t batchRun = run_;
    const std::vector<uint8_t> extradata = fresh ? extradata_ : std::vector<uint8_t>{};
    lock.unlock();

    const int64_t started = threadCpuMicros();
    try {
        if (fresh) {
            decoder_ = std::make_unique<H264Decoder>(extradata);
            decoderRun_ = batchRun;
        }
        // Every unit decoded (each depends on the ones before); only the newest picture of the
        // batch is encoded: a backlog becomes one picture, never a queue.
        // A picture's time is that of the unit whose decoding gave it: its own capture time
        // without B-frames (the camera, x264's zerolatency); with them (files, some IP
        // cameras), when the picture could first be shown, so the times only grow.
        bool any = false;
        WallClock::time_point capture{};
        for (const auto& p : batch) {
            if (stopFlag_.load(std::memory_order_relaxed)) break;
            const bool taken = decoder_->decode(*p, [&](const AVFrame& picture) {
                ++decoded_;
                av_frame_unref(picture_);
                any = av_frame_ref(picture_, &picture) >= 0;
                capture = p->captureTime;
            });
            if (!taken) ++failed_;  // a broken unit: the next keyframe repairs the picture
        }
        if (any) publish(*picture_, capture);
        failing_ = false;
    } catch (const std::exception& e) {
        ++failed_;
        // Once per run of failures, not per packet; and nothing more until the next keyframe
        // (decoding the same GOP again would fail the same way).
        if (!failing_) logger("mjpeg")->warn("{}; starting again at the next keyframe", e.what());
        failing_ = true;
        decoder_.reset();
        std::lock_guard guard(mutex_);
        awaitKeyframe_ = true;
    }
    av_frame_unref(picture_);
    addWork(started);
}

void MjpegHub::publish(const AVFrame& picture, WallClock::time_point capture) {
    if (capture < lastCapture_) lastCapture_ = {};      // the wall clock was set back
    if (capture - lastCapture_ < minInterval_) return;  // mjpeg_fps
    if (!encoder_)
        encoder_ = std::make_unique<JpegEncoder>(
            JpegOptions{options_.quality, options_.width, options_.height});
    int w = 0, h = 0;
    auto frame = std::make_shared<JpegFrame>();
    frame->data = encoder_->encode(picture, w, h);
    frame->width = w;
    frame->height = h;
    frame->captureTime = capture;
    frame->madeAt = Clock::now();
    frame->timestamp = unixTime(capture);
    frame->partHead = partHead(frame->data.size(), frame->timestamp);
    lastCapture_ = capture;
    ++encoded_;
    {
        std::lock_guard guard(frameMutex_);
        frame->seq = ++seq_;
        latest_ = std::move(frame);
    }
    if (onPicture_) onPicture_();
}

void MjpegHub::addWork(int64_t startedMicros) {
    encodeMicros_ += static_cast<uint64_t>(std::max<int64_t>(0, threadCpuMicros() - startedMicros));
}

}  // namespace hlsd
