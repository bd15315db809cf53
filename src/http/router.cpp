#include "http/router.h"

#include <charconv>

#include "http/request.h"

namespace hlsd {
namespace {

constexpr size_t kMaxPath = 256;

bool allDigits(std::string_view s, size_t maxLength) {
    if (s.empty() || s.size() > maxLength) return false;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
    }
    return true;
}

// "<run>-<msn>": [a-z0-9]{1,16} '-' [0-9]{1,20}
bool isSegmentBase(std::string_view n) {
    auto dash = n.find('-');
    if (dash == std::string_view::npos || dash == 0 || dash > 16) return false;
    for (size_t i = 0; i < dash; ++i) {
        char c = n[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
    }
    return allDigits(n.substr(dash + 1), 20);
}

// Media file names: "<run>-<msn>.ts|.m4s" (segment), "<run>-<msn>.<part>.ts|.m4s" (part, part
// ≤ 6 digits), "<run>-<msn>.mp4" (fMP4 init section).
RouteKind mediaKind(std::string_view n) {
    const auto ext = n.rfind('.');
    if (ext == std::string_view::npos) return RouteKind::NotFound;
    const std::string_view type = n.substr(ext);
    std::string_view base = n.substr(0, ext);
    if (type == ".mp4") return isSegmentBase(base) ? RouteKind::Init : RouteKind::NotFound;
    if (type != ".ts" && type != ".m4s") return RouteKind::NotFound;
    if (isSegmentBase(base)) return RouteKind::Segment;
    const auto dot = base.rfind('.');
    if (dot == std::string_view::npos || !allDigits(base.substr(dot + 1), 6))
        return RouteKind::NotFound;
    return isSegmentBase(base.substr(0, dot)) ? RouteKind::Part : RouteKind::NotFound;
}

bool parseNumber(std::string_view s, size_t& out) {
    if (s.empty() || s.size() > 19) return false;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && end == s.data() + s.size();
}

}  // namespace

const char* routeLabel(RouteKind kind) {
    switch (kind) {
        case RouteKind::Playlist:
            return "playlist";
        case RouteKind::Segment:
            return "segment";
        case RouteKind::Part:
            return "part";
        case RouteKind::Init:
            return "init";
        case RouteKind::Stream:
            return "stream";
        case RouteKind::Mjpeg:
            return "mjpeg";
        case RouteKind::Snapshot:
            return "snapshot";
        case RouteKind::Player:
            return "player";
        case RouteKind::Asset:
            return "asset";
        case RouteKind::Healthz:
            return "healthz";
        case RouteKind::Metrics:
            return "metrics";
        case RouteKind::NotFound:
            return "other";
    }
    return "other";
}

Route route(std::string_view path) {
    if (path.size() > kMaxPath) return {};
    if (path == "/live/index.m3u8") return {RouteKind::Playlist, "index.m3u8"};
    if (path == "/live/stream.mp4" || path == "/live/stream.ts")
        return {RouteKind::Stream, path.substr(6)};
    if (path == "/live/stream.mjpg" || path == "/stream") return {RouteKind::Mjpeg, {}};
    if (path == "/live/snapshot.jpg" || path == "/snapshot") return {RouteKind::Snapshot, {}};
    if (path.substr(0, 6) == "/live/") {
        std::string_view name = path.substr(6);
        const RouteKind kind = mediaKind(name);
        if (kind == RouteKind::NotFound) return {};
        return {kind, name};
    }
    if (path == "/" || path == "/index.html") return {RouteKind::Player, "index.html"};
    if (path == "/player.js" || path == "/mjpeg.js" || path == "/hls.min.js")
        return {RouteKind::Asset, path.substr(1)};
    if (path == "/healthz") return {RouteKind::Healthz, {}};
    if (path == "/metrics") return {RouteKind::Metrics, {}};
    return {};
}

Route route(std::string_view path, std::string_view query) {
    if (path == "/" && !query.empty()) {
        const std::string_view action = queryValue(query, "action");
        if (action == "stream") return {RouteKind::Mjpeg, {}};
        if (action == "snapshot") return {RouteKind::Snapshot, {}};
    }
    return route(path);
}

std::string_view queryValue(std::string_view query, std::string_view name) {
    while (!query.empty()) {
        const size_t amp = query.find('&');
        const std::string_view pair = query.substr(0, amp);
        const size_t eq = pair.find('=');
        if (pair.substr(0, eq) == name)
            return eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
        if (amp == std::string_view::npos) break;
        query.remove_prefix(amp + 1);
    }
    return {};
}

const char* mediaType(std::string_view name) {
    return name.size() >= 3 && name.substr(name.size() - 3) == ".ts" ? "video/mp2t" : "video/mp4";
}

namespace {

// "_hls_msn", "_HLS_MSN"...: a directive in another case.
bool isDirectiveInAnotherCase(std::string_view key) {
    const std::string folded = lower(key);
    return folded == "_hls_msn" || folded == "_hls_part" || folded == "_hls_skip";
}

}  // namespace

ReloadQuery parseReloadQuery(std::string_view query) {
    ReloadQuery q;
    bool skipSeen = false;
    while (!query.empty()) {
        const auto amp = query.find('&');
        std::string_view pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        const auto eq = pair.find('=');
        const std::string_view key = pair.substr(0, eq);
        const std::string_view value =
            eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
        size_t n = 0;
        // A directive twice, or in another case: caches (nginx's $arg_) may read it otherwise
        // than hlsd and store this answer under another state's key.
        if ((key == "_HLS_msn" && q.blocking) || (key == "_HLS_part" && q.hasPart) ||
            (key == "_HLS_skip" && skipSeen) ||
            (key != "_HLS_msn" && key != "_HLS_part" && key != "_HLS_skip" &&
             isDirectiveInAnotherCase(key))) {
            q.valid = false;
        }
        if (key == "_HLS_skip") skipSeen = true;
        if (key == "_HLS_msn") {
            q.blocking = true;
            if (!parseNumber(value, n)) q.valid = false;
            q.msn = n;
        } else if (key == "_HLS_part") {
            q.hasPart = true;
            if (!parseNumber(value, n)) q.valid = false;
            q.part = n;
        } else if (key == "_HLS_skip") {
            if (value == "YES" || value == "v2") {
                q.skip = true;
            } else {
                q.valid = false;
            }
        }
    }
    if (q.hasPart && !q.blocking) q.valid = false;
    return q;
}

RangeResult parseRange(std::string_view header, size_t size, ByteRange& out) {
    constexpr std::string_view kUnit = "bytes=";
    if (header.substr(0, kUnit.size()) != kUnit) return RangeResult::Whole;
    std::string_view spec = header.substr(kUnit.size());
    if (spec.find(',') != std::string_view::npos) return RangeResult::Whole;  // several: ignore
    auto dash = spec.find('-');
    if (dash == std::string_view::npos) return RangeResult::Whole;
    std::string_view first = spec.substr(0, dash), last = spec.substr(dash + 1);
    size_t a = 0, b = 0;
    if (first.empty()) {  // suffix: the last n bytes
        if (!parseNumber(last, b)) return RangeResult::Whole;
        if (b == 0 || size == 0) return RangeResult::Unsatisfiable;
        b = std::min(b, size);
        out = {size - b, b};
        return RangeResult::Partial;
    }
    if (!parseNumber(first, a)) return RangeResult::Whole;
    if (last.empty()) {
        b = size ? size - 1 : 0;
    } else if (!parseNumber(last, b) || b < a) {
        return RangeResult::Whole;
    }
    if (a >= size) return RangeResult::Unsatisfiable;
    b = std::min(b, size - 1);
    out = {a, b - a + 1};
    return RangeResult::Partial;
}

}  // namespace hlsd
