#include "hlsd/mjpeg.h"

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

}  // namespace

MjpegHub::MjpegHub(MjpegOptions options, PacketSink& next) : options_(options), next_(next) {}

MjpegHub::~MjpegHub() {
    stop();
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
    next_.push(packet);  // HLS first: nothing here delays it
    auto copy = std::make_shared<const EncodedPacket>(packet);
    bool notify;
    {
        std::lock_guard lock(mutex_);
        if (packet.keyframe) {
            gop_.clear();
            fed_ = 0;
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
    }
    cv_.notify_one();
    return std::shared_ptr<void>(nullptr, [this](void*) {
        std::lock_guard lock(mutex_);
        if (--viewers_ == 0) lingerUntil_ = std::max(lingerUntil_, Clock::now() + options_.linger);
    });
}

void MjpegHub::want() {
    {
        std::lock_guard lock(mutex_);
        lingerUntil_ = std::max(lingerUntil_, Clock::now() + options_.linger);
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
    auto log = logger("mjpeg");
    std::unique_ptr<H264Decoder> decoder;
    std::unique_ptr<JpegEncoder> encoder;
    uint64_t decoderRun = 0;
    const auto minInterval = options_.fps > 0
                                 ? std::chrono::duration_cast<WallClock::duration>(
                                       std::chrono::duration<double>(0.999 / options_.fps))
                                 : WallClock::duration::zero();
    WallClock::time_point lastCapture{};
    // The newest picture of a batch (a reference to the decoder's buffer, not a copy).
    std::unique_ptr<AVFrame, void (*)(AVFrame*)> newest(av_frame_alloc(),
                                                        [](AVFrame* f) { av_frame_free(&f); });
    std::unique_lock lock(mutex_);
    for (;;) {
        // Nothing to do: not wanted (the decoder goes, its memory with it), or all decoded.
        const auto now = Clock::now();
        if (!stopping_ && (!wanted(now) || fed_ >= gop_.size())) {
            if (!wanted(now)) {
                running_ = false;
                if (decoder) {
                    lock.unlock();
                    decoder.reset();
                    encoder.reset();
                    lock.lock();
                    continue;
                }
                cv_.wait(lock);  // watch(), want() or stop()
            } else {
                cv_.wait_for(lock, std::chrono::milliseconds(500));
            }
            continue;
        }
        if (stopping_) break;
        running_ = true;
        // A new run, or a decoder that lost its place: begin again at the newest keyframe.
        const bool fresh = !decoder || decoderRun != run_;
        if (fresh) fed_ = 0;
        std::vector<std::shared_ptr<const EncodedPacket>> batch(
            gop_.begin() + static_cast<std::ptrdiff_t>(fed_), gop_.end());
        fed_ = gop_.size();
        const uint64_t batchRun = run_;
        const std::vector<uint8_t> extradata = fresh ? extradata_ : std::vector<uint8_t>{};
        lock.unlock();

        const auto started = Clock::now();
        try {
            if (fresh) {
                decoder = std::make_unique<H264Decoder>(extradata);
                if (!encoder) {
                    encoder = std::make_unique<JpegEncoder>(
                        JpegOptions{options_.quality, options_.width, options_.height});
                }
                decoderRun = batchRun;
            }
            // Every unit decoded (each depends on the ones before); only the newest picture of
            // the batch is encoded: a backlog becomes one picture, never a queue.
            bool any = false;
            WallClock::time_point capture{};
            for (const auto& p : batch) {
                decoder->decode(*p, [&](const AVFrame& picture) {
                    ++decoded_;
                    av_frame_unref(newest.get());
                    any = av_frame_ref(newest.get(), &picture) >= 0;
                    capture = p->captureTime;
                });
            }
            if (any && capture - lastCapture >= minInterval) {
                int w = 0, h = 0;
                auto frame = std::make_shared<JpegFrame>();
                frame->data = encoder->encode(*newest, w, h);
                frame->width = w;
                frame->height = h;
                frame->captureTime = capture;
                frame->madeAt = Clock::now();
                frame->timestamp = unixTime(capture);
                frame->partHead = partHead(frame->data.size(), frame->timestamp);
                lastCapture = capture;
                ++encoded_;
                {
                    std::lock_guard guard(frameMutex_);
                    frame->seq = ++seq_;
                    latest_ = std::move(frame);
                }
                if (onPicture_) onPicture_();
            }
            av_frame_unref(newest.get());
        } catch (const std::exception& e) {
            ++failed_;
            log->warn("{}; starting again at the next keyframe", e.what());
            decoder.reset();
        }
        encodeMicros_ += static_cast<uint64_t>(
            std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started).count());
        lock.lock();
    }
    running_ = false;
}

}  // namespace hlsd
