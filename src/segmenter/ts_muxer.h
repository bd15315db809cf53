// One libavformat mpegts muxer writing into memory (av_output.h).
#pragma once

#include <cstdint>
#include <optional>
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
    void nextMayEndPart() override { holdNext_ = true; }
    void partEndsAt(int64_t end) override { partEnd_ = end; }
    // Timestamps go out on a 100 µs grid; a frame that may end its part is muxed when the next
    // one comes or the part is taken, placed by the part's end (ts_muxer.cpp says why). Throws
    // std::runtime_error.
    void write(const uint8_t* data, size_t size, int64_t pts, int64_t dts, int64_t duration,
               bool keyframe) override;
    // Everything muxed since the last take(), the part's last frame included.
    std::vector<uint8_t> take() override;
    const std::vector<uint8_t>& init() const override { return init_; }  // none in MPEG-TS

private:
    struct Frame {
        std::vector<uint8_t> data;
        int64_t pts = 0, dts = 0, duration = 0;
        bool keyframe = false;
    };
    void flushHeld(int64_t partEnd);
    // partEnd: -1 when the frame does not end a part.
    void mux(const uint8_t* data, size_t size, int64_t pts, int64_t dts, int64_t duration,
             bool keyframe, int64_t partEnd);

    AvOutput output_;
    std::vector<uint8_t> init_;
    bool holdNext_ = false;
    std::optional<Frame> held_;  // written, not yet muxed
    int64_t lastDts_ = -1;       // as muxed
    int64_t partEnd_ = -1;       // from partEndsAt(), for take()
};

}  // namespace hlsd
