// Request paths and Range headers, parsed without touching the network or the store.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace hlsd {

enum class RouteKind {
    Playlist,
    Segment,
    Part,
    Init,
    Stream,
    Mjpeg,     // /live/stream.mjpg, /stream, /?action=stream
    Snapshot,  // /live/snapshot.jpg, /snapshot, /?action=snapshot
    Player,
    Asset,
    Healthz,
    Metrics,
    NotFound
};
inline constexpr int kRouteKinds = 12;
const char* routeLabel(RouteKind kind);

struct Route {
    RouteKind kind = RouteKind::NotFound;
    std::string_view name;  // the segment, part, init, stream or asset file name (in the path)
};

// MIME type of a media file name: ".ts" video/mp2t, ".m4s"/".mp4" video/mp4.
const char* mediaType(std::string_view name);

// A blocking playlist request's query (RFC 8216bis §6.2.5): _HLS_msn, _HLS_part, _HLS_skip.
struct ReloadQuery {
    bool valid = true;      // false: a value is malformed, or _HLS_part without _HLS_msn
    bool blocking = false;  // _HLS_msn given
    uint64_t msn = 0;
    bool hasPart = false;
    uint64_t part = 0;
    bool skip = false;  // _HLS_skip=YES (or v2)
};
ReloadQuery parseReloadQuery(std::string_view query);

// Only exact, known names: nothing here ever maps a path to a file.
Route route(std::string_view path);
// The same, with mjpg-streamer's URLs, which name the route in the query: "/?action=stream",
// "/?action=snapshot" (what OctoPrint, Mainsail, Fluidd and crowsnest are set up with).
Route route(std::string_view path, std::string_view query);

// The value of `name` in a query ("t=1&action=stream"), "" when absent. Not decoded.
std::string_view queryValue(std::string_view query, std::string_view name);

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
