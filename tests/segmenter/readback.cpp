#include "segmenter/readback.h"

#include <fstream>
#include <string>

#include "support/process.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/frame.h>
}

namespace hlsd {

Readback readBack(const std::vector<uint8_t>& bytes) {
    Readback r;
    const std::string path = test::makeTempDir("readback") + "/media";
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()),
               static_cast<std::streamsize>(bytes.size()));
    AVFormatContext* fmt = nullptr;
    if (avformat_open_input(&fmt, path.c_str(), nullptr, nullptr) < 0) return r;
    r.opened = true;
    if (avformat_find_stream_info(fmt, nullptr) < 0 || fmt->nb_streams != 1) {
        avformat_close_input(&fmt);
        r.opened = false;
        return r;
    }
    r.timeBase = fmt->streams[0]->time_base;
    r.duration = fmt->streams[0]->duration;
    const AVCodec* codec = avcodec_find_decoder(AV_CODEC_ID_H264);
    AVCodecContext* dec = avcodec_alloc_context3(codec);
    avcodec_parameters_to_context(dec, fmt->streams[0]->codecpar);
    dec->err_recognition = AV_EF_EXPLODE;
    avcodec_open2(dec, codec, nullptr);
    AVPacket* pkt = av_packet_alloc();
    AVFrame* frame = av_frame_alloc();
    auto drain = [&] {
        while (avcodec_receive_frame(dec, frame) == 0) {
            if (r.frames == 0) r.firstFrameIntra = frame->pict_type == AV_PICTURE_TYPE_I;
            if (frame->decode_error_flags) r.decodeErrors = true;
            r.framePts.push_back(frame->best_effort_timestamp);
            ++r.frames;
        }
    };
    while (av_read_frame(fmt, pkt) >= 0) {
        r.pts.push_back(pkt->pts);
        r.dts.push_back(pkt->dts);
        r.durations.push_back(pkt->duration);
        if (avcodec_send_packet(dec, pkt) < 0) r.decodeErrors = true;
        av_packet_unref(pkt);
        drain();
    }
    avcodec_send_packet(dec, nullptr);
    drain();
    av_frame_free(&frame);
    av_packet_free(&pkt);
    avcodec_free_context(&dec);
    avformat_close_input(&fmt);
    return r;
}

}  // namespace hlsd
