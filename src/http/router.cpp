#include "http/router.h"

#include <charconv>

namespace hlsd {
namespace {

constexpr size_t kMaxPath = 256;

bool isSegmentName(std::string_view n) {
    // "<run>-<msn>.ts": [a-z0-9]{1,16} '-' [0-9]{1,20} ".ts"
    if (n.size() < 6 || n.substr(n.size() - 3) != ".ts") return false;
    n.remove_suffix(3);
    auto dash = n.find('-');
    if (dash == std::string_view::npos || dash == 0 || dash > 16) return false;
    for (size_t i = 0; i < dash; ++i) {
        char c = n[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
    }
    std::string_view msn = n.substr(dash + 1);
    if (msn.empty() || msn.size() > 20) return false;
    for (char c : msn) {
        if (c < '0' || c > '9') return false;
    }
    return true;
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
    if (path.substr(0, 6) == "/live/") {
        std::string_view name = path.substr(6);
        if (isSegmentName(name)) return {RouteKind::Segment, name};
        return {};
    }
    if (path == "/" || path == "/index.html") return {RouteKind::Player, "index.html"};
    if (path == "/player.js" || path == "/hls.min.js") return {RouteKind::Asset, path.substr(1)};
    if (path == "/healthz") return {RouteKind::Healthz, {}};
    if (path == "/metrics") return {RouteKind::Metrics, {}};
    return {};
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
