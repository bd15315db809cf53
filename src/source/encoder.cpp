#include "hlsd/encoder.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "hlsd/log.h"
#include "hlsd/source.h"
#include "source/av_error.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/opt.h>
}

namespace hlsd {

Encoder::Encoder(const EncoderOptions& options) : options_(options) {
    try {
        open();
    } catch (...) {
        av_packet_free(&packet_);
        avcodec_free_context(&context_);
        throw;
    }
}

void Encoder::open() {
    const EncoderOptions& options = options_;
    const AVCodec* codec = avcodec_find_encoder_by_name(options.codec.c_str());
    if (!codec) {
        throw SourceError("H.264 encoder \"" + options.codec + "\" is not in this libavcodec",
                          true);
    }
    context_ = avcodec_alloc_context3(codec);
    packet_ = av_packet_alloc();
    if (!context_ || !packet_) throw SourceError("out of memory creating the encoder", true);

    context_->width = options.width;
    context_->height = options.height;
    context_->pix_fmt = AV_PIX_FMT_YUV420P;
    context_->time_base = AVRational{options.fps.den, options.fps.num};
    context_->framerate = AVRational{options.fps.num, options.fps.den};
    context_->gop_size = options.gop;
    context_->keyint_min = options.gop;
    context_->max_b_frames = 0;
    context_->bit_rate = options.bitrate;
    context_->rc_max_rate = options.bitrate;
    context_->rc_buffer_size = static_cast<int>(options.bitrate);  // one second of VBV
    // No global header: SPS/PPS go in-band before every IDR, so each segment decodes alone.

    AVDictionary* opts = nullptr;
    if (options.codec == "libx264") {
        av_dict_set(&opts, "preset", options.preset.c_str(), 0);
        av_dict_set(&opts, "tune", "zerolatency", 0);
        av_dict_set(&opts, "profile", options.profile.c_str(), 0);
        av_dict_set(&opts, "forced-idr", "1", 0);
        av_dict_set(&opts, "x264-params", "scenecut=0:open-gop=0:repeat-headers=1", 0);
    } else {
        // V4L2 encoders take the profile as a number; SPS/PPS missing from an IDR are added
        // back by the segmenter.
        if (options.profile == "baseline") context_->profile = FF_PROFILE_H264_CONSTRAINED_BASELINE;
        if (options.profile == "main") context_->profile = FF_PROFILE_H264_MAIN;
        if (options.profile == "high") context_->profile = FF_PROFILE_H264_HIGH;
    }
    int ret = avcodec_open2(context_, codec, &opts);
    av_dict_free(&opts);
    if (ret < 0) {
        throw SourceError("cannot open encoder " + options.codec + " at " +
                              std::to_string(options.width) + "x" + std::to_string(options.height) +
                              ": " + avError(ret),
                          true);
    }
}

Encoder::~Encoder() {
    av_packet_free(&packet_);
    avcodec_free_context(&context_);
}

StreamInfo Encoder::streamInfo() const {
    StreamInfo info;
    info.width = options_.width;
    info.height = options_.height;
    info.frameRate = options_.fps;
    info.description = "h264 (" + options_.codec + " " + options_.profile + ") " +
                       std::to_string(options_.width) + "x" + std::to_string(options_.height) +
                       " " + std::to_string(options_.fps.toDouble()).substr(0, 5) + " fps, GOP " +
                       std::to_string(options_.gop) + ", " +
                       std::to_string(options_.bitrate / 1000) + " kb/s";
    return info;
}

void Encoder::send(AVFrame* frame, WallClock::time_point captureTime) {
    if (options_.frameTap && options_.frameTap->wantsFrames())
        options_.frameTap->offer(*frame, captureTime);
    captureTimes_[frame->pts] = captureTime;
    int ret = avcodec_send_frame(context_, frame);
    if (ret < 0) throw SourceError("encoder rejected a frame: " + avError(ret), false);
    drain();
}

void Encoder::flush() {
    avcodec_send_frame(context_, nullptr);
    drain();
}

void Encoder::drain() {
    const AVRational frameBase{options_.fps.den, options_.fps.num};
    const AVRational tsBase{1, static_cast<int>(kTimeBase)};
    for (;;) {
        int ret = avcodec_receive_packet(context_, packet_);
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) return;
        if (ret < 0) throw SourceError("encoder failed: " + avError(ret), false);
        EncodedPacket out;
        out.data.assign(packet_->data, packet_->data + packet_->size);
        out.pts = av_rescale_q(packet_->pts, frameBase, tsBase);
        out.dts = av_rescale_q(packet_->dts, frameBase, tsBase);
        out.duration = av_rescale_q(1, frameBase, tsBase);
        out.keyframe = packet_->flags & AV_PKT_FLAG_KEY;
        auto it = captureTimes_.find(packet_->pts);
        if (it != captureTimes_.end()) {
            out.captureTime = it->second;
            captureTimes_.erase(captureTimes_.begin(), std::next(it));
        } else {
            out.captureTime = WallClock::now();
        }
        av_packet_unref(packet_);
        ready_.push_back(std::move(out));
    }
}

std::optional<EncodedPacket> Encoder::receive() {
    if (ready_.empty()) return std::nullopt;
    EncodedPacket p = std::move(ready_.front());
    ready_.pop_front();
    return p;
}

EncoderOptions encoderOptionsFor(const SourceOptions& source) {
    EncoderOptions o;
    o.width = source.width;
    o.height = source.height;
    o.fps = source.fps;
    o.bitrate = source.bitrate;
    o.profile = source.camera.profile;
    o.frameTap = source.frameTap;
    o.gop =
        std::max(1, static_cast<int>(std::lround(source.keyframeInterval * source.fps.toDouble())));
    return o;
}

EncoderChoice chooseEncoder(const std::string& setting, const std::string& device) {
    if (setting == "x264") return {"libx264", "encoder: x264"};
    if (setting == "v4l2m2m") return {"h264_v4l2m2m", "encoder: v4l2m2m (" + device + ")"};
    std::error_code ec;
    const bool hasDevice = std::filesystem::exists(device, ec);
    const bool hasCodec = avcodec_find_encoder_by_name("h264_v4l2m2m") != nullptr;
    if (hasDevice && hasCodec) return {"h264_v4l2m2m", "hardware encoder " + device + " found"};
    return {"libx264",
            hasDevice ? "libavcodec lacks h264_v4l2m2m" : "no hardware encoder at " + device};
}

std::unique_ptr<Encoder> openEncoder(EncoderOptions options, const std::string& setting,
                                     const std::string& device) {
    auto log = logger("source");
    const EncoderChoice choice = chooseEncoder(setting, device);
    options.codec = choice.codec;
    try {
        auto encoder = std::make_unique<Encoder>(options);
        log->info("H.264 encoder {} ({})", choice.codec, choice.reason);
        return encoder;
    } catch (const SourceError& e) {
        if (setting != "auto" || choice.codec == "libx264") throw;
        log->warn("{}; falling back to libx264", e.what());
    }
    options.codec = "libx264";
    return std::make_unique<Encoder>(options);
}

}  // namespace hlsd
