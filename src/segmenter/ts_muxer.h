// One libavformat mpegts muxer writing into memory through a custom AVIOContext.
#pragma once

#include <cstdint>
#include <vector>

#include "hlsd/packet.h"
#include "segmenter/muxer.h"

struct AVFormatContext;
struct AVIOContext;
struct AVPacket;

namespace hlsd {

// Thread-bound. Timestamps continue across segments (PCR/PTS/continuity counters); each
// segment starts with PAT/PMT because the muxer is asked to re-emit them.
class TsMuxer final : public Muxer {
public:
    explicit TsMuxer(const StreamInfo& info);  // throws std::runtime_error
    ~TsMuxer() override;
    TsMuxer(const TsMuxer&) = delete;
    TsMuxer& operator=(const TsMuxer&) = delete;

    // The next packet written starts a segment: PAT/PMT first, PCR on the keyframe.
    void startSegment() override;
    void write(const uint8_t* data, size_t size, int64_t pts, int64_t dts, int64_t duration,
               bool keyframe) override;  // throws std::runtime_error
    // Everything muxed since the last take().
    std::vector<uint8_t> take() override;
    const std::vector<uint8_t>& init() const override { return init_; }  // none in MPEG-TS

private:
    static int onWrite(void* self, uint8_t* data, int size);

    AVFormatContext* context_ = nullptr;
    AVIOContext* io_ = nullptr;
    AVPacket* packet_ = nullptr;
    std::vector<uint8_t> buffer_;
    std::vector<uint8_t> init_;
};

}  // namespace hlsd
