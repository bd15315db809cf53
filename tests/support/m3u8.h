// Test support: a deliberately independent, strict reader of the playlists hlsd writes.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace hlsd::test {

struct M3u8Segment {
    std::string uri;
    double duration = 0;
    std::string programDateTime;
    bool discontinuity = false;
};

struct M3u8 {
    int version = 0;
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
