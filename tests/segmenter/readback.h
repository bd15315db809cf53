// Segmenter tests: what libavformat/libavcodec make of muxed bytes (MPEG-TS or fMP4), read
// back from a file with a fresh demuxer and decoder.
#pragma once

#include <cstdint>
#include <vector>

extern "C" {
#include <libavutil/rational.h>
}

namespace hlsd {

struct Readback {
    bool opened = false;
    AVRational timeBase{0, 1};
    int64_t duration = 0;                      // the stream's, from the fragments' sample durations
    std::vector<int64_t> pts, dts, durations;  // demuxed packets
    int frames = 0;                            // decoded
    bool firstFrameIntra = false;
    bool decodeErrors = false;
    std::vector<int64_t> framePts;  // decoded frames, output order
};

// Demuxes and decodes `bytes` (one video stream; the container is probed from the content).
Readback readBack(const std::vector<uint8_t>& bytes);

}  // namespace hlsd
