// Integration-test support: a real hlsd serving the test pattern on a free loopback port.
#pragma once

#include <atomic>
#include <functional>
#include <thread>
#include <vector>

#include <signal.h>
#include <sys/resource.h>

#include <memory>
#include <string>
#include <vector>

#include "integration/hlsd_run.h"

namespace hlsd::test {

// hlsd on a free loopback port with the test pattern (320x240, list_size 2, segment_wrap 4,
// then `extra`); the constructor waits until /healthz answers 200 (the first segment exists).
class Server {
public:
    explicit Server(std::vector<std::string> extra = {}, const std::string& listen = "127.0.0.1:0");
    ProcessResult stop();  // SIGTERM, then waits up to 5 s
    std::unique_ptr<Process> process;
    int port = 0;  // 0: it never said where it listens
    std::string host;
};

// The port `hlsd` listens on, once its /healthz answers 200 (the first segment exists) on
// `host`; 0 if that did not happen within `seconds`.
int waitUntilServing(Process& hlsd, const std::string& host = "127.0.0.1", double seconds = 30);

// For tests that hold thousands of sockets themselves: the soft descriptor limit up to `count`
// (or the hard limit).
void raiseFileLimit(rlim_t count);

// The last segment the playlist lists ("" if none).
std::string newestSegment(int port);

// A value of hlsd's /metrics (-1 if absent).
double metric(int port, const std::string& name);

// What a new viewer must always get while others load or abuse the server: the playlist on a
// new connection in under this many milliseconds (looser in the sanitizer trees, which look
// for races and memory errors, not speed).
#ifdef HLSD_SANITIZED
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif
inline constexpr double kFreshClientLimitMs = kSanitized ? 300 : 100;
// The playlist as it is now, answered at once: a plain request waits for the segment being
// written (hold_plain_playlists), a blocking reload for a segment already there does not. What
// a test times or polls with this is the server, not that deliberate wait.
inline const std::string kPlaylistNow = "/live/index.m3u8?_HLS_msn=0";

// hlsd's descriptors but the in-memory files holding the window's segments (they come and go
// with the segments, bounded by the window: FileCopy::kMaxLive).
size_t fdCount(pid_t pid);
// ...once the start-up probes' connections have closed.
size_t baselineFdCount(pid_t pid);
// Waits until hlsd holds no more descriptors than `baseline` (closing is asynchronous).
size_t settledFdCount(pid_t pid, size_t baseline, double seconds = 8);

// A fresh client fetching the playlist every 50 ms on a new connection, in the background
// (`fetch`: another way to fetch it, returning the status, e.g. over TLS).
class FreshClientProbe {
public:
    explicit FreshClientProbe(int port, std::function<int()> fetch = {})
        : port_(port), fetch_(std::move(fetch)), thread_([this] { loop(); }) {}
    ~FreshClientProbe() { stop(); }
    void stop();
    // Milliseconds per fetch; a failed fetch counts as infinity.
    std::vector<double> samples();

private:
    void loop();
    int port_;
    std::function<int()> fetch_;
    std::atomic<bool> running_{true};
    std::vector<double> samples_;
    std::thread thread_;
};

// Prints the probe's figures and fails the test if one fetch took kFreshClientLimitMs or more.
void expectFreshClientServed(FreshClientProbe& probe, const std::string& during);

}  // namespace hlsd::test
