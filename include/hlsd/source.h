// Stage 1: sources of H.264 packets, and the runner that restarts them.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

#include "hlsd/frame_tap.h"
#include "hlsd/packet.h"

namespace hlsd {

// A source failed. `permanent` errors (not H.264, no such file) will not heal by retrying.
class SourceError : public std::runtime_error {
public:
    SourceError(const std::string& what, bool permanent)
        : std::runtime_error(what), permanent_(permanent) {}
    bool permanent() const { return permanent_; }

private:
    bool permanent_;
};

// Thread-bound: open() and read() are called by the runner thread only; interrupt() is
// thread-safe and makes a blocked open()/read() return (with end of stream) promptly.
class Source {
public:
    virtual ~Source() = default;
    // Opens (or reopens, for a new run) the source. Throws SourceError.
    virtual StreamInfo open() = 0;
    // The next packet, std::nullopt at end of stream. Throws SourceError.
    virtual std::optional<EncodedPacket> read() = 0;
    virtual void close() = 0;
    virtual void interrupt() = 0;
    // Live sources (network, stdin) are retried with backoff when they end or fail.
    virtual bool isLive() const = 0;
    // open() itself waits (interruptibly) until the source has data again, as stdin on a named
    // FIFO waits for its next producer: an end of stream is then reopened at once, no backoff.
    virtual bool waitsInOpen() const { return false; }
    virtual std::string name() const = 0;
    // Frames the capture delivered that the source had no room for (camera); any thread.
    virtual uint64_t droppedFrames() const { return 0; }
};

// The camera and the encoder raw frames go through (camera and test pattern).
struct CameraOptions {
    std::string selector;                        // "" the first camera, "1" an index, or an id
    std::string encoder = "auto";                // auto | v4l2m2m | x264
    std::string encoderDevice = "/dev/video11";  // the V4L2 H.264 encoder `auto` looks for
    std::string profile = "high";                // baseline | main | high
    int rotation = 0;                            // 0 | 180
    bool hflip = false;
    bool vflip = false;
    std::string exposureMode = "normal";  // normal | short | long | custom
    std::string awb = "auto";             // auto | incandescent | tungsten | fluorescent | ...
    double brightness = 0.0;              // -1 .. 1
};

struct SourceOptions {
    std::string spec = "test";  // test | file:PATH | - | URL
    bool realtime = true;       // pace files at their native rate
    int width = 1280;           // test pattern / raw stream geometry
    int height = 720;
    Rational fps{30, 1};  // test pattern rate; timestamps of raw streams that carry none
    int64_t bitrate = 2'000'000;
    double keyframeInterval = 1.0;  // seconds between IDRs of the camera and test encoders
    CameraOptions camera;
    FrameTap* frameTap = nullptr;  // camera and test pattern: their raw pictures go here too
    // The camera: a second, smaller stream for `frameTap` (MJPEG's size), where it offers one;
    // 0: the main stream's pictures go to the tap.
    int loresWidth = 0;
    int loresHeight = 0;
};

enum class SourceKind { Auto, Camera, Test, Stdin, File, Url };
// auto, camera[:N|:ID], test, "-" (stdin), scheme:// (Url), file:PATH or any other text (File).
SourceKind classifySource(const std::string& spec);

// Throws SourceError (permanent) for a spec that names nothing usable.
std::unique_ptr<Source> makeSource(const SourceOptions& options);

// What the runner feeds: the segmenter implements it.
class PacketSink {
public:
    virtual ~PacketSink() = default;
    virtual void beginRun(const StreamInfo& info) = 0;
    virtual void push(const EncodedPacket& packet) = 0;
    virtual void endRun() = 0;
};

struct RunnerOptions {
    bool loop = false;          // a file that ends starts again (new run, discontinuity)
    bool exitOnEof = false;     // the first end of stream finishes the runner
    double firstBackoff = 0.5;  // seconds before the first retry, doubling up to maxBackoff
    // Also how late, at most, a reconnect notices a source is back: under the 3 × TARGETDURATION
    // an LL-HLS player's blocking reload waits, so a player that waited through an outage gets
    // the first part after it rather than a 503 and its own retry backoff.
    double maxBackoff = 2.0;
    double healthyRun = 1.0;  // a run that delivered packets this long (s) resets the backoff
};

// Owns the source thread: open → pump packets into the sink → on end or failure, restart as
// the options and the source's liveness say. Thread-safe: start()/stop()/state from any thread.
class SourceRunner {
public:
    enum class Outcome { Running, Finished, Failed };

    SourceRunner(std::unique_ptr<Source> source, PacketSink& sink, RunnerOptions options);
    ~SourceRunner();

    void start();
    void stop();  // interrupts the source and joins; idempotent
    Outcome outcome() const { return outcome_.load(); }
    uint64_t droppedFrames() const { return source_->droppedFrames(); }  // any thread
    std::string failure() const;

private:
    void run();
    bool sleepFor(double seconds);

    std::unique_ptr<Source> source_;
    PacketSink& sink_;
    RunnerOptions options_;
    std::thread thread_;
    std::atomic<bool> stopping_{false};
    std::atomic<Outcome> outcome_{Outcome::Running};
    std::string failure_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
};

}  // namespace hlsd
