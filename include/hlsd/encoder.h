// H.264 encoding of raw frames (the test pattern now, the camera later) through libavcodec.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "hlsd/frame_tap.h"
#include "hlsd/packet.h"

struct AVCodecContext;
struct AVFrame;
struct AVPacket;

namespace hlsd {

struct EncoderOptions {
    int width = 1280;
    int height = 720;
    Rational fps{30, 1};
    int64_t bitrate = 2'000'000;
    int gop = 30;                     // frames between IDRs: keyframe_interval × fps
    std::string codec = "libx264";    // a libavcodec encoder name: libx264, h264_v4l2m2m
    std::string preset = "veryfast";  // libx264 only
    std::string profile = "high";     // baseline | main | high
    FrameTap* frameTap = nullptr;     // also given each frame before it is encoded (MJPEG)
};

struct SourceOptions;
// The encoder settings of a source that encodes (camera, test pattern): its size, rate,
// bitrate and profile, and one IDR per segment_time so segments hit their target exactly.
EncoderOptions encoderOptionsFor(const SourceOptions& source);

// Which H.264 encoder a setting means here.
struct EncoderChoice {
    std::string codec;   // libavcodec name
    std::string reason;  // for the log
};
// setting: auto (the V4L2 hardware encoder if `device` exists, else libx264) | v4l2m2m | x264.
EncoderChoice chooseEncoder(const std::string& setting, const std::string& device);

// Thread-bound. Frames in (YUV 4:2:0, pts in frames), Annex B packets out, one IDR with
// SPS/PPS in-band every `gop` frames, no B-frames (latency).
class Encoder {
public:
    explicit Encoder(const EncoderOptions& options);  // throws SourceError
    ~Encoder();
    Encoder(const Encoder&) = delete;
    Encoder& operator=(const Encoder&) = delete;

    StreamInfo streamInfo() const;
    // frame->pts counts frames from 0. Throws SourceError.
    void send(AVFrame* frame, WallClock::time_point captureTime);
    void flush();
    std::optional<EncodedPacket> receive();

    const EncoderOptions& options() const { return options_; }

private:
    void open();
    void drain();

    EncoderOptions options_;
    AVCodecContext* context_ = nullptr;
    AVPacket* packet_ = nullptr;
    std::map<int64_t, WallClock::time_point> captureTimes_;
    std::deque<EncodedPacket> ready_;
};

// Opens the encoder `setting` chooses; with `auto`, a hardware encoder that fails to open falls
// back to libx264 (logged). Throws SourceError (permanent) when nothing can be opened.
std::unique_ptr<Encoder> openEncoder(EncoderOptions options, const std::string& setting,
                                     const std::string& device);

}  // namespace hlsd
