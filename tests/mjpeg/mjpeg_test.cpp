// The MJPEG path without a server: H.264 decoded and encoded to JPEG at the configured size;
// the hub makes pictures only while watched or asked, from the newest keyframe, each once; the
// multipart stream gives the newest picture and counts what a slow client skipped.
#include "hlsd/mjpeg.h"

#include <gtest/gtest.h>
#include <turbojpeg.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "http/mjpeg_stream.h"
#include "mjpeg/frame_jpeg.h"
#include "source/encode_frames.h"

extern "C" {
#include <libavutil/frame.h>
}

namespace hlsd::test {
namespace {

using namespace std::chrono_literals;

struct Size {
    int width = 0, height = 0;
};

// What TurboJPEG reads from a JPEG's header; 0×0 when it is not one.
Size jpegSizeOf(const std::vector<uint8_t>& jpeg) {
    tjhandle t = tjInitDecompress();
    int w = 0, h = 0, sub = 0, colours = 0;
    const bool ok = tjDecompressHeader3(t, jpeg.data(), jpeg.size(), &w, &h, &sub, &colours) == 0;
    tjDestroy(t);
    return ok ? Size{w, h} : Size{};
}

bool wholeJpeg(const std::vector<uint8_t>& j) {
    return j.size() > 4 && j[0] == 0xFF && j[1] == 0xD8 && j[j.size() - 2] == 0xFF &&
           j.back() == 0xD9;
}

struct CountingSink : PacketSink {
    int runs = 0, packets = 0;
    void beginRun(const StreamInfo&) override { ++runs; }
    void push(const EncodedPacket&) override { ++packets; }
    void endRun() override {}
};

template <typename F>
bool eventually(F&& condition, std::chrono::milliseconds limit = 5000ms) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (!condition()) {
        if (std::chrono::steady_clock::now() > end) return false;
        std::this_thread::sleep_for(5ms);
    }
    return true;
}

TEST(JpegEncoder, EncodesTheSourceSizeOrTheConfiguredOne) {
    const auto packets = encodeFrames(5, smallStream(5));
    H264Decoder decoder({});
    int pictures = 0;
    for (const auto& p : packets) {
        decoder.decode(p, [&](const AVFrame& picture) {
            ++pictures;
            int w = 0, h = 0;
            JpegEncoder same({80, 0, 0});
            const auto full = same.encode(picture, w, h);
            EXPECT_TRUE(wholeJpeg(full));
            EXPECT_EQ(w, 320);
            EXPECT_EQ(jpegSizeOf(full).width, 320);
            EXPECT_EQ(jpegSizeOf(full).height, 240);
            JpegEncoder half({80, 160, 0});  // height in proportion
            const auto small = half.encode(picture, w, h);
            EXPECT_EQ(jpegSizeOf(small).width, 160);
            EXPECT_EQ(jpegSizeOf(small).height, 120);
            EXPECT_LT(small.size(), full.size());
        });
    }
    EXPECT_EQ(pictures, 5);
}

// Decoders give TV-range pictures (Y 16..235); JPEG's YCbCr is full range. Without the
// conversion (libswscale skips it on an unscaled copy) every picture is washed out.
TEST(JpegEncoder, TvRangeBecomesFullRange) {
    AVFrame* f = av_frame_alloc();
    f->format = AV_PIX_FMT_YUV420P;
    f->width = 64;
    f->height = 32;
    f->color_range = AVCOL_RANGE_MPEG;
    ASSERT_EQ(av_frame_get_buffer(f, 0), 0);
    for (int y = 0; y < 32; ++y) {  // left half TV white, right half TV black
        for (int x = 0; x < 64; ++x) f->data[0][y * f->linesize[0] + x] = x < 32 ? 235 : 16;
    }
    for (int p = 1; p < 3; ++p) {
        for (int y = 0; y < 16; ++y) std::memset(f->data[p] + y * f->linesize[p], 128, 32);
    }
    for (const int width : {0, 32}) {  // unscaled, and scaled
        JpegEncoder encoder({95, width, 0});
        int w = 0, h = 0;
        const auto jpeg = encoder.encode(*f, w, h);
        std::vector<uint8_t> gray(static_cast<size_t>(w * h));
        tjhandle t = tjInitDecompress();
        ASSERT_EQ(tjDecompress2(t, jpeg.data(), jpeg.size(), gray.data(), w, w, h, TJPF_GRAY, 0),
                  0);
        tjDestroy(t);
        EXPECT_GE(gray[static_cast<size_t>(h / 2 * w + 4)], 250) << "white, width " << w;
        EXPECT_LE(gray[static_cast<size_t>(h / 2 * w + w - 4)], 5) << "black, width " << w;
    }
    av_frame_free(&f);
}

TEST(JpegEncoder, SizesAreEvenAndKeepProportions) {
    int w = 0, h = 0;
    jpegSize({80, 0, 0}, 1920, 1080, w, h);
    EXPECT_EQ(w, 1920);
    EXPECT_EQ(h, 1080);
    jpegSize({80, 0, 360}, 1920, 1080, w, h);
    EXPECT_EQ(w, 640);
    jpegSize({80, 101, 0}, 1920, 1080, w, h);
    EXPECT_EQ(w, 100);
    EXPECT_EQ(h, 56);
}

// Cost only when watched: with nobody watching, packets pass through and nothing is decoded.
TEST(MjpegHub, DecodesNothingUntilWatchedThenEachFrameOnce) {
    CountingSink sink;
    MjpegOptions o;
    o.linger = 0ms;
    MjpegHub hub(o, sink);
    hub.start();
    const auto packets = encodeFrames(40, smallStream(10));
    hub.beginRun(StreamInfo{});
    for (int i = 0; i < 20; ++i) hub.push(packets[i]);
    std::this_thread::sleep_for(100ms);
    EXPECT_EQ(sink.runs, 1);
    EXPECT_EQ(sink.packets, 20) << "every packet goes on to the segmenter";
    EXPECT_EQ(hub.stats().decoded, 0u);
    EXPECT_EQ(hub.stats().encoded, 0u);
    EXPECT_FALSE(hub.running());
    EXPECT_EQ(hub.latest(), nullptr);

    {
        auto watching = hub.watch();
        // The newest keyframe's GOP (packets 10..19) is decoded at once: one picture of it.
        ASSERT_TRUE(eventually([&] { return hub.latest() != nullptr; }));
        EXPECT_EQ(hub.stats().decoded, 10u);
        EXPECT_TRUE(hub.running());
        for (int i = 20; i < 30; ++i) {
            const uint64_t before = hub.latest()->seq;
            hub.push(packets[i]);
            ASSERT_TRUE(eventually([&] { return hub.latest()->seq == before + 1; })) << i;
        }
        EXPECT_EQ(hub.stats().decoded, 20u);
        EXPECT_EQ(hub.stats().viewers, 1);
    }
    ASSERT_TRUE(eventually([&] { return !hub.running(); })) << "stops when nobody watches";
    const auto stats = hub.stats();
    for (int i = 30; i < 40; ++i) hub.push(packets[i]);
    std::this_thread::sleep_for(100ms);
    EXPECT_EQ(hub.stats().decoded, stats.decoded);
    EXPECT_EQ(hub.stats().encoded, stats.encoded);
    EXPECT_EQ(sink.packets, 40);
    hub.stop();
}

// A snapshot with nobody watching: decoded from the newest keyframe on, never from older ones.
TEST(MjpegHub, WantMakesAPictureFromTheNewestKeyframe) {
    CountingSink sink;
    MjpegHub hub({}, sink);
    hub.start();
    const auto packets = encodeFrames(25, smallStream(10));
    hub.beginRun(StreamInfo{});
    for (const auto& p : packets) hub.push(p);
    hub.want();
    ASSERT_TRUE(eventually([&] { return hub.latest() != nullptr; }));
    const auto f = hub.latest();
    EXPECT_EQ(hub.stats().decoded, 5u) << "packets 20..24: the newest keyframe's";
    EXPECT_EQ(hub.stats().encoded, 1u) << "a backlog is one picture";
    EXPECT_EQ(f->captureTime, packets.back().captureTime);
    EXPECT_TRUE(wholeJpeg(f->data));
    EXPECT_NE(f->partHead.find("Content-Length: " + std::to_string(f->data.size()) + "\r\n"),
              std::string::npos);
    EXPECT_NE(f->partHead.find("X-Timestamp: " + f->timestamp + "\r\n\r\n"), std::string::npos);
    EXPECT_EQ(f->partHead.rfind(std::string("--") + kMjpegBoundary + "\r\n", 0), 0u);
    hub.stop();
}

// The camera and the test pattern hand over the pictures they encode: nothing is decoded, and
// nothing is taken while nobody watches.
TEST(MjpegHub, RawPicturesFromTheEncoderAreUsedWithoutDecoding) {
    CountingSink sink;
    MjpegOptions o;
    o.rawFrames = true;
    MjpegHub hub(o, sink);
    hub.start();
    EncoderOptions e = smallStream(10);
    e.frameTap = &hub;
    encodeFrames(10, e);
    std::this_thread::sleep_for(100ms);
    EXPECT_FALSE(hub.wantsFrames());
    EXPECT_EQ(hub.stats().encoded, 0u) << "offered while nobody watched";
    auto watching = hub.watch();
    EXPECT_TRUE(hub.wantsFrames());
    const auto start = WallClock::now();
    const auto packets = encodeFrames(10, e, 0, start);
    ASSERT_TRUE(eventually([&] { return hub.latest() != nullptr; }));
    const auto f = hub.latest();
    EXPECT_EQ(f->width, 320);
    EXPECT_EQ(f->height, 240);
    EXPECT_GE(f->captureTime, start);
    EXPECT_LE(f->captureTime, packets.back().captureTime);
    EXPECT_EQ(hub.stats().decoded, 0u);
    EXPECT_GE(hub.stats().encoded, 1u);
    hub.stop();
}

TEST(MjpegHub, CapsThePictureRate) {
    CountingSink sink;
    MjpegOptions o;
    o.fps = 10;  // a 30 fps source: every third frame
    MjpegHub hub(o, sink);
    hub.start();
    const auto packets = encodeFrames(31, smallStream(40));
    hub.beginRun(StreamInfo{});
    auto watching = hub.watch();
    for (const auto& p : packets) {
        const uint64_t decoded = hub.stats().decoded;
        hub.push(p);
        ASSERT_TRUE(eventually([&] { return hub.stats().decoded == decoded + 1; }));
    }
    // A picture is counted as decoded before it is encoded: the last one may still be in the
    // encoder (slow under qemu). Too many encoded shows at once; too few waits out the limit.
    EXPECT_TRUE(eventually([&] { return hub.stats().encoded >= 11; }));
    EXPECT_EQ(hub.stats().encoded, 11u) << "frames 0, 3, ..., 30";
    hub.stop();
}

std::string text(const BodyChunk& c) {
    return std::string(reinterpret_cast<const char*>(c.data), c.size);
}

TEST(MjpegStream, GivesTheNewestPictureOnceAndCountsWhatASlowClientSkipped) {
    CountingSink sink;
    MjpegHub hub({}, sink);
    hub.start();
    const auto packets = encodeFrames(20, smallStream(20));
    hub.beginRun(StreamInfo{});
    MjpegStream stream(hub, 0);
    std::vector<BodyChunk> out;
    EXPECT_EQ(stream.next(out), BodyStream::Status::Wait) << "no picture yet";
    EXPECT_TRUE(hub.stats().viewers == 1) << "watching from its first call";
    hub.push(packets[0]);
    ASSERT_TRUE(eventually([&] { return hub.latest() != nullptr; }));
    ASSERT_EQ(stream.next(out), BodyStream::Status::More);
    ASSERT_EQ(out.size(), 3u);
    const auto first = hub.latest();
    EXPECT_EQ(text(out[0]), first->partHead);
    EXPECT_EQ(out[1].size, first->data.size());
    EXPECT_EQ(text(out[2]), "\r\n");
    out.clear();
    // Sent; before anything new it waits (nothing is given twice).
    EXPECT_EQ(stream.next(out), BodyStream::Status::Wait);
    hub.push(packets[1]);
    ASSERT_TRUE(eventually([&] { return hub.latest()->seq == first->seq + 1; }));
    ASSERT_EQ(stream.next(out), BodyStream::Status::More);
    out.clear();
    // Still sending that one while three more are made: the newest comes next, two skipped.
    for (int i = 2; i < 5; ++i) {
        const uint64_t seq = hub.latest()->seq;
        hub.push(packets[i]);
        ASSERT_TRUE(eventually([&] { return hub.latest()->seq == seq + 1; }));
    }
    ASSERT_EQ(stream.next(out), BodyStream::Status::More);
    EXPECT_EQ(text(out[0]), hub.latest()->partHead);
    EXPECT_EQ(hub.stats().dropped, 2u);
    hub.stop();
}

TEST(MjpegStream, AskedFpsLimitsOneClient) {
    CountingSink sink;
    MjpegHub hub({}, sink);
    hub.start();
    const auto packets = encodeFrames(31, smallStream(40));
    hub.beginRun(StreamInfo{});
    MjpegStream slow(hub, 5);  // every sixth of 30 fps
    std::vector<BodyChunk> out;
    ASSERT_EQ(slow.next(out), BodyStream::Status::Wait);  // watching from here
    int given = 0;
    for (const auto& p : packets) {
        const uint64_t encoded = hub.stats().encoded;
        hub.push(p);
        ASSERT_TRUE(eventually([&] { return hub.stats().encoded == encoded + 1; }));
        if (slow.next(out) == BodyStream::Status::More) ++given;
        out.clear();
    }
    EXPECT_EQ(given, 6) << "frames 0, 6, ..., 30 (1 s at 5 fps, and the first)";
    EXPECT_EQ(hub.stats().dropped, 0u) << "skipped by choice: not counted";
    EXPECT_DOUBLE_EQ(fpsParameter("t=1&fps=2.5"), 2.5);
    EXPECT_DOUBLE_EQ(fpsParameter("fps=abc"), 0);
    EXPECT_DOUBLE_EQ(fpsParameter("fps=-3"), 0);
    EXPECT_DOUBLE_EQ(fpsParameter(""), 0);
    hub.stop();
}

}  // namespace
}  // namespace hlsd::test
