// A live media playlist (RFC 8216) as a value with a pure render().
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hlsd/packet.h"

namespace hlsd {

struct PlaylistPart {
    std::string uri;
    double duration = 0.0;
    bool independent = false;
};

struct PlaylistEntry {
    std::string uri;
    double duration = 0.0;
    WallClock::time_point programDateTime;
    bool discontinuity = false;
    std::string map;                  // EXT-X-MAP URI (fMP4); written where it changes
    std::vector<PlaylistPart> parts;  // EXT-X-PART lines (LL-HLS), before the segment's EXTINF
    bool complete = true;             // false: the segment being written, listed by its parts only
};

struct Playlist {
    int version = 3;
    int targetDuration = 1;
    uint64_t mediaSequence = 0;
    uint64_t discontinuitySequence = 0;
    bool endList = false;
    // LL-HLS (RFC 8216bis), when partTarget > 0: EXT-X-PART-INF, EXT-X-SERVER-CONTROL with
    // CAN-BLOCK-RELOAD, PART-HOLD-BACK = 3 × partTarget and CAN-SKIP-UNTIL = canSkipUntil.
    double partTarget = 0.0;
    double canSkipUntil = 0.0;
    size_t skipped = 0;       // delta update: the first `skipped` entries become EXT-X-SKIP
    std::string preloadHint;  // EXT-X-PRELOAD-HINT:TYPE=PART URI; empty: none
    std::vector<PlaylistEntry> entries;

    std::string render() const;
};

// "2026-11-21T20:05:01.123Z"
std::string formatProgramDateTime(WallClock::time_point t);

// Window arithmetic: of `count` segments produced so far, the index of the first one kept
// (segment_wrap) and of the first one listed (list_size).
inline uint64_t firstKept(uint64_t count, uint64_t wrap) {
    return count > wrap ? count - wrap : 0;
}
inline uint64_t firstListed(uint64_t count, uint64_t listSize) {
    return count > listSize ? count - listSize : 0;
}

}  // namespace hlsd
