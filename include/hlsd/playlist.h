// A live media playlist (RFC 8216) as a value with a pure render().
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hlsd/packet.h"

namespace hlsd {

struct PlaylistEntry {
    std::string uri;
    double duration = 0.0;
    WallClock::time_point programDateTime;
    bool discontinuity = false;
};

struct Playlist {
    int version = 3;
    int targetDuration = 1;
    uint64_t mediaSequence = 0;
    uint64_t discontinuitySequence = 0;
    bool endList = false;
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
