// H.264 packets made in-process with hlsd's own encoder, for tests that need a real stream:
// a moving gradient, `gop` frames per keyframe, capture times 1/fps apart from `start`.
#pragma once

#include <vector>

#include "hlsd/encoder.h"
#include "hlsd/packet.h"

extern "C" {
#include <libavutil/frame.h>
}

namespace hlsd::test {

inline std::vector<EncodedPacket> encodeFrames(int count, const EncoderOptions& o, int first = 0,
                                               WallClock::time_point start = WallClock::now()) {
    Encoder encoder(o);
    AVFrame* frame = av_frame_alloc();
    frame->format = AV_PIX_FMT_YUV420P;
    frame->width = o.width;
    frame->height = o.height;
    av_frame_get_buffer(frame, 0);
    std::vector<EncodedPacket> out;
    const auto step = std::chrono::duration_cast<WallClock::duration>(
        std::chrono::duration<double>(1.0 / o.fps.toDouble()));
    for (int n = first; n < first + count; ++n) {
        av_frame_make_writable(frame);
        for (int y = 0; y < o.height; ++y) {
            for (int x = 0; x < o.width; ++x)
                frame->data[0][y * frame->linesize[0] + x] = static_cast<uint8_t>(x + y + 3 * n);
        }
        for (int p = 1; p < 3; ++p) {
            for (int y = 0; y < o.height / 2; ++y) {
                for (int x = 0; x < o.width / 2; ++x)
                    frame->data[p][y * frame->linesize[p] + x] = 128;
            }
        }
        frame->pts = n;
        encoder.send(frame, start + step * (n - first));
        while (auto p = encoder.receive()) out.push_back(std::move(*p));
    }
    encoder.flush();
    while (auto p = encoder.receive()) out.push_back(std::move(*p));
    av_frame_free(&frame);
    return out;
}

inline EncoderOptions smallStream(int gop) {
    EncoderOptions o;
    o.width = 320;
    o.height = 240;
    o.fps = {30, 1};
    o.gop = gop;
    o.bitrate = 500'000;
    return o;
}

}  // namespace hlsd::test
