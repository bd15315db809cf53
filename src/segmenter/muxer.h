// What the segmenter needs of a container muxer: MPEG-TS (ts_muxer) or fragmented MP4
// (fmp4_muxer). A muxer writes into memory; the segmenter takes the bytes out at each part or
// segment boundary, and the segment is the concatenation of what it took.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "hlsd/packet.h"
#include "hlsd/segment.h"

namespace hlsd {

// Thread-bound. One muxer lives for one timeline (a source run, or until a timestamp jump):
// timestamps continue across the segments it writes, starting at dts 0.
class Muxer {
public:
    virtual ~Muxer() = default;

    // The next packet written starts a part (MPEG-TS: PAT/PMT first; fMP4: a new fragment).
    virtual void startPart() = 0;
    // MPEG-TS places a part's last frame by the part's end (ts_muxer.cpp): the next frame
    // written may be the last of its part, and the part take() ends next ends at `end` (the
    // muxer's timeline). fMP4 writes each sample's duration and needs neither.
    virtual void nextMayEndPart() {}
    virtual void partEndsAt(int64_t /*end*/) {}
    // One access unit, Annex B. `duration` > 0 (ticks of kTimeBase). Throws std::runtime_error.
    virtual void write(const uint8_t* data, size_t size, int64_t pts, int64_t dts, int64_t duration,
                       bool keyframe) = 0;
    // Ends the part (fMP4: flushes the fragment: moof + mdat) and returns every byte muxed since
    // the last take(). Throws std::runtime_error.
    virtual std::vector<uint8_t> take() = 0;
    // fMP4: the initialization section (ftyp + moov) for EXT-X-MAP, fixed when the muxer is
    // created. MPEG-TS: empty.
    virtual const std::vector<uint8_t>& init() const = 0;
};

// `info.extradata` must hold SPS/PPS (Annex B) for fMP4. Throws std::runtime_error.
std::unique_ptr<Muxer> makeMuxer(Container container, const StreamInfo& info);

}  // namespace hlsd
