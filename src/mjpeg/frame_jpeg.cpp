#include "mjpeg/frame_jpeg.h"

#include <turbojpeg.h>

#include <array>
#include <cstring>
#include <stdexcept>

#include "source/av_error.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/frame.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
}

namespace hlsd {

H264Decoder::H264Decoder(const std::vector<uint8_t>& extradata) {
    const AVCodec* codec = avcodec_find_decoder(AV_CODEC_ID_H264);
    if (!codec) throw std::runtime_error("this libavcodec has no H.264 decoder");
    ctx_ = avcodec_alloc_context3(codec);
    packet_ = av_packet_alloc();
    frame_ = av_frame_alloc();
    if (!ctx_ || !packet_ || !frame_) {
        this->~H264Decoder();
        throw std::runtime_error("out of memory for the H.264 decoder");
    }
    // No frame threads (a frame of delay per thread). Not LOW_DELAY: a stream with B-frames
    // must come out in display order (one without, x264's zerolatency, has no delay anyway).
    ctx_->thread_count = 1;
    if (!extradata.empty()) {
        ctx_->extradata =
            static_cast<uint8_t*>(av_mallocz(extradata.size() + AV_INPUT_BUFFER_PADDING_SIZE));
        if (ctx_->extradata) {
            std::memcpy(ctx_->extradata, extradata.data(), extradata.size());
            ctx_->extradata_size = static_cast<int>(extradata.size());
        }
    }
    if (int e = avcodec_open2(ctx_, codec, nullptr); e < 0) {
        const std::string why = avError(e);
        this->~H264Decoder();
        throw std::runtime_error("cannot open the H.264 decoder: " + why);
    }
}

H264Decoder::~H264Decoder() {
    av_frame_free(&frame_);
    av_packet_free(&packet_);
    avcodec_free_context(&ctx_);
}

bool H264Decoder::send(const EncodedPacket& p) {
    av_packet_unref(packet_);
    if (av_new_packet(packet_, static_cast<int>(p.data.size())) < 0) return false;
    std::memcpy(packet_->data, p.data.data(), p.data.size());
    packet_->pts = p.pts;
    packet_->dts = p.dts;
    if (p.keyframe) packet_->flags |= AV_PKT_FLAG_KEY;
    int e = avcodec_send_packet(ctx_, packet_);
    if (e == AVERROR(EAGAIN)) {  // not expected with one picture per unit; drain and retry
        while (receive()) {
        }
        e = avcodec_send_packet(ctx_, packet_);
    }
    return e >= 0;
}

bool H264Decoder::receive() {
    return avcodec_receive_frame(ctx_, frame_) >= 0;
}

void jpegSize(const JpegOptions& o, int w, int h, int& outW, int& outH) {
    outW = o.width;
    outH = o.height;
    if (outW <= 0 && outH <= 0) {
        outW = w;
        outH = h;
    } else if (outW <= 0) {
        outW = static_cast<int>(static_cast<int64_t>(w) * outH / h);
    } else if (outH <= 0) {
        outH = static_cast<int>(static_cast<int64_t>(h) * outW / w);
    }
    outW = std::max(2, outW & ~1);
    outH = std::max(2, outH & ~1);
}

namespace {

// One pass that converts the range (TV → full: JPEG's YCbCr is full range) and, where asked,
// the size. The ranges are set before the context is initialised: libswscale picks its
// unscaled copy (which ignores them) at initialisation when they look equal. The matrix is
// left as it is: converting BT.709 to JFIF's BT.601 makes libswscale go through RGB at full
// size for every picture (too slow for a Pi), for a hue shift few would see.
SwsContext* converter(int w, int h, AVPixelFormat src, bool fullRange, int outW, int outH) {
    SwsContext* c = sws_alloc_context();
    if (!c) return nullptr;
    const bool scaling = w != outW || h != outH;
    av_opt_set_int(c, "srcw", w, 0);
    av_opt_set_int(c, "srch", h, 0);
    av_opt_set_int(c, "src_format", src, 0);
    av_opt_set_int(c, "src_range", fullRange ? 1 : 0, 0);
    av_opt_set_int(c, "dstw", outW, 0);
    av_opt_set_int(c, "dsth", outH, 0);
    av_opt_set_int(c, "dst_format", AV_PIX_FMT_YUV420P, 0);
    av_opt_set_int(c, "dst_range", 1, 0);
    av_opt_set_int(c, "sws_flags", scaling ? SWS_BILINEAR : SWS_POINT, 0);
    if (sws_init_context(c, nullptr, nullptr) < 0) {
        sws_freeContext(c);
        return nullptr;
    }
    return c;
}

}  // namespace

JpegEncoder::JpegEncoder(JpegOptions options) : options_(options) {
    turbo_ = tjInitCompress();
    scaled_ = av_frame_alloc();
    if (!turbo_ || !scaled_) {
        this->~JpegEncoder();
        throw std::runtime_error("cannot start the JPEG encoder (TurboJPEG)");
    }
}

JpegEncoder::~JpegEncoder() {
    if (turbo_) tjDestroy(turbo_);
    turbo_ = nullptr;
    sws_freeContext(sws_);
    sws_ = nullptr;
    av_frame_free(&scaled_);
}

std::vector<uint8_t> JpegEncoder::encode(const AVFrame& in, int& width, int& height) {
    jpegSize(options_, in.width, in.height, width, height);
    const auto src = static_cast<AVPixelFormat>(in.format);
    // Decoders say yuvj420p for full-range 4:2:0; JPEG's YCbCr is full range.
    const bool fullRange = src == AV_PIX_FMT_YUVJ420P || in.color_range == AVCOL_RANGE_JPEG;
    const bool direct = (src == AV_PIX_FMT_YUVJ420P || src == AV_PIX_FMT_YUV420P) && fullRange &&
                        width == in.width && height == in.height;
    const AVFrame* planes = &in;
    if (!direct) {
        if (scaled_->width != width || scaled_->height != height) {
            av_frame_unref(scaled_);
            scaled_->format = AV_PIX_FMT_YUV420P;
            scaled_->width = width;
            scaled_->height = height;
            if (av_frame_get_buffer(scaled_, 0) < 0)
                throw std::runtime_error("out of memory for a scaled picture");
        }
        const std::array<int, 6> key{in.width, in.height, src, fullRange, width, height};
        if (!sws_ || key != swsKey_) {
            sws_freeContext(sws_);
            sws_ = converter(in.width, in.height, src, fullRange, width, height);
            swsKey_ = key;
            if (!sws_)
                throw std::runtime_error(
                    std::string("cannot convert ") +
                    (av_get_pix_fmt_name(src) ? av_get_pix_fmt_name(src) : "?") +
                    " pictures to JPEG");
        }
        sws_scale(sws_, in.data, in.linesize, 0, in.height, scaled_->data, scaled_->linesize);
        planes = scaled_;
    }
    const unsigned char* yuv[3] = {planes->data[0], planes->data[1], planes->data[2]};
    const int strides[3] = {planes->linesize[0], planes->linesize[1], planes->linesize[2]};
    unsigned char* out = nullptr;
    unsigned long size = 0;
    if (tjCompressFromYUVPlanes(turbo_, yuv, width, strides, height, TJSAMP_420, &out, &size,
                                options_.quality, TJFLAG_FASTDCT) != 0) {
        const std::string why = tjGetErrorStr2(turbo_);
        if (out) tjFree(out);
        throw std::runtime_error("JPEG encoding failed: " + why);
    }
    std::vector<uint8_t> jpeg(out, out + size);
    tjFree(out);
    return jpeg;
}

}  // namespace hlsd
