#include "hlsd/source.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "source/h264.h"

namespace hlsd {
namespace {

const std::string kMedia = HLSD_TEST_MEDIA;

SourceOptions fileOptions(const std::string& name) {
    SourceOptions o;
    o.spec = "file:" + kMedia + "/" + name;
    o.realtime = false;
    return o;
}

std::string openError(const std::string& spec) {
    SourceOptions o;
    o.spec = spec;
    o.realtime = false;
    auto source = makeSource(o);
    try {
        source->open();
    } catch (const SourceError& e) {
        EXPECT_TRUE(e.permanent()) << e.what();
        return e.what();
    }
    return "";
}

TEST(DemuxSource, RefusesOtherCodecsNamingThem) {
    EXPECT_NE(openError("file:" + kMedia + "/mpeg2.ts").find("is mpeg2video video, not H.264"),
              std::string::npos);
    EXPECT_NE(openError("file:" + kMedia + "/hevc.mp4").find("is hevc video, not H.264"),
              std::string::npos);
}

TEST(DemuxSource, MissingFileIsPermanent) {
    EXPECT_EQ(openError("file:/nonexistent/video.mp4"),
              "file /nonexistent/video.mp4: no such file");
}

TEST(DemuxSource, Mp4BecomesAnnexBWithParameterSets) {
    auto source = makeSource(fileOptions("1080p30_gop30.mp4"));
    StreamInfo info = source->open();
    EXPECT_EQ(info.width, 1920);
    EXPECT_EQ(info.height, 1080);
    EXPECT_EQ(info.frameRate.toDouble(), 30.0);
    ASSERT_FALSE(info.extradata.empty());
    EXPECT_EQ(h264::nalTypes(info.extradata), (std::vector<int>{h264::kSps, h264::kPps}));
    int count = 0, keys = 0;
    int64_t lastDts = -1;
    while (auto p = source->read()) {
        EXPECT_TRUE(h264::isAnnexB(p->data.data(), p->data.size()));
        if (p->keyframe) {
            ++keys;
            auto types = h264::nalTypes(p->data);
            EXPECT_TRUE(h264::contains(types, h264::kIdr));
            EXPECT_TRUE(h264::contains(types, h264::kSps));  // inserted by mp4toannexb
        }
        EXPECT_GT(p->dts, lastDts);
        EXPECT_EQ(p->duration, 3000);
        lastDts = p->dts;
        ++count;
    }
    EXPECT_EQ(count, 180);
    EXPECT_EQ(keys, 6);
}

// Raw H.264 has no timestamps: they come from the frame rate, and with B-frames the
// presentation times must be a permutation of the decode times (each frame its own slot).
void expectGeneratedTimestamps(const std::string& name, bool bframes) {
    auto source = makeSource(fileOptions(name));
    StreamInfo info = source->open();
    EXPECT_NE(info.description.find("timestamps from the frame rate"), std::string::npos);
    std::vector<int64_t> pts, dts;
    bool reordered = false;
    while (auto p = source->read()) {
        EXPECT_GE(p->pts, p->dts);
        if (!pts.empty() && p->pts < pts.back()) reordered = true;
        pts.push_back(p->pts);
        dts.push_back(p->dts);
    }
    ASSERT_EQ(dts.size(), 180u);
    EXPECT_EQ(reordered, bframes);
    std::sort(pts.begin(), pts.end());
    const int64_t shift = pts.front() - dts.front();
    for (size_t i = 0; i < dts.size(); ++i) {
        EXPECT_EQ(dts[i], static_cast<int64_t>(i) * 3000);
        EXPECT_EQ(pts[i] - shift, dts[i]) << "frame " << i;
    }
}

TEST(DemuxSource, RawStreamTimestampsFromFrameRate) {
    expectGeneratedTimestamps("720p30_gop30.h264", false);
}

TEST(DemuxSource, RawStreamWithBFramesGetsPresentationOrder) {
    expectGeneratedTimestamps("720p30_gop30_bf.h264", true);
}

TEST(DemuxSource, InterruptStopsAPacedRead) {
    SourceOptions o = fileOptions("360p30_gop30_30s.mp4");
    o.realtime = true;
    auto source = makeSource(o);
    source->open();
    ASSERT_TRUE(source->read());
    source->interrupt();
    EXPECT_FALSE(source->read());
}

// An MKV whose timestamps (~1e14 s) do not fit 64 bits in 90 kHz ticks (a crafted file from
// the fuzz regressions). They come out as missing: dts continues by the frame duration and
// pts = dts; never av_rescale's overflow mark INT64_MIN, on which the segmenter's sums
// overflowed (UBSan in fuzz_input).
TEST(DemuxSource, TimestampsOutOfRangeAreTakenAsMissing) {
    SourceOptions o;
    o.spec = std::string("file:") + HLSD_SOURCE_DIR +
             "/fuzz/regressions/input/mkv-timestamps-past-int64-ticks";
    o.realtime = false;
    auto source = makeSource(o);
    source->open();
    constexpr int64_t kLimit = int64_t{1} << 53;
    int count = 0;
    int64_t lastDts = -1;
    while (auto p = source->read()) {
        EXPECT_GT(p->dts, lastDts);
        EXPECT_LE(p->dts, kLimit);
        EXPECT_GE(p->pts, p->dts);
        EXPECT_LE(p->pts, kLimit);
        EXPECT_GT(p->duration, 0);
        lastDts = p->dts;
        ++count;
    }
    EXPECT_EQ(count, 10);
}

}  // namespace
}  // namespace hlsd
