// The rules between keys (validateConfig), what follows from them, and the legal but risky
// choices hlsd warns about at start.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "auth/credentials.h"
#include "config/config_detail.h"
#include "hlsd/config.h"
#include "hlsd/source.h"

namespace hlsd {

using namespace config_detail;

void validateConfig(const Config& c) {
    auto check = [&](bool ok, const std::string& key, const std::string& msg) {
        if (!ok) fail(originOf(c, key), key, msg);
    };
    for (const auto& u : c.users) {
        if (const std::string why = checkUserName(u.name); !why.empty())
            throw ConfigError(u.origin + ": users: name \"" + u.name + "\" " + why);
        if (const std::string why = checkPasswordHash(u.passwordHash); !why.empty())
            throw ConfigError(u.origin + ": users: " + u.name + ": password_hash " + why);
    }
    check(c.segmentTime > 0 && c.segmentTime <= 60, "segment_time",
          "must be > 0 and ≤ 60 seconds, got " + formatNumber(c.segmentTime));
    check(c.listSize >= 1, "list_size", "must be ≥ 1, got " + std::to_string(c.listSize));
    check(c.segmentWrap >= 1, "segment_wrap", "must be ≥ 1, got " + std::to_string(c.segmentWrap));
    if (c.segmentWrap < c.listSize) {
        // Blame the key the user set: a default segment_wrap is exceeded by list_size.
        if (!c.origin.count("segment_wrap") && c.origin.count("list_size")) {
            fail(originOf(c, "list_size"), "list_size",
                 "must be ≤ segment_wrap (" + std::to_string(c.segmentWrap) + "), got " +
                     std::to_string(c.listSize) + ": the playlist cannot list segments not kept");
        }
        fail(originOf(c, "segment_wrap"), "segment_wrap",
             "must be ≥ list_size (" + std::to_string(c.listSize) + "), got " +
                 std::to_string(c.segmentWrap) + ": the playlist cannot list segments not kept");
    }
    check(c.partDuration == 0 || (c.partDuration >= 0.05 && c.partDuration <= c.segmentTime),
          "part_duration",
          "must be 0 (no LL-HLS parts) or 0.05..segment_time (" + formatNumber(c.segmentTime) +
              ") seconds, got " + formatNumber(c.partDuration));
    check(c.keyframeInterval == 0 ||
              (c.keyframeInterval >= 0.02 && c.keyframeInterval <= c.segmentTime),
          "keyframe_interval",
          "must be 0 (auto) or 0.02..segment_time (" + formatNumber(c.segmentTime) +
              ") seconds, got " + formatNumber(c.keyframeInterval));
    check(c.segmentWrap <= 10000, "segment_wrap",
          "must be ≤ 10000, got " + std::to_string(c.segmentWrap));
    check(c.width >= 16 && c.width <= 8192 && c.width % 2 == 0, "width",
          "must be even, 16..8192, got " + std::to_string(c.width));
    check(c.height >= 16 && c.height <= 8192 && c.height % 2 == 0, "height",
          "must be even, 16..8192, got " + std::to_string(c.height));
    check(c.fps > 0 && c.fps <= 240, "fps", "must be > 0 and ≤ 240, got " + formatNumber(c.fps));
    check(c.maxClients >= 4 && c.maxClients <= 100000, "max_clients",
          "must be 4..100000, got " + std::to_string(c.maxClients));
    check(c.httpLoops >= 0 && c.httpLoops <= 64, "http_loops",
          "must be 0 (one per CPU) .. 64, got " + std::to_string(c.httpLoops));
    check(c.maxRequestSize >= 1024 && c.maxRequestSize <= 1048576, "max_request_size",
          "must be 1024..1048576 bytes, got " + std::to_string(c.maxRequestSize));
    check(c.httpTimeout >= 1 && c.httpTimeout <= 300, "http_timeout",
          "must be 1..300 seconds, got " + std::to_string(c.httpTimeout));
    check(c.headerTimeout >= 1 && c.headerTimeout <= 300, "header_timeout",
          "must be 1..300 seconds, got " + std::to_string(c.headerTimeout));
    if (c.tlsCert.empty() != c.tlsKey.empty()) {
        const std::string set = c.tlsCert.empty() ? "tls_key" : "tls_cert";
        const std::string missing = c.tlsCert.empty() ? "tls_cert" : "tls_key";
        fail(originOf(c, set), set,
             "needs " + missing + " too (HTTPS needs a certificate and its key)");
    }
    check(!c.loop || classifySource(c.source) == SourceKind::File, "loop",
          "only repeats a file source, and source is \"" + c.source + "\"");
    check(!(c.loop && c.exitOnEof), "exit_on_eof",
          "cannot be combined with loop: a looping source never ends");
}

std::string unexpandedCredentials(const Config& c) {
    for (const auto& [key, value] : {std::pair{"tls_cert", &c.tlsCert}, {"tls_key", &c.tlsKey}}) {
        if (value->find(kCredentialsVariable) != std::string::npos)
            return originOf(c, key) + ": " + key +
                   ": names ${CREDENTIALS_DIRECTORY}, which is not set: it exists only in a "
                   "systemd service with LoadCredential=";
    }
    return "";
}

double effectiveKeyframeInterval(const Config& c) {
    if (c.keyframeInterval > 0) return c.keyframeInterval;
    return c.partDuration > 0 ? c.partDuration : c.segmentTime;
}

std::vector<std::string> configWarnings(const Config& c) {
    std::vector<std::string> out = c.retired;
    if (c.partDuration > 0 && effectiveKeyframeInterval(c) > c.partDuration * 1.001) {
        out.push_back("keyframe_interval " + formatNumber(c.keyframeInterval) +
                      " is longer than part_duration " + formatNumber(c.partDuration) +
                      ": parts without a keyframe are dropped by Video.js (MPEG-TS) and by "
                      "Shaka Player 5.2, and hls.js starts further behind (README, Players)");
    }
    if (c.listSize < 3) {
        out.push_back("list_size " + std::to_string(c.listSize) +
                      ": the playlist is shorter than 3 target durations, outside RFC 8216 "
                      "§6.2.2; lowest latency, but a player may stall on a slow network");
    }
    // A player without low-latency mode starts 3 target durations from the end, and Shaka
    // Player gives the browser the listed time before that as its seek range only when it is
    // over 1 s: otherwise its start-up seek can be lost and it seeks again ~3 s in (2 stalls).
    const double td = std::max(1.0, std::round(c.segmentTime));  // TARGETDURATION, at least
    const double window = c.listSize * c.segmentTime - 3 * td;
    if (c.listSize >= 3 && window <= 1.0 + 1e-9) {
        const int enough = static_cast<int>(std::floor((1.0 + 3 * td) / c.segmentTime + 1e-9)) + 1;
        out.push_back("list_size " + std::to_string(c.listSize) + " × segment_time " +
                      formatNumber(c.segmentTime) + " s leaves players that start 3 target " +
                      "durations from the end a seek window of " + formatNumber(window) +
                      " s; Shaka Player needs over 1 s or it may seek again ~3 s after "
                      "starting (2 stalls): use list_size ≥ " +
                      std::to_string(enough) + " (segment_wrap ≥ " +
                      std::to_string(2 * enough + 1) + ")");
    }
    if (c.segmentWrap < 2 * c.listSize + 1) {
        out.push_back("segment_wrap " + std::to_string(c.segmentWrap) + ": a segment is deleted " +
                      std::to_string(c.segmentWrap - c.listSize) +
                      " segment(s) after it leaves the playlist, sooner than its duration plus "
                      "the playlist's (RFC 8216 §6.2.2); use segment_wrap ≥ " +
                      std::to_string(2 * c.listSize + 1) + " so a slow player never gets a 404");
    }
    return out;
}

}  // namespace hlsd
