#include "http/metrics.h"

#include <algorithm>
#include <cstdio>

namespace hlsd {

size_t HttpMetrics::statusIndex(int status) {
    for (size_t i = 0; i + 1 < kStatuses.size(); ++i) {
        if (kStatuses[i] == status) return i;
    }
    return kStatuses.size() - 1;  // "other"
}

void HttpMetrics::count(RouteKind route, int status, uint64_t bytes) {
    const auto r = static_cast<size_t>(route);
    requests_[r][statusIndex(status)].fetch_add(1, std::memory_order_relaxed);
    bytes_[r].fetch_add(bytes, std::memory_order_relaxed);
}

void HttpMetrics::sawViewer(const std::string& client, Clock::time_point now) {
    std::lock_guard lock(viewersMutex_);
    // By time, not by size: a size trigger let the map fill up to its threshold before the
    // first clean-up, and then scanned it on every call while more clients than that came
    // within a minute.
    if (now - lastPrune_ >= kPruneEvery) {
        lastPrune_ = now;
        std::erase_if(viewers_,
                      [&](const auto& entry) { return now - entry.second > kForgetAfter; });
    }
    if (auto it = viewers_.find(client); it != viewers_.end()) {
        it->second = now;
    } else if (viewers_.size() < kMaxTracked) {
        viewers_.emplace(client, now);
    }
}

size_t HttpMetrics::viewers(Clock::duration window, Clock::time_point now) const {
    std::lock_guard lock(viewersMutex_);
    size_t n = 0;
    for (const auto& [client, seen] : viewers_) n += now - seen <= window;
    return n;
}

void appendMetricHeader(std::string& out, const char* name, const char* type, const char* help) {
    out.append("# HELP ").append(name).append(" ").append(help).append("\n# TYPE ");
    out.append(name).append(" ").append(type).append("\n");
}

std::string HttpMetrics::render(const StoreSnapshot& snap, Clock::time_point now) const {
    std::string out;
    char line[256];
    appendMetricHeader(out, "hlsd_segments_produced_total", "counter",
                       "Segments published since start.");
    std::snprintf(line, sizeof line, "hlsd_segments_produced_total %llu\n",
                  static_cast<unsigned long long>(snap.produced));
    out += line;

    appendMetricHeader(out, "hlsd_http_requests_total", "counter",
                       "HTTP requests answered, by route and status.");
    for (int r = 0; r < kRouteKinds; ++r) {
        for (size_t s = 0; s < kStatuses.size(); ++s) {
            uint64_t n = requests_[r][s].load(std::memory_order_relaxed);
            if (n == 0) continue;
            char status[8];
            if (kStatuses[s]) {
                std::snprintf(status, sizeof status, "%d", kStatuses[s]);
            } else {
                std::snprintf(status, sizeof status, "other");
            }
            std::snprintf(
                line, sizeof line, "hlsd_http_requests_total{route=\"%s\",status=\"%s\"} %llu\n",
                routeLabel(static_cast<RouteKind>(r)), status, static_cast<unsigned long long>(n));
            out += line;
        }
    }
    appendMetricHeader(out, "hlsd_http_sent_bytes_total", "counter",
                       "Response body bytes sent, by route.");
    for (int r = 0; r < kRouteKinds; ++r) {
        std::snprintf(line, sizeof line, "hlsd_http_sent_bytes_total{route=\"%s\"} %llu\n",
                      routeLabel(static_cast<RouteKind>(r)),
                      static_cast<unsigned long long>(bytes_[r].load(std::memory_order_relaxed)));
        out += line;
    }

    const double td = snap.targetDuration > 0 ? snap.targetDuration : 1.0;
    appendMetricHeader(
        out, "hlsd_viewers", "gauge",
        "Distinct clients that fetched the playlist in the last 2 target durations.");
    std::snprintf(
        line, sizeof line, "hlsd_viewers %zu\n",
        viewers(std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(2 * td)),
                now));
    out += line;

