#include "source/demux_source.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>

#include "hlsd/log.h"
#include "source/av_error.h"
#include "source/h264.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavcodec/bsf.h>
#include <libavformat/avformat.h>
}

namespace hlsd {
namespace {

Pacer::Mode pacerMode(DemuxSource::Kind kind, bool realtime) {
    if (!realtime) return Pacer::Mode::Synthetic;
    return kind == DemuxSource::Kind::File ? Pacer::Mode::Paced : Pacer::Mode::Follow;
}

constexpr double kMinFps = 0.01;
constexpr double kMaxFps = 1000;
// Timestamps beyond this (±2^53 ticks, ~3000 years) are damage, or av_rescale's overflow mark
// (INT64_MIN): taken as missing, so that no sum or difference of two of them downstream can
// overflow.
constexpr int64_t kMaxTicks = int64_t{1} << 53;

// A container timestamp in kTimeBase ticks; AV_NOPTS_VALUE when missing or out of range.
int64_t toTicks(int64_t ts, AVRational from) {
    if (ts == AV_NOPTS_VALUE) return AV_NOPTS_VALUE;
    const int64_t ticks = av_rescale_q(ts, from, AVRational{1, static_cast<int>(kTimeBase)});
    return ticks >= -kMaxTicks && ticks <= kMaxTicks ? ticks : AV_NOPTS_VALUE;
}

// rtsp://user:secret@cam/stream → rtsp://cam/stream, for logs.
std::string withoutCredentials(const std::string& url) {
    auto scheme = url.find("://");
    if (scheme == std::string::npos) return url;
    auto at = url.find('@', scheme + 3);
    auto slash = url.find('/', scheme + 3);
    if (at == std::string::npos || (slash != std::string::npos && at > slash)) return url;
    return url.substr(0, scheme + 3) + url.substr(at + 1);
}

}  // namespace

DemuxSource::DemuxSource(Kind kind, std::string location, const SourceOptions& options)
    : kind_(kind),
      location_(std::move(location)),
      options_(options),
      pacer_(pacerMode(kind, options.realtime), interrupter_) {}

DemuxSource::~DemuxSource() {
    close();
}

namespace {

// Standard input's type: an anonymous pipe (`rpicam-vid | hlsd`) ends for good; a named FIFO
// (`hlsd < cam.fifo`) or a socket can get a new producer after its end.
enum class StdinKind { Other, Socket, AnonymousPipe, NamedFifo };

StdinKind stdinKind() {
    struct stat st {};
    if (fstat(0, &st) != 0) return StdinKind::Other;
    if (S_ISSOCK(st.st_mode)) return StdinKind::Socket;
    if (!S_ISFIFO(st.st_mode)) return StdinKind::Other;
    char target[64] = {};
    ssize_t n = readlink("/proc/self/fd/0", target, sizeof target - 1);
    bool anonymous = n <= 0 || std::string(target, n).rfind("pipe:", 0) == 0;
    return anonymous ? StdinKind::AnonymousPipe : StdinKind::NamedFifo;
}

}  // namespace

bool DemuxSource::isLive() const {
    if (kind_ == Kind::Url) return true;
    if (kind_ == Kind::File) return false;
    const StdinKind k = stdinKind();
    return k == StdinKind::Socket || k == StdinKind::NamedFifo;
}

bool DemuxSource::waitsInOpen() const {
    return kind_ == Kind::Stdin && stdinKind() == StdinKind::NamedFifo;
}

// Once its producer has gone, a FIFO reads as end of file at once, again and again, until a new
// producer opens it: opening the demuxer then would fail ("invalid data") in a tight loop of
// retries. A fresh descriptor on the same FIFO tells the cases apart: poll() reports a hang-up
// on it only after a producer came and went since it was opened, and data as soon as there is
// some. So wait on one until a producer has written something.
void DemuxSource::waitForProducer() {
    bool logged = false;
    while (!interrupter_.triggered()) {
        int fd = ::open("/proc/self/fd/0", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0) return;  // cannot tell: let the demuxer try
        for (;;) {
            pollfd p{fd, POLLIN, 0};
            int n = ::poll(&p, 1, 100);
            if (interrupter_.triggered()) break;
            if (n > 0 && (p.revents & POLLIN)) {
                ::close(fd);
                return;
            }
            if (n > 0 && (p.revents & (POLLHUP | POLLERR))) break;  // came and went: reopen
            if (n < 0 && errno != EINTR) {
                ::close(fd);
                return;
            }
            if (!logged) {
                logged = true;
                logger("source")->info("stdin: waiting for a producer to open the FIFO");
            }
        }
        ::close(fd);
    }
}

std::string DemuxSource::name() const {
    switch (kind_) {
        case Kind::File:
            return "file " + location_;
        case Kind::Stdin:
            return "stdin";
        case Kind::Url:
            return withoutCredentials(location_);
    }
    return location_;
}

int DemuxSource::interruptCallback(void* self) {
    return static_cast<DemuxSource*>(self)->interrupter_.triggered() ? 1 : 0;
}

StreamInfo DemuxSource::open() {
    close();
    const std::string what = name();
    if (kind_ == Kind::File) {
        std::error_code ec;
        if (!std::filesystem::exists(location_, ec)) {
            throw SourceError(what + ": no such file", true);
        }
    }
    if (waitsInOpen()) {
        waitForProducer();
        if (interrupter_.triggered()) throw SourceError(what + ": interrupted", false);
    }
    format_ = avformat_alloc_context();
    packet_ = av_packet_alloc();
    if (!format_ || !packet_) throw SourceError("out of memory opening " + what, true);
    format_->interrupt_callback.callback = &DemuxSource::interruptCallback;
    format_->interrupt_callback.opaque = this;

    AVDictionary* opts = nullptr;
    // Raw H.264 carries no timestamps: the raw demuxer's rate when the SPS has none.
    std::string rate = std::to_string(options_.fps.num) + "/" + std::to_string(options_.fps.den);
    av_dict_set(&opts, "framerate", rate.c_str(), 0);
    std::string url = location_;
    if (kind_ == Kind::File) url = "file:" + location_;
    if (kind_ == Kind::Stdin) url = "pipe:0";
    if (kind_ == Kind::Url) {
        av_dict_set(&opts, "rw_timeout", "5000000", 0);  // µs: a silent peer is a failure
        av_dict_set(&opts, "timeout", "5000000", 0);
    }
    if (kind_ != Kind::File) {
        // Live input: every probed frame is start-up latency.
        format_->max_analyze_duration = AV_TIME_BASE / 2;
        format_->probesize = 1 << 20;
    }

    int ret = avformat_open_input(&format_, url.c_str(), nullptr, &opts);
    av_dict_free(&opts);
    if (ret < 0) {
        format_ = nullptr;  // freed by avformat_open_input on failure
        bool permanent =
            kind_ == Kind::File &&
            (ret == AVERROR(ENOENT) || ret == AVERROR_INVALIDDATA || ret == AVERROR(EACCES));
        throw SourceError("cannot open " + what + ": " + avError(ret), permanent);
    }
    ret = avformat_find_stream_info(format_, nullptr);
    if (ret < 0)
        throw SourceError("cannot read stream info of " + what + ": " + avError(ret),
                          kind_ == Kind::File);
    streamIndex_ = av_find_best_stream(format_, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
    if (streamIndex_ < 0) throw SourceError(what + " has no video stream", true);
    AVStream* st = format_->streams[streamIndex_];
    for (unsigned i = 0; i < format_->nb_streams; ++i) {
        if (static_cast<int>(i) != streamIndex_) format_->streams[i]->discard = AVDISCARD_ALL;
    }
    const AVCodecParameters* par = st->codecpar;
    if (par->codec_id != AV_CODEC_ID_H264) {
        throw SourceError(what + " is " + avcodec_get_name(par->codec_id) +
                              " video, not H.264: hlsd repackages H.264 without re-encoding; "
                              "convert it first, e.g. ffmpeg -i IN -c:v libx264 OUT.mp4",
                          true);
    }
    if (par->width <= 0 || par->height <= 0) {
        throw SourceError(what + ": cannot find the H.264 picture size (no SPS yet?)", false);
    }
    timeBaseNum_ = st->time_base.num;
    timeBaseDen_ = st->time_base.den;

    StreamInfo info;
    info.width = par->width;
    info.height = par->height;
    AVRational fr = st->avg_frame_rate.num > 0 ? st->avg_frame_rate : st->r_frame_rate;
    // A rate nobody films at (a damaged header, a 90 kHz tick taken for a frame rate) would
    // make every generated timestamp and missing duration absurd: the configured fps instead.
    if (fr.num <= 0 || fr.den <= 0 || av_q2d(fr) < kMinFps || av_q2d(fr) > kMaxFps) {
        fr = AVRational{options_.fps.num, options_.fps.den};
    }
    rate_ = Rational{fr.num, fr.den};
    info.frameRate = rate_;

    // MP4/MKV/FLV carry length-prefixed NAL units; MPEG-TS wants start codes.
    if (par->extradata_size > 0 && par->extradata[0] == 1) {
        const AVBitStreamFilter* filter = av_bsf_get_by_name("h264_mp4toannexb");
        if (!filter || av_bsf_alloc(filter, &bsf_) < 0) {
            throw SourceError("h264_mp4toannexb is missing from libavcodec", true);
        }
        avcodec_parameters_copy(bsf_->par_in, par);
        bsf_->time_base_in = st->time_base;
        ret = av_bsf_init(bsf_);
        if (ret < 0)
            throw SourceError("cannot convert " + what + " to Annex B: " + avError(ret), true);
        const AVCodecParameters* out = bsf_->par_out;
        info.extradata.assign(out->extradata, out->extradata + out->extradata_size);
    } else if (par->extradata_size > 0) {
        info.extradata = h264::parameterSets(par->extradata, par->extradata_size);
    }

    generate_ = std::string(format_->iformat->name) == "h264";
    reorderDelay_ = par->video_delay;
    if (generate_) {
        parserContext_ = avcodec_alloc_context3(nullptr);
        avcodec_parameters_to_context(parserContext_, par);
        parser_ = av_parser_init(AV_CODEC_ID_H264);
        if (parser_) parser_->flags |= PARSER_FLAG_COMPLETE_FRAMES;
    }
    frameIndex_ = 0;
    gopBase_ = 0;
    haveLastDts_ = false;
    pacer_.reset();

    const char* profile = avcodec_profile_name(par->codec_id, par->profile);
    info.description = std::string("h264 (") + (profile ? profile : "?") + ") " +
                       std::to_string(par->width) + "x" + std::to_string(par->height) + " " +
                       std::to_string(rate_.toDouble()).substr(0, 5) + " fps via " +
                       format_->iformat->name +
                       (generate_ ? ", timestamps from the frame rate" : "");
    return info;
}

void DemuxSource::generateTimestamps(const AVPacket* pkt, EncodedPacket& out) {
    const int64_t index = frameIndex_++;
    auto ticks = [this](int64_t frames) {
        return av_rescale(frames, kTimeBase * rate_.den, rate_.num);
    };
    if (h264::contains(h264::nalTypes(out.data), h264::kIdr)) gopBase_ = index;
    int64_t ptsIndex = index;
    if (parser_) {
        uint8_t* unused = nullptr;
        int unusedSize = 0;
        // The packet's own buffer, not out.data: the parser reads up to
        // AV_INPUT_BUFFER_PADDING_SIZE bytes past the end, which only an AVPacket has.
        av_parser_parse2(parser_, parserContext_, &unused, &unusedSize, pkt->data, pkt->size,
                         AV_NOPTS_VALUE, AV_NOPTS_VALUE, 0);
        // The parser leaves the picture order count here: 2 per frame, 0 at each IDR.
        int poc = parser_->output_picture_number;
        if (poc >= 0) ptsIndex = gopBase_ + poc / 2 + reorderDelay_;
    }
    if (ptsIndex < index) {
        if (!warnedReorder_) {
            warnedReorder_ = true;
            logger("source")->warn(
                "{}: frame reordering deeper than the SPS says; some "
                "presentation times are approximated",
                name());
        }
        ptsIndex = index;
    }
    out.dts = ticks(index);
    out.pts = ticks(ptsIndex);
    out.duration = ticks(1);
}

std::optional<EncodedPacket> DemuxSource::convert(AVPacket* pkt) {
    EncodedPacket out;
    out.data.assign(pkt->data, pkt->data + pkt->size);
    out.keyframe = pkt->flags & AV_PKT_FLAG_KEY;
    const AVRational from{timeBaseNum_, timeBaseDen_};
    const int64_t frameTicks = av_rescale(1, kTimeBase * rate_.den, rate_.num);
    if (generate_) {
        generateTimestamps(pkt, out);
    } else {
        const int64_t dts = toTicks(pkt->dts, from);
        const int64_t pts = toTicks(pkt->pts, from);
        const int64_t duration = pkt->duration > 0 ? toTicks(pkt->duration, from) : 0;
        if (dts != AV_NOPTS_VALUE) {
            out.dts = dts;
        } else if (pts != AV_NOPTS_VALUE && !haveLastDts_) {
            out.dts = pts;
        } else {
            out.dts = haveLastDts_ ? std::min(lastDts_ + frameTicks, kMaxTicks) : 0;
        }
        out.pts = pts != AV_NOPTS_VALUE ? pts : out.dts;
        out.duration = duration > 0 ? duration : frameTicks;
    }
    av_packet_unref(pkt);
    lastDts_ = out.dts;
    haveLastDts_ = true;
    if (!pacer_.pace(out.dts, out.captureTime)) return std::nullopt;
    return out;
}

std::optional<EncodedPacket> DemuxSource::read() {
    if (!format_) throw SourceError(name() + " is not open", false);
    for (;;) {
        if (bsf_) {
            int ret = av_bsf_receive_packet(bsf_, packet_);
            if (ret == 0) return convert(packet_);
            if (ret != AVERROR(EAGAIN) && ret != AVERROR_EOF) {
                throw SourceError(name() + ": Annex B conversion failed: " + avError(ret), false);
            }
        }
        if (interrupter_.triggered()) return std::nullopt;
        int ret = av_read_frame(format_, packet_);
        if (ret == AVERROR_EOF || (ret < 0 && interrupter_.triggered())) return std::nullopt;
        if (ret == AVERROR_EXIT) return std::nullopt;
        if (ret < 0) throw SourceError(name() + ": read failed: " + avError(ret), false);
        if (packet_->stream_index != streamIndex_ || packet_->size <= 0) {
            av_packet_unref(packet_);
            continue;
        }
        if (!bsf_) return convert(packet_);
        ret = av_bsf_send_packet(bsf_, packet_);
        av_packet_unref(packet_);
        if (ret < 0)
            throw SourceError(name() + ": Annex B conversion failed: " + avError(ret), false);
    }
}

void DemuxSource::close() {
    av_parser_close(parser_);
    parser_ = nullptr;
    avcodec_free_context(&parserContext_);
    av_bsf_free(&bsf_);
    av_packet_free(&packet_);
    if (format_) avformat_close_input(&format_);
}

}  // namespace hlsd
