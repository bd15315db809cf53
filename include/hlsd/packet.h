// The unit every source produces: one H.264 access unit with its timing.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace hlsd {

using WallClock = std::chrono::system_clock;

// All packet timestamps are in this time base (the MPEG-TS clock), whatever the source's own.
inline constexpr int64_t kTimeBase = 90000;

inline double ticksToSeconds(int64_t ticks) {
    return static_cast<double>(ticks) / kTimeBase;
}
inline int64_t secondsToTicks(double s) {
    return static_cast<int64_t>(s * kTimeBase + 0.5);
}

struct Rational {
    int num = 0;
    int den = 1;
    double toDouble() const { return den ? static_cast<double>(num) / den : 0.0; }
    bool valid() const { return num > 0 && den > 0; }
};

// Codec parameters of one source run, known before its first packet.
struct StreamInfo {
    int width = 0;
    int height = 0;
    Rational frameRate;              // nominal; invalid when unknown
    std::vector<uint8_t> extradata;  // SPS/PPS in Annex B form; may be empty (in-band only)
    std::string description;         // for logs, e.g. "h264 (High) 1280x720 30 fps"
};

// One access unit in Annex B form (start codes, not length prefixes).
struct EncodedPacket {
    std::vector<uint8_t> data;
    int64_t pts = 0;       // kTimeBase
    int64_t dts = 0;       // kTimeBase
    int64_t duration = 0;  // kTimeBase; 0 when unknown
    bool keyframe = false;
    WallClock::time_point captureTime;  // when the frame was captured (or released, for files)
};

}  // namespace hlsd
