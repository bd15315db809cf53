#include "segmenter/ts_muxer.h"

#include <algorithm>

extern "C" {
#include <libavformat/avformat.h>
#include <libavutil/opt.h>
}

namespace hlsd {

namespace {

// Web players rewrite MPEG-TS into MP4 with its 90 kHz times (hls.js, mux.js), and Chromium
// keeps media time in whole microseconds, rounding each sample's time and duration down: a
// 30 fps frame that starts at 3.9666667 s and lasts 33333.3 µs ends at 3.999999 s, 1 µs
// before the next part, and hls.js, looking up the part after its buffer's end, found the one it
// had and stalled until that segment left the playlist (README, Players; fmp4_muxer.cpp solves
// the same with a microsecond timescale). 9 ticks are 100 µs: a time on that grid is exact in
// both. hls.js gives a fragment's last frame the duration of the frame before it, so a part's
// last frame is placed where that duration reaches the part's end: at most 100 µs plus half the
// source's jitter later than it was, and before the next frame. That is why each frame waits
// here for the next one or for the part's end; the part is published no later for it.
constexpr int64_t kGrid = 9;

int64_t floorToGrid(int64_t t) {
    const int64_t q = t / kGrid * kGrid;
    return q > t ? q - kGrid : q;
}

int64_t ceilToGrid(int64_t t) {
    return -floorToGrid(-t);
}

}  // namespace

TsMuxer::TsMuxer(const StreamInfo& info) : output_("mpegts", info) {
    output_.writeHeader(nullptr);
}

void TsMuxer::write(const uint8_t* data, size_t size, int64_t pts, int64_t dts, int64_t duration,
                    bool keyframe) {
    flushHeld(-1);  // it did not end its part after all
    if (holdNext_) {
        holdNext_ = false;
        held_ = Frame{std::vector<uint8_t>(data, data + size), pts, dts, duration, keyframe};
        return;
    }
    mux(data, size, pts, dts, duration, keyframe, -1);
}

std::vector<uint8_t> TsMuxer::take() {
    flushHeld(partEnd_);
    partEnd_ = -1;
    return output_.take();
}

void TsMuxer::flushHeld(int64_t partEnd) {
    if (!held_) return;
    const Frame f = std::move(*held_);
    held_.reset();
    mux(f.data.data(), f.data.size(), f.pts, f.dts, f.duration, f.keyframe, partEnd);
}

void TsMuxer::mux(const uint8_t* data, size_t size, int64_t pts, int64_t dts, int64_t duration,
                  bool keyframe, int64_t partEnd) {
    int64_t outDts = floorToGrid(dts);
    // Only without reordering: with B-frames the last frame decoded is not the last shown.
    if (partEnd >= 0 && lastDts_ >= 0 && pts == dts) {
        const int64_t reaching = ceilToGrid(std::max(dts, (lastDts_ + partEnd + 1) / 2));
        if (reaching < partEnd) outDts = reaching;
    }
    if (lastDts_ >= 0) outDts = std::max(outDts, lastDts_ + kGrid);
    const int64_t outPts = pts == dts ? outDts : std::max(floorToGrid(pts), outDts);
    lastDts_ = outDts;
    output_.write(data, size, outPts, outDts, duration, keyframe);
}

void TsMuxer::startPart() {
    flushHeld(-1);  // the tables go before the part's first frame, not the last one's
    av_opt_set(output_.context()->priv_data, "mpegts_flags", "+resend_headers", 0);
}

}  // namespace hlsd