    double fps = 0, age = -1;
    uint64_t discontinuities = 0;
    if (!snap.window.empty()) {
        const Segment& last = *snap.window.back();
        if (last.duration > 0) fps = last.frames / last.duration;
        age = std::chrono::duration<double>(now - snap.lastPublished).count();
        discontinuities = last.discontinuitySequence;
    }
    appendMetricHeader(out, "hlsd_source_fps", "gauge", "Frame rate of the newest segment.");
    std::snprintf(line, sizeof line, "hlsd_source_fps %.3f\n", fps);
    out += line;
    appendMetricHeader(out, "hlsd_last_segment_age_seconds", "gauge",
                       "Seconds since the newest segment was published (-1: none yet).");
    std::snprintf(line, sizeof line, "hlsd_last_segment_age_seconds %.3f\n", age);
    out += line;
    appendMetricHeader(out, "hlsd_target_duration_seconds", "gauge",
                       "EXT-X-TARGETDURATION of the playlist.");
    std::snprintf(line, sizeof line, "hlsd_target_duration_seconds %d\n", snap.targetDuration);
    out += line;
    appendMetricHeader(out, "hlsd_discontinuities_total", "counter",
                       "Source restarts and timestamp jumps marked EXT-X-DISCONTINUITY.");
    std::snprintf(line, sizeof line, "hlsd_discontinuities_total %llu\n",
                  static_cast<unsigned long long>(discontinuities));
    out += line;
    return out;
}

void appendMetric(std::string& out, const char* name, const char* type, const char* help,
                  int64_t value) {
    appendMetricHeader(out, name, type, help);
    out.append(name).append(" ").append(std::to_string(value)).append("\n");
}

std::string renderMjpegMetrics(const MjpegHub::Stats& s) {
    std::string out;
    appendMetric(out, "hlsd_mjpeg_viewers", "gauge", "connections receiving /live/stream.mjpg",
                 s.viewers);
    appendMetric(out, "hlsd_mjpeg_running", "gauge",
                 "1 while pictures are made (MJPEG viewers, or a snapshot in the last seconds)",
                 s.running ? 1 : 0);
    appendMetric(out, "hlsd_mjpeg_frames_decoded_total", "counter",
                 "H.264 frames decoded for MJPEG and snapshots", static_cast<int64_t>(s.decoded));
    appendMetric(out, "hlsd_mjpeg_frames_encoded_total", "counter",
                 "JPEG pictures made (each sent to every viewer)", static_cast<int64_t>(s.encoded));
    appendMetric(out, "hlsd_mjpeg_frames_dropped_total", "counter",
                 "pictures MJPEG viewers skipped because they were still receiving an earlier one",
                 static_cast<int64_t>(s.dropped));
    appendMetric(out, "hlsd_mjpeg_failures_total", "counter",
                 "decoding or JPEG encoding failures (pictures start again at the next keyframe)",
                 static_cast<int64_t>(s.failed));
    appendMetricHeader(out, "hlsd_mjpeg_work_seconds_total", "counter",
                       "CPU time of the MJPEG thread decoding, scaling and JPEG encoding");
    out += "hlsd_mjpeg_work_seconds_total " + std::to_string(s.encodeSeconds) + "\n";
    return out;
}

std::string renderPipelineMetrics(const PipelineHealth& health) {
    std::string out;
    appendMetric(out, "hlsd_source_dropped_frames_total", "counter",
                 "Camera frames dropped because the encoder had not taken the ones before.",
                 static_cast<int64_t>(health.droppedFrames));
    appendMetric(out, "hlsd_segmenter_dropped_packets_total", "counter",
                 "Packets dropped by the segmenter (a timestamp out of line with the stream).",
                 static_cast<int64_t>(health.droppedPackets));
    if (health.mirror != PipelineHealth::Mirror::Off) {
        appendMetric(out, "hlsd_disk_mirror_healthy", "gauge",
                     "1 while output_dir is written, 0 from a failed write until it recovers.",
                     health.mirror == PipelineHealth::Mirror::Ok ? 1 : 0);
    }
    return out;
}

HealthVerdict healthVerdict(const StoreSnapshot& snap, const PipelineHealth& health,
                            std::chrono::steady_clock::time_point now) {
    if (snap.window.empty()) return {503, "starting: no segment yet"};
    const double age = std::chrono::duration<double>(now - snap.lastPublished).count();
    const double limit = std::max(5.0, 3.0 * snap.targetDuration);
    if (age > limit) {
        char text[96];
        std::snprintf(text, sizeof text, "stale: last segment %.1f s ago", age);
        return {503, text};
    }
    // Served from memory all the same, but whatever reads output_dir (nginx, a file player)
    // is behind: a monitor should see it.
    if (health.mirror == PipelineHealth::Mirror::Failing)
        return {503, "output_dir failing: the disk mirror cannot write (see the log)"};
    return {};
}

}  // namespace hlsd
