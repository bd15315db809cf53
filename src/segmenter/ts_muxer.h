// One libavformat mpegts muxer writing into memory through a custom AVIOContext.
#pragma once

#include <cstdint>
#include <vector>

#include "hlsd/packet.h"

struct AVFormatContext;
struct AVIOContext;
struct AVPacket;

namespace hlsd {

// Thread-bound. Timestamps continue across segments (PCR/PTS/continuity counters); each
// segment starts with PAT/PMT because the muxer is asked to re-emit them.
class TsMuxer {
public:
    explicit TsMuxer(const StreamInfo& info);  // throws std::runtime_error
    ~TsMuxer();
    TsMuxer(const TsMuxer&) = delete;
    TsMuxer& operator=(const TsMuxer&) = delete;

    // The next packet written starts a segment: PAT/PMT first, PCR on the keyframe.
    void startSegment();
    void write(const uint8_t* data, size_t size, int64_t pts, int64_t dts, int64_t duration,
               bool keyframe);  // throws std::runtime_error
    // Everything muxed since the last take().
    std::vector<uint8_t> take();

private:
    static int onWrite(void* self, uint8_t* data, int size);

    AVFormatContext* context_ = nullptr;
    AVIOContext* io_ = nullptr;
    AVPacket* packet_ = nullptr;
    std::vector<uint8_t> buffer_;
};

}  // namespace hlsd
