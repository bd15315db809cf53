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
// in AvOutput's 64 KiB buffer: at most 16 bytes a sample plus ~120, hence the fragment cap below.
// (A moof larger than the buffer comes out with a size of 0.)
constexpr int kMaxFragmentSamples = 2048;

// frag_custom: a fragment ends only when asked (take(), startPart()). empty_moov: the
// header writes the moov, announcing no samples. default_base_moof: trun offsets count from
// the moof, so a fragment stands apart from the bytes before it. cmaf: CMAF brands, no edit
// list, and signed composition offsets relative to the first sample's (presentation time =
// pts - the first packet's pts - dts; without B-frames, the pts). skip_trailer: no mfra at
// the end; without it the muxer also keeps a tfra entry per fragment for the muxer's life
// (measured: 40 bytes a fragment).
// Microseconds: browsers keep media time in whole microseconds and round each sample's time
// and duration down; in 90 kHz ticks a 30 fps part that ends at 3.0 s ended at 2.999999 in
// Chromium's buffer, 1 µs before the next part, and hls.js, looking the next fragment up at
// the buffer's end without tolerance, stalled on the part it had (README, Players). With
// sample times in whole microseconds, every sample ends exactly where the next begins.
constexpr int64_t kTrackTimescale = 1'000'000;
int64_t toTrack(int64_t ticks) {
    return av_rescale(ticks, kTrackTimescale, kTimeBase);
}

constexpr const char* kMovFlags = "frag_custom+empty_moov+default_base_moof+cmaf+skip_trailer";

// Without SPS and PPS the moov's avcC would be empty (the muxer writes it regardless).
const StreamInfo& checkedInfo(const StreamInfo& info) {
    const auto types = h264::nalTypes(info.extradata);
    if (!h264::contains(types, h264::kSps) || !h264::contains(types, h264::kPps))
        throw std::runtime_error("fMP4 muxer needs the stream's SPS and PPS before its packets");
    return info;
}

}  // namespace

Fmp4Muxer::Fmp4Muxer(const StreamInfo& info) : output_("mp4", checkedInfo(info)) {
    AVDictionary* opts = nullptr;
    av_dict_set(&opts, "movflags", kMovFlags, 0);
    av_dict_set(&opts, "video_track_timescale", std::to_string(kTrackTimescale).c_str(), 0);
    // tfdt = dts as given.
    if (output_.writeHeader(opts) > 0)
        throw std::runtime_error("mp4 muxer ignored an option (" + std::string(kMovFlags) + ")");
    const AVStream* st = output_.stream();
    if (st->time_base.num != 1 || st->time_base.den != kTrackTimescale)
        throw std::runtime_error("mp4 muxer changed the time base to " +
                                 std::to_string(st->time_base.num) + "/" +
                                 std::to_string(st->time_base.den));
    init_ = output_.take();
}

void Fmp4Muxer::startPart() {
    if (fragmentSamples_ > 0) flushFragment();
}

void Fmp4Muxer::write(const uint8_t* data, size_t size, int64_t pts, int64_t dts, int64_t duration,
                      bool keyframe) {
    if (fragmentSamples_ >= kMaxFragmentSamples) flushFragment();
    // (The muxer rewrites the payload length-prefixed into its mdat buffer.)
    const int64_t start = toTrack(dts);
    output_.write(data, size, toTrack(pts), start, toTrack(dts + duration) - start, keyframe);
    ++fragmentSamples_;
}

void Fmp4Muxer::flushFragment() {
    // frag_custom: a null packet writes the moof + mdat of the samples since the last one.
    int ret = av_write_frame(output_.context(), nullptr);
    if (ret < 0) throw std::runtime_error("mp4 muxer failed to end a fragment: " + avError(ret));
    fragmentSamples_ = 0;
}

std::vector<uint8_t> Fmp4Muxer::take() {
    if (fragmentSamples_ > 0) flushFragment();
    return output_.take();
}

}  // namespace hlsd
