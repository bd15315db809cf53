#include "segmenter/av_output.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "source/av_error.h"

extern "C" {
#include <libavformat/avformat.h>
}

namespace hlsd {
namespace {

// Also bounds what the mp4 muxer can seek back over to fill in a box size (fmp4_muxer.cpp).
constexpr int kIoBufferSize = 64 * 1024;

}  // namespace

int AvOutput::onWrite(void* self, av::WriteBuffer data, int size) {
    auto& buffer = static_cast<AvOutput*>(self)->buffer_;
    buffer.insert(buffer.end(), data, data + size);
    return size;
}

AvOutput::AvOutput(const char* format, const StreamInfo& info) : format_(format) {
    const std::string name = format;
    try {
        int ret = avformat_alloc_output_context2(&context_, nullptr, format, nullptr);
        if (ret < 0 || !context_)
            throw std::runtime_error(name + " muxer missing: " + avError(ret));
        auto* ioBuffer = static_cast<unsigned char*>(av_malloc(kIoBufferSize));
        if (!ioBuffer) throw std::runtime_error("out of memory creating muxer");
        io_ = avio_alloc_context(ioBuffer, kIoBufferSize, 1, this, nullptr, &AvOutput::onWrite,
                                 nullptr);
        if (!io_) {
            av_free(ioBuffer);
            throw std::runtime_error("out of memory creating muxer");
        }
        packet_ = av_packet_alloc();
        if (!packet_) throw std::runtime_error("out of memory creating muxer");
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
            st->codecpar->extradata = static_cast<uint8_t*>(
                av_mallocz(info.extradata.size() + AV_INPUT_BUFFER_PADDING_SIZE));
            if (!st->codecpar->extradata) throw std::runtime_error("out of memory creating muxer");
            std::copy(info.extradata.begin(), info.extradata.end(), st->codecpar->extradata);
            st->codecpar->extradata_size = static_cast<int>(info.extradata.size());
        }
    } catch (...) {
        release();  // a throwing constructor runs no destructor
        throw;
    }
}

AvOutput::~AvOutput() {
    release();
}

void AvOutput::release() {
    if (context_) {
        if (headerWritten_) av_write_trailer(context_);
        avformat_free_context(context_);
        context_ = nullptr;
    }
    if (io_) av_freep(&io_->buffer);
    avio_context_free(&io_);
    av_packet_free(&packet_);
}

AVStream* AvOutput::stream() const {
    return context_->streams[0];
}

int AvOutput::writeHeader(AVDictionary* options) {
    av_dict_set(&options, "avoid_negative_ts", "disabled", 0);
    const int ret = avformat_write_header(context_, &options);
    const int unused = av_dict_count(options);
    av_dict_free(&options);
    if (ret < 0) {
        throw std::runtime_error(std::string(format_) +
                                 " muxer refused the stream: " + avError(ret));
    }
    headerWritten_ = true;
    return unused;
}

void AvOutput::write(const uint8_t* data, size_t size, int64_t pts, int64_t dts, int64_t duration,
                     bool keyframe) {
    packet_->data = const_cast<uint8_t*>(data);
    packet_->size = static_cast<int>(size);
    packet_->pts = pts;
    packet_->dts = dts;
    packet_->duration = duration;
    packet_->flags = keyframe ? AV_PKT_FLAG_KEY : 0;
    packet_->stream_index = 0;
    const int ret = av_write_frame(context_, packet_);
    packet_->data = nullptr;
    packet_->size = 0;
    if (ret < 0) throw std::runtime_error(std::string(format_) + " muxer failed: " + avError(ret));
}

std::vector<uint8_t> AvOutput::take() {
    avio_flush(io_);
    std::vector<uint8_t> out;
    out.swap(buffer_);
    return out;
}

}  // namespace hlsd
