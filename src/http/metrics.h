// Request counters and viewer tracking for /metrics (Prometheus text format).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include "hlsd/http.h"
#include "hlsd/mjpeg.h"
#include "hlsd/store.h"
#include "http/router.h"

namespace hlsd {

// Prometheus text format: the "# HELP" and "# TYPE" lines of one metric.
void appendMetricHeader(std::string& out, const char* name, const char* type, const char* help);
// The header lines and one unlabelled sample.
void appendMetric(std::string& out, const char* name, const char* type, const char* help,
                  int64_t value);

// The pipeline's own counters (dropped frames and packets, the disk mirror), for /metrics.
std::string renderPipelineMetrics(const PipelineHealth& health);
std::string renderMjpegMetrics(const MjpegHub::Stats& s);

// What /healthz answers: 200 "ok", or 503 naming the first thing wrong (no segment yet, the
// newest segment too old, output_dir failing). Pure: a function of what it is given.
struct HealthVerdict {
    int status = 200;
    std::string text = "ok";
};
HealthVerdict healthVerdict(const StoreSnapshot& snapshot, const PipelineHealth& health,
                            std::chrono::steady_clock::time_point now);

// Thread-safe: every worker counts, /metrics renders.
class HttpMetrics {
public:
    using Clock = std::chrono::steady_clock;

    void count(RouteKind route, int status, uint64_t bytes);
    // A client fetched the playlist: it is a viewer for the next while. Clients not seen for
    // kForgetAfter are forgotten (checked every kPruneEvery, so the map holds about a minute
    // of clients, whatever their number); at most kMaxTracked are tracked at once.
    void sawViewer(const std::string& client, Clock::time_point now = Clock::now());
    size_t viewers(Clock::duration window, Clock::time_point now = Clock::now()) const;
    std::string render(const StoreSnapshot& snapshot, Clock::time_point now = Clock::now()) const;

    static constexpr std::array<int, 9> kStatuses = {200, 204, 206, 400, 404, 405, 416, 503, 0};
    static constexpr auto kForgetAfter = std::chrono::minutes(1);
    static constexpr auto kPruneEvery = std::chrono::seconds(10);
    static constexpr size_t kMaxTracked = 8192;

private:
    static size_t statusIndex(int status);

    std::array<std::array<std::atomic<uint64_t>, kStatuses.size()>, kRouteKinds> requests_{};
    std::array<std::atomic<uint64_t>, kRouteKinds> bytes_{};
    mutable std::mutex viewersMutex_;
    std::unordered_map<std::string, Clock::time_point> viewers_;
    Clock::time_point lastPrune_{};
};

}  // namespace hlsd
