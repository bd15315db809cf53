// One libavformat mpegts muxer writing into memory (av_output.h).
#pragma once

#include <cstdint>
#include <vector>

#include "hlsd/packet.h"
#include "segmenter/av_output.h"
#include "segmenter/muxer.h"

namespace hlsd {

// Thread-bound. Timestamps continue across segments (PCR/PTS/continuity counters); each
// segment starts with PAT/PMT because the muxer is asked to re-emit them.
class TsMuxer final : public Muxer {
public:
    explicit TsMuxer(const StreamInfo& info);  // throws std::runtime_error

    // The next packet written starts a part: PAT/PMT first.
    void startPart() override;
    void write(const uint8_t* data, size_t size, int64_t pts, int64_t dts, int64_t duration,
               bool keyframe) override {  // throws std::runtime_error
        output_.write(data, size, pts, dts, duration, keyframe);
    }
    // Everything muxed since the last take().
    std::vector<uint8_t> take() override { return output_.take(); }
    const std::vector<uint8_t>& init() const override { return init_; }  // none in MPEG-TS

private:
    AvOutput output_;
    std::vector<uint8_t> init_;
};

}  // namespace hlsd
