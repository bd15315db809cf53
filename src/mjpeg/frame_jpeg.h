// The two conversions the MJPEG path makes: H.264 access units back into pictures
// (libavcodec), and a picture into a JPEG of the configured size and quality (libswscale, then
// TurboJPEG). Thread-bound: the MJPEG thread owns one of each.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "hlsd/packet.h"

struct AVCodecContext;
struct AVFrame;
struct AVPacket;
struct SwsContext;

namespace hlsd {

class H264Decoder {
public:
    // `extradata`: SPS/PPS in Annex B (may be empty: in-band). Throws std::runtime_error.
    explicit H264Decoder(const std::vector<uint8_t>& extradata);
    ~H264Decoder();
    H264Decoder(const H264Decoder&) = delete;
    H264Decoder& operator=(const H264Decoder&) = delete;

    // Feeds one access unit; the pictures it completes are passed to `onPicture` (decode order
    // is output order: low-delay, no frame threads). False when the decoder rejected the
    // packet (a broken unit: the next keyframe repairs it).
    template <typename F>
    bool decode(const EncodedPacket& packet, F&& onPicture) {
        if (!send(packet)) return false;
        while (receive()) onPicture(*frame_);
        return true;
    }

private:
    bool send(const EncodedPacket& packet);
    bool receive();

    AVCodecContext* ctx_ = nullptr;
    AVPacket* packet_ = nullptr;
    AVFrame* frame_ = nullptr;
};

struct JpegOptions {
    int quality = 80;  // 1..100
    int width = 0;     // 0: the picture's own size (both 0), or kept in proportion (one 0)
    int height = 0;
};

class JpegEncoder {
public:
    explicit JpegEncoder(JpegOptions options);
    ~JpegEncoder();
    JpegEncoder(const JpegEncoder&) = delete;
    JpegEncoder& operator=(const JpegEncoder&) = delete;

    // A baseline JPEG (4:2:0, full-range YCbCr as JFIF says) of `picture`, scaled where the
    // configured size differs. Throws std::runtime_error naming what failed.
    std::vector<uint8_t> encode(const AVFrame& picture, int& width, int& height);

private:
    JpegOptions options_;
    void* turbo_ = nullptr;  // tjhandle
    SwsContext* sws_ = nullptr;
    std::array<int, 6> swsKey_{};  // what sws_ converts: input size, format and range; output size
    AVFrame* scaled_ = nullptr;    // yuv420p, full range, at the output size
};

// The output size for a picture of w × h: even numbers, proportions kept where one is 0.
void jpegSize(const JpegOptions& o, int w, int h, int& outW, int& outH);

}  // namespace hlsd
