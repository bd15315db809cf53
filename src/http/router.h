// Request paths and Range headers, parsed without touching the network or the store.
#pragma once

#include <cstddef>
#include <string_view>

namespace hlsd {

enum class RouteKind { Playlist, Segment, Player, Asset, Healthz, Metrics, NotFound };
inline constexpr int kRouteKinds = 7;
const char* routeLabel(RouteKind kind);

struct Route {
    RouteKind kind = RouteKind::NotFound;
    std::string_view name;  // the segment or asset file name, a view into the path
};

// Only exact, known names: nothing here ever maps a path to a file.
Route route(std::string_view path);

struct ByteRange {
    size_t offset = 0;
    size_t length = 0;
};

enum class RangeResult {
    Whole,         // no Range, or one we ignore (several ranges, malformed): 200 and all bytes
    Partial,       // 206 with `out`
    Unsatisfiable  // 416
};

// RFC 9110 §14.2 single byte ranges: "bytes=a-b", "bytes=a-", "bytes=-n".
RangeResult parseRange(std::string_view header, size_t size, ByteRange& out);

}  // namespace hlsd
