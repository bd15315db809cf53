// The unit the segmenter produces and the store serves: one MPEG-TS segment.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hlsd/packet.h"

namespace hlsd {

// Immutable once published (shared as shared_ptr<const Segment>).
// Low-latency HLS will add parts as (offset, size) views into `data`.
struct Segment {
    uint64_t msn = 0;                       // media sequence number
    std::string name;                       // "<run>-<msn>.ts", never reused
    std::vector<uint8_t> data;              // complete MPEG-TS bytes
    double duration = 0.0;                  // seconds, from timestamps
    WallClock::time_point programDateTime;  // capture time of the first frame
    bool discontinuity = false;             // first segment after a source restart / jump
    uint64_t discontinuitySequence = 0;     // discontinuities up to and including this one
    double keyframeInterval = 0.0;          // the source's longest GOP seen in this run, seconds
    uint32_t frames = 0;                    // access units in the segment
};

}  // namespace hlsd
