#include "segmenter/ts_muxer.h"

#include <stdexcept>
#include <string>

#include "source/av_error.h"

extern "C" {
#include <libavformat/avformat.h>
#include <libavutil/opt.h>
}

namespace hlsd {
namespace {

constexpr int kIoBufferSize = 64 * 1024;

}  // namespace

int TsMuxer::onWrite(void* self, uint8_t* data, int size) {
    auto& buffer = static_cast<TsMuxer*>(self)->buffer_;
    buffer.insert(buffer.end(), data, data + size);
    return size;
}

TsMuxer::TsMuxer(const StreamInfo& info) {
    int ret = avformat_alloc_output_context2(&context_, nullptr, "mpegts", nullptr);
    if (ret < 0 || !context_) throw std::runtime_error("mpegts muxer missing: " + avError(ret));
    auto* ioBuffer = static_cast<unsigned char*>(av_malloc(kIoBufferSize));
    io_ = avio_alloc_context(ioBuffer, kIoBufferSize, 1, this, nullptr, &TsMuxer::onWrite, nullptr);
    packet_ = av_packet_alloc();
    if (!ioBuffer || !io_ || !packet_) throw std::runtime_error("out of memory creating muxer");
    context_->pb = io_;
    context_->flags |= AVFMT_FLAG_CUSTOM_IO;

    AVStream* st = avformat_new_stream(context_, nullptr);
    if (!st) throw std::runtime_error("out of memory creating muxer stream");
    st->time_base = AVRational{1, static_cast<int>(kTimeBase)};
    st->codecpar->codec_type = AVMEDIA_TYPE_VIDEO;
    st->codecpar->codec_id = AV_CODEC_ID_H264;
    st->codecpar->width = info.width;
    st->codecpar->height = info.height;
    if (info.frameRate.valid())
        st->avg_frame_rate = AVRational{info.frameRate.num, info.frameRate.den};
    if (!info.extradata.empty()) {
        st->codecpar->extradata =
            static_cast<uint8_t*>(av_mallocz(info.extradata.size() + AV_INPUT_BUFFER_PADDING_SIZE));
        std::copy(info.extradata.begin(), info.extradata.end(), st->codecpar->extradata);
        st->codecpar->extradata_size = static_cast<int>(info.extradata.size());
    }
    AVDictionary* opts = nullptr;
    // Our timestamps already start at 0 per muxer; keep them as given.
    av_dict_set(&opts, "avoid_negative_ts", "disabled", 0);
    ret = avformat_write_header(context_, &opts);
    av_dict_free(&opts);
    if (ret < 0) throw std::runtime_error("mpegts muxer refused the stream: " + avError(ret));
}

TsMuxer::~TsMuxer() {
    if (context_) {
        av_write_trailer(context_);
        avformat_free_context(context_);
    }
    if (io_) av_freep(&io_->buffer);
    avio_context_free(&io_);
    av_packet_free(&packet_);
}

void TsMuxer::startSegment() {
    av_opt_set(context_->priv_data, "mpegts_flags", "+resend_headers", 0);
}

void TsMuxer::write(const uint8_t* data, size_t size, int64_t pts, int64_t dts, int64_t duration,
                    bool keyframe) {
    // The muxer only reads the payload; no copy.
    packet_->data = const_cast<uint8_t*>(data);
    packet_->size = static_cast<int>(size);
    packet_->pts = pts;
    packet_->dts = dts;
    packet_->duration = duration;
    packet_->flags = keyframe ? AV_PKT_FLAG_KEY : 0;
    packet_->stream_index = 0;
    int ret = av_write_frame(context_, packet_);
    packet_->data = nullptr;
    packet_->size = 0;
    if (ret < 0) throw std::runtime_error("mpegts muxer failed: " + avError(ret));
}

std::vector<uint8_t> TsMuxer::take() {
    avio_flush(io_);
    std::vector<uint8_t> out;
    out.swap(buffer_);
    return out;
}

}  // namespace hlsd
