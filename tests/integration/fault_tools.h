// Fault-injection tools for the integration tests: a live hlsd reached over HTTP, a watcher
// that checks every playlist it serves, producers that write into a FIFO like a camera would,
// and ways to break an MPEG-TS stream (garbage, rewritten timestamps).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "integration/hlsd_run.h"
#include "support/m3u8.h"
#include "support/process.h"

namespace hlsd::test {

using Clock = std::chrono::steady_clock;

inline double secondsSince(Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
}

// hlsd started with `extra` (on a free loopback port), stdin from `stdinPath` if given.
// With a FIFO as stdin the child blocks opening it until a writer comes: start the writer first.
class LiveHlsd {
public:
    explicit LiveHlsd(std::vector<std::string> extra, const std::string& stdinPath = "");
    // Waits for the "serving on" log line; false if hlsd exited or the deadline passed.
    bool waitForPort(double seconds);
    bool running() { return process_->running(); }
    std::string log() const { return process_->errSoFar(); }
    // SIGTERM and wait: the exit code must be 0 for a process that stayed healthy.
    ProcessResult stop();
    int port() const { return port_; }
    pid_t pid() const { return process_->pid(); }

private:
    std::unique_ptr<Process> process_;
    int port_ = 0;
};

// How many lines of `log` contain `needle`.
size_t countLines(const std::string& log, const std::string& needle);

// One segment as the watcher first saw it listed, and its bytes as served then.
struct SeenSegment {
    long long msn = 0;
    std::string uri;
    bool discontinuity = false;
    double duration = 0;
    Clock::time_point firstSeen;
    std::string path;  // where its bytes were saved; "" if the GET failed
};

// Polls /live/index.m3u8 every 100 ms from a thread, downloads each newly listed segment, and
// checks what a player relies on across every pair of consecutive playlists:
//  - each one parses, and entry i has media sequence number MEDIA-SEQUENCE + i (in its name);
//  - the window only slides: an entry leaves only when a newer one arrived, never reorders,
//    never changes its URI or DISCONTINUITY tag; DISCONTINUITY-SEQUENCE counts the tags that left;
//  - every listed segment is served (200) when first seen, and the oldest listed one still is.
// Any breach is recorded in problems().
class PlaylistWatch {
public:
    PlaylistWatch(int port, std::string saveDir);
    ~PlaylistWatch();
    void stop();

    std::vector<std::string> problems() const;
    std::map<long long, SeenSegment> segments() const;
    long long newestMsn() const;  // -1 before the first playlist
    size_t polls() const;
    // Waits until a segment with msn ≥ `msn` is listed; false at the deadline.
    bool waitForMsn(long long msn, double seconds) const;

private:
    void run();
    void poll();
    void problem(const std::string& what);

    int port_;
    std::string saveDir_;
    mutable std::mutex mutex_;
    std::vector<std::string> problems_;
    std::map<long long, SeenSegment> segments_;
    std::unique_ptr<M3u8> last_;
    size_t polls_ = 0;
    std::atomic<bool> stopping_{false};
    std::thread thread_;
};

// Writes `bytes` into the FIFO at `path` at a steady rate over `seconds`, from a thread, like a
// live producer; then closes its end (end of stream for the reader). Never blocks for longer than
// its deadline: a reader that went away or stopped reading ends the writer, it does not hang it.
class FifoWriter {
public:
    FifoWriter(std::string path, std::string bytes, double seconds);
    ~FifoWriter();
    void join();
    size_t written() const { return written_.load(); }
    bool opened() const { return opened_.load(); }

private:
    void run(std::string path, std::string bytes, double seconds);
    std::atomic<size_t> written_{0};
    std::atomic<bool> opened_{false};
    std::atomic<bool> stopping_{false};
    std::thread thread_;
};

// MPEG-TS surgery: the video PES packets of a stream, their timestamps rewritten in place.
struct PesTimestamps {
    int64_t pts = -1;  // 90 kHz, -1 when absent
    int64_t dts = -1;
};
// Byte offsets of the TS packets that start a video PES (one per frame), in order.
std::vector<size_t> videoPesOffsets(const std::string& ts);
// Calls `edit(index, timestamps)` for each video PES (stream id 0xE0..0xEF) start, in order;
// whatever it leaves in `timestamps` is written back. Returns the number of PES starts.
size_t rewriteVideoTimestamps(std::string& ts,
                              const std::function<void(size_t, PesTimestamps&)>& edit);

// `n` pseudo-random bytes (seeded) that contain no 00 00 01 / 00 00 00 01 start code and no
// 0x47 byte, so they cannot pass for an H.264 NAL unit or a TS packet.
std::string garbage(size_t n, uint32_t seed);

// A free TCP/UDP port on 127.0.0.1 (bound and released: good enough on loopback).
int freeLoopbackPort(bool udp = false);

}  // namespace hlsd::test
