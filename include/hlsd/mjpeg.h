// Stage 1b: MJPEG. JPEG pictures of the live stream for `<img>` viewers, dashboards and
// snapshots, made only while someone watches: the H.264 the source produces is decoded from its
// newest keyframe on and each picture is encoded once, whatever the number of viewers.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "hlsd/frame_tap.h"
#include "hlsd/packet.h"
#include "hlsd/source.h"

struct AVFrame;

namespace hlsd {

struct MjpegOptions {
    int quality = 80;  // JPEG quality, 1..100
    int width = 0;     // 0: the source's (both 0), or in proportion to the other
    int height = 0;
    double fps = 0;  // at most this many pictures a second; 0: every frame of the source
    // How long pictures are still made after the last viewer left or the last snapshot was
    // asked (a dashboard polling snapshots finds the decoder running).
    std::chrono::milliseconds linger{10000};
    // The source offers its raw pictures (camera, test pattern: FrameTap): they are encoded
    // as they come and nothing is decoded. Otherwise the H.264 is decoded.
    bool rawFrames = false;
};

// One encoded picture, shared by every viewer that sends it.
struct JpegFrame {
    std::vector<uint8_t> data;
    WallClock::time_point captureTime;
    std::chrono::steady_clock::time_point madeAt;
    uint64_t seq = 0;  // 1, 2, ...: a viewer that sent seq n and sees n + 3 missed two
    int width = 0, height = 0;
    std::string timestamp;  // capture time, Unix seconds with microseconds ("1764892800.033367")
    std::string partHead;   // the multipart head of this picture (boundary, type, length, time)
};

class H264Decoder;
class JpegEncoder;

inline constexpr const char* kMjpegBoundary = "boundarydonotcross";  // mjpg-streamer's

// A tee on the packets the source runner delivers: everything goes on to `next` (the
// segmenter) first, unchanged; a copy of the packets since the newest keyframe stays here. The
// source thread never waits for the MJPEG thread.
class MjpegHub final : public PacketSink, public FrameTap {
public:
    MjpegHub(MjpegOptions options, PacketSink& next);
    ~MjpegHub() override;
    MjpegHub(const MjpegHub&) = delete;
    MjpegHub& operator=(const MjpegHub&) = delete;

    void beginRun(const StreamInfo& info) override;
    void push(const EncodedPacket& packet) override;
    void endRun() override;
    // FrameTap: raw pictures, while someone watches (rawFrames).
    bool wantsFrames() const override { return wantsFrames_.load(std::memory_order_relaxed); }
    void offer(const AVFrame& frame, WallClock::time_point captureTime) override;

    void start();
    void stop();  // joins; idempotent
    // Called on the MJPEG thread after each new picture (the HTTP loops' wake()).
    void onPicture(std::function<void()> callback) { onPicture_ = std::move(callback); }

    // Pictures are made while a viewer holds one of these.
    std::shared_ptr<void> watch();
    // A picture is wanted even with no viewer (a snapshot): made from the newest keyframe on.
    void want();
    std::shared_ptr<const JpegFrame> latest() const;
    // True while pictures are being made: latest() is then at most a frame behind the source.
    bool running() const { return running_.load(); }
    const MjpegOptions& options() const { return options_; }

    struct Stats {
        int64_t viewers = 0;
        bool running = false;
        uint64_t decoded = 0, encoded = 0, failed = 0;
        double encodeSeconds = 0;  // CPU time decoding, scaling and JPEG encoding, summed
        uint64_t dropped = 0;      // pictures viewers skipped because they were still sending
    };
    Stats stats() const;
    void countDropped(uint64_t n) { dropped_ += n; }

private:
    void run();
    bool wanted(std::chrono::steady_clock::time_point now) const;  // under mutex_
    void decodeAndPublish(std::unique_lock<std::mutex>& lock);
    void publish(const AVFrame& picture, WallClock::time_point capture);
    void addWork(int64_t startedMicros);  // adds this thread's CPU time since then

    MjpegOptions options_;
    PacketSink& next_;
    std::function<void()> onPicture_;
    const WallClock::duration minInterval_;  // mjpeg_fps

    // The MJPEG thread's own.
    std::unique_ptr<H264Decoder> decoder_;
    uint64_t decoderRun_ = 0;
    std::unique_ptr<JpegEncoder> encoder_;
    AVFrame* picture_ = nullptr;  // the one being encoded
    WallClock::time_point lastCapture_{};
    bool failing_ = false;  // the last batch failed (logged once)
    std::atomic<bool> stopFlag_{false};

    mutable std::mutex mutex_;
    std::condition_variable cv_;
    std::vector<std::shared_ptr<const EncodedPacket>> gop_;  // since the newest keyframe
    size_t fed_ = 0;                                         // gop_ packets the decoder has had
    uint64_t run_ = 0;  // source runs seen; the decoder restarts with a new one
    std::vector<uint8_t> extradata_;
    AVFrame* raw_ = nullptr;  // offered, not yet taken
    WallClock::time_point rawCapture_{};
    bool rawPending_ = false;
    bool awaitKeyframe_ = false;  // decoding failed: nothing until the next keyframe
    bool stopping_ = false;
    int64_t viewers_ = 0;
    std::chrono::steady_clock::time_point lingerUntil_{};
    // The newest picture, under its own lock: the HTTP loops read it on every wake without
    // ever contending with the source thread's push().
    mutable std::mutex frameMutex_;
    std::shared_ptr<const JpegFrame> latest_;
    uint64_t seq_ = 0;

    std::atomic<bool> running_{false};
    std::atomic<bool> wantsFrames_{false};
    std::atomic<uint64_t> decoded_{0}, encoded_{0}, failed_{0}, encodeMicros_{0}, dropped_{0};
    std::thread thread_;
};

}  // namespace hlsd
