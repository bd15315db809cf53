// One libavformat mp4 muxer writing fragmented MP4 (CMAF) into memory (av_output.h): the
// initialization section once, then one moof + mdat per take().
#pragma once

#include <cstdint>
#include <vector>

#include "segmenter/av_output.h"
#include "segmenter/muxer.h"

namespace hlsd {

// Thread-bound. Timestamps continue across fragments (each fragment's tfdt is the dts of its
// first sample); a fragment is one moof + mdat, so a part or segment that starts with a
// keyframe decodes alone after init(). A fragment ends at take(), at startPart(), and after
// 2048 samples (the moof must fit in the I/O buffer; one take() then holds several).
// The sample entry is avc1 with the SPS/PPS of StreamInfo::extradata; parameter sets sent
// in-band stay in the samples (payloads are not rewritten beyond start codes -> lengths).
class Fmp4Muxer final : public Muxer {
public:
    // `info.extradata` must hold SPS/PPS in Annex B form. Throws std::runtime_error.
    explicit Fmp4Muxer(const StreamInfo& info);

    // Ends the current fragment, if it has samples: the next packet starts a new one.
    void startPart() override;
    void write(const uint8_t* data, size_t size, int64_t pts, int64_t dts, int64_t duration,
               bool keyframe) override;  // throws std::runtime_error
    // Ends the current fragment and returns the fragments muxed since the last take(); empty if
    // no packet was written since.
    std::vector<uint8_t> take() override;
    // ftyp + moov, as written by the header.
    const std::vector<uint8_t>& init() const override { return init_; }

private:
    void flushFragment();

    AvOutput output_;
    std::vector<uint8_t> init_;
    int fragmentSamples_ = 0;  // samples written that no moof describes yet
};

}  // namespace hlsd
