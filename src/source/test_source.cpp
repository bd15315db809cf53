#include "source/test_source.h"

#include <cmath>
#include <cstdio>

#include "hlsd/log.h"
#include "source/av_error.h"

extern "C" {
#include <libavfilter/avfilter.h>
#include <libavfilter/buffersink.h>
#include <libavutil/frame.h>
}

namespace hlsd {

TestSource::TestSource(const SourceOptions& options)
    : options_(options), encoderOptions_(encoderOptionsFor(options)) {}

TestSource::~TestSource() {
    close();
}

void TestSource::buildGraph(bool withClock) {
    avfilter_graph_free(&graph_);
    graph_ = avfilter_graph_alloc();
    if (!graph_) throw SourceError("out of memory creating the test pattern", true);
    int ret = avfilter_graph_create_filter(&sink_, avfilter_get_by_name("buffersink"), "out",
                                           nullptr, nullptr, graph_);
    if (ret < 0) throw SourceError("cannot create buffersink: " + avError(ret), true);

    // The drawn clock is UTC time of day of each frame's capture: pts (seconds since start)
    // plus the start's seconds since midnight.
    auto sinceEpoch = std::chrono::duration<double>(startWall_.time_since_epoch()).count();
    double sinceMidnight = std::fmod(sinceEpoch, 86400.0);
    char desc[1024];
    int fontSize = std::max(12, options_.height / 18);
    if (withClock) {
        std::snprintf(desc, sizeof desc,
                      "testsrc2=size=%dx%d:rate=%d/%d,"
                      "drawtext=font=monospace:fontsize=%d:fontcolor=white:box=1:"
                      "boxcolor=black@0.6:boxborderw=8:x=(w-tw)/2:y=h-th-2*%d:"
                      "text='hlsd  UTC %%{pts\\:hms\\:%.3f}',format=yuv420p",
                      options_.width, options_.height, options_.fps.num, options_.fps.den, fontSize,
                      fontSize, sinceMidnight);
    } else {
        std::snprintf(desc, sizeof desc, "testsrc2=size=%dx%d:rate=%d/%d,format=yuv420p",
                      options_.width, options_.height, options_.fps.num, options_.fps.den);
    }
    AVFilterInOut* inputs = avfilter_inout_alloc();
    inputs->name = av_strdup("out");
    inputs->filter_ctx = sink_;
    inputs->pad_idx = 0;
    inputs->next = nullptr;
    AVFilterInOut* outputs = nullptr;
    ret = avfilter_graph_parse_ptr(graph_, desc, &inputs, &outputs, nullptr);
    avfilter_inout_free(&inputs);
    avfilter_inout_free(&outputs);
    if (ret >= 0) ret = avfilter_graph_config(graph_, nullptr);
    if (ret < 0) {
        throw SourceError(std::string("cannot build the test pattern filter graph (") + desc +
                              "): " + avError(ret),
                          true);
    }
}

StreamInfo TestSource::open() {
    close();
    startSteady_ = std::chrono::steady_clock::now();
    startWall_ = WallClock::now();
    try {
        buildGraph(true);
    } catch (const SourceError& e) {
        logger("source")->warn("test pattern without the clock (no drawtext/font?): {}", e.what());
        buildGraph(false);
    }
    encoder_ = openEncoder(encoderOptions_, options_.camera.encoder, options_.camera.encoderDevice);
    frame_ = av_frame_alloc();
    frameIndex_ = 0;
    warnedLate_ = false;
    return encoder_->streamInfo();
}

std::optional<EncodedPacket> TestSource::read() {
    using namespace std::chrono;
    for (;;) {
        if (auto p = encoder_->receive()) return p;
        if (interrupter_.triggered()) return std::nullopt;
        auto offset = duration<double>(frameIndex_ / options_.fps.toDouble());
        auto due = startSteady_ + duration_cast<steady_clock::duration>(offset);
        if (options_.realtime) {
            auto now = steady_clock::now();
            if (!warnedLate_ && now - due > seconds(1)) {
                warnedLate_ = true;
                logger("source")->warn(
                    "the test pattern runs late: this machine encodes {}x{} at {:.3g} fps "
                    "slower than real time; lower width/height/fps",
                    options_.width, options_.height, options_.fps.toDouble());
            }
            if (!interrupter_.sleepUntil(due)) return std::nullopt;
        }
        int ret = av_buffersink_get_frame(sink_, frame_);
        if (ret < 0) throw SourceError("test pattern stopped: " + avError(ret), false);
        frame_->pts = frameIndex_;
        frame_->pict_type = AV_PICTURE_TYPE_NONE;
        encoder_->send(frame_, startWall_ + duration_cast<WallClock::duration>(offset));
        av_frame_unref(frame_);
        ++frameIndex_;
    }
}

void TestSource::close() {
    encoder_.reset();
    av_frame_free(&frame_);
    avfilter_graph_free(&graph_);
    sink_ = nullptr;
}

}  // namespace hlsd
