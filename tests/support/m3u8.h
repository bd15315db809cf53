// Test support: a deliberately independent, strict reader of the playlists hlsd writes.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace hlsd::test {

struct M3u8Part {
    std::string uri;
    double duration = 0;
    bool independent = false;
};

struct M3u8Segment {
    std::string uri;
    double duration = 0;
    std::string programDateTime;
    bool discontinuity = false;
    std::string map;              // EXT-X-MAP URI in force
    std::vector<M3u8Part> parts;  // EXT-X-PART lines before its EXTINF
};

struct M3u8 {
    int version = 0;
    // LL-HLS
    bool canBlockReload = false;
    double partHoldBack = 0;
    double canSkipUntil = 0;
    double partTarget = 0;
    long long skipped = 0;    // EXT-X-SKIP:SKIPPED-SEGMENTS
    std::string preloadHint;  // EXT-X-PRELOAD-HINT:TYPE=PART URI
    M3u8Segment open;         // the segment being written: its parts, no EXTINF/URI yet
    int targetDuration = -1;
    long long mediaSequence = -1;
    long long discontinuitySequence = -1;
    bool independentSegments = false;
    bool endList = false;
    std::vector<M3u8Segment> segments;
};

// std::nullopt (with `error` set) for anything that is not a complete, well-formed playlist.
std::optional<M3u8> parseM3u8(const std::string& text, std::string* error = nullptr);

}  // namespace hlsd::test
