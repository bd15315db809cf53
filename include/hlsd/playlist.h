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

// LL-HLS part window (RFC 8216bis §6.2.2: "EXT-X-PART tags SHOULD be removed from the
// Playlist after they are greater than three Target Durations from the end of the Playlist").
// The end of the playlist is the end of its last media: the complete entries plus the parts
// of the one being written. Of `entries` (an incomplete last one is the segment being
// written), gives the index of the first whose parts are listed: the one being written
// always, then complete ones, newest first, while they start within kPartSpan target
// durations of the end, and at most kPartSegments entries in all, counting the trailing one a
// parser sees: the segment being written, or, with `hinted` (an EXT-X-PRELOAD-HINT follows),
// the hint alone right after a segment completed. Strict parsers (hls-parser) read "three
// target durations" as the last three segments of that list.
inline constexpr double kPartSpan = 3.0;
inline constexpr size_t kPartSegments = 3;
size_t firstWithParts(const std::vector<PlaylistEntry>& entries, int targetDuration, bool hinted);

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
