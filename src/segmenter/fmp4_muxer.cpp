#include "segmenter/fmp4_muxer.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "source/av_error.h"
#include "source/h264.h"

extern "C" {
#include <libavformat/avformat.h>
}

namespace hlsd {
namespace {

// The mov muxer writes each box's size by seeking back to its start once the box is written;
// a custom write-only AVIOContext can only seek within its buffer. The muxer flushes the
// buffer right before each moof (a flush point), so a moof comes out right as long as it fits
// in the buffer: at most 16 bytes a sample plus ~120, hence the fragment cap below. (A moof
// larger than the buffer comes out with a size of 0.)
constexpr int kIoBufferSize = 64 * 1024;
constexpr int kMaxFragmentSamples = 2048;

// frag_custom: a fragment ends only when asked (take(), startSegment()). empty_moov: the
// header writes the moov, announcing no samples. default_base_moof: trun offsets count from
// the moof, so a fragment stands apart from the bytes before it. cmaf: CMAF brands, no edit
// list, and signed composition offsets relative to the first sample's (presentation time =
// pts - the first packet's pts - dts; without B-frames, the pts). skip_trailer: no mfra at
// the end; without it the muxer also keeps a tfra entry per fragment for the muxer's life
// (measured: 40 bytes a fragment).
constexpr const char* kMovFlags = "frag_custom+empty_moov+default_base_moof+cmaf+skip_trailer";

}  // namespace

int Fmp4Muxer::onWrite(void* self, uint8_t* data, int size) {
    auto& buffer = static_cast<Fmp4Muxer*>(self)->buffer_;
    buffer.insert(buffer.end(), data, data + size);
    return size;
}

Fmp4Muxer::Fmp4Muxer(const StreamInfo& info) {
    // Without SPS and PPS the moov's avcC would be empty (the muxer writes it regardless).
    const auto types = h264::nalTypes(info.extradata);
    if (!h264::contains(types, h264::kSps) || !h264::contains(types, h264::kPps))
        throw std::runtime_error("fMP4 muxer needs the stream's SPS and PPS before its packets");
    try {
        int ret = avformat_alloc_output_context2(&context_, nullptr, "mp4", nullptr);
        if (ret < 0 || !context_) throw std::runtime_error("mp4 muxer missing: " + avError(ret));
        auto* ioBuffer = static_cast<unsigned char*>(av_malloc(kIoBufferSize));
        if (!ioBuffer) throw std::runtime_error("out of memory creating muxer");
        io_ = avio_alloc_context(ioBuffer, kIoBufferSize, 1, this, nullptr, &Fmp4Muxer::onWrite,
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
        // Annex B extradata: the muxer converts it into the avcC record (and the packets' start
        // codes into length prefixes).
        st->codecpar->extradata =
            static_cast<uint8_t*>(av_mallocz(info.extradata.size() + AV_INPUT_BUFFER_PADDING_SIZE));
        if (!st->codecpar->extradata) throw std::runtime_error("out of memory creating muxer");
        std::copy(info.extradata.begin(), info.extradata.end(), st->codecpar->extradata);
        st->codecpar->extradata_size = static_cast<int>(info.extradata.size());

        AVDictionary* opts = nullptr;
        av_dict_set(&opts, "movflags", kMovFlags, 0);
        av_dict_set(&opts, "video_track_timescale", std::to_string(kTimeBase).c_str(), 0);
        // Our timestamps already start at dts 0 per muxer; keep them as given (tfdt = dts).
        av_dict_set(&opts, "avoid_negative_ts", "disabled", 0);
        ret = avformat_write_header(context_, &opts);
        const bool unused = av_dict_count(opts) > 0;
        av_dict_free(&opts);
        if (ret < 0) throw std::runtime_error("mp4 muxer refused the stream: " + avError(ret));
        headerWritten_ = true;
        if (unused)
            throw std::runtime_error("mp4 muxer ignored an option (" + std::string(kMovFlags) +
                                     ")");
        if (st->time_base.num != 1 || st->time_base.den != kTimeBase)
            throw std::runtime_error("mp4 muxer changed the time base to " +
                                     std::to_string(st->time_base.num) + "/" +
                                     std::to_string(st->time_base.den));
        avio_flush(io_);
        init_.swap(buffer_);
    } catch (...) {
        release();
        throw;
    }
}

Fmp4Muxer::~Fmp4Muxer() {
    release();
}

void Fmp4Muxer::release() {
    if (context_) {
        // Flushes the open fragment into buffer_, which nobody takes any more.
        if (headerWritten_) av_write_trailer(context_);
        avformat_free_context(context_);
        context_ = nullptr;
    }
    if (io_) av_freep(&io_->buffer);
    avio_context_free(&io_);
    av_packet_free(&packet_);
}

void Fmp4Muxer::startSegment() {
    if (fragmentSamples_ > 0) flushFragment();
}

void Fmp4Muxer::write(const uint8_t* data, size_t size, int64_t pts, int64_t dts, int64_t duration,
                      bool keyframe) {
    if (fragmentSamples_ >= kMaxFragmentSamples) flushFragment();
    // The muxer only reads the payload (it rewrites it length-prefixed into its mdat buffer).
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
    if (ret < 0) throw std::runtime_error("mp4 muxer failed: " + avError(ret));
    ++fragmentSamples_;
}

void Fmp4Muxer::flushFragment() {
    // frag_custom: a null packet writes the moof + mdat of the samples since the last one.
    int ret = av_write_frame(context_, nullptr);
    if (ret < 0) throw std::runtime_error("mp4 muxer failed to end a fragment: " + avError(ret));
    fragmentSamples_ = 0;
}

std::vector<uint8_t> Fmp4Muxer::take() {
    if (fragmentSamples_ > 0) flushFragment();
    avio_flush(io_);
    std::vector<uint8_t> out;
    out.swap(buffer_);
    return out;
}

}  // namespace hlsd
