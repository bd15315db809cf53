// The camera's frame path, fed synthetic YUV frames through the same code the libcamera
// completion callback feeds (FrameQueue → CameraFramePath).
#include "source/camera_frames.h"

#include <gtest/gtest.h>

#include <time.h>

#include <thread>

#include "hlsd/source.h"
#include "source/h264.h"

extern "C" {
#include <libavutil/frame.h>
}

namespace hlsd {
namespace {

constexpr int kW = 64, kH = 48, kStride = 80;  // padded rows, as camera buffers have

int64_t boottimeNow() {
    timespec t{};
    clock_gettime(CLOCK_BOOTTIME, &t);
    return static_cast<int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}

// A synthetic camera buffer: Y(x,y) = x + 2y + n, U = 100 + x, V = 200 - y; padding = 0xEE.
struct SyntheticBuffer {
    std::vector<uint8_t> y, u, v;
    int releases = 0;
    explicit SyntheticBuffer(int n) : y(kStride * kH, 0xEE), u(kStride / 2 * kH / 2, 0xEE), v(u) {
        for (int r = 0; r < kH; ++r)
            for (int c = 0; c < kW; ++c) y[r * kStride + c] = static_cast<uint8_t>(c + 2 * r + n);
        for (int r = 0; r < kH / 2; ++r)
            for (int c = 0; c < kW / 2; ++c) {
                u[r * kStride / 2 + c] = static_cast<uint8_t>(100 + c);
                v[r * kStride / 2 + c] = static_cast<uint8_t>(200 - r);
            }
    }
    CapturedFrame frame(int64_t timestampNs) {
        CapturedFrame f;
        f.width = kW;
        f.height = kH;
        f.planes = {CapturedPlane{y.data(), kStride}, CapturedPlane{u.data(), kStride / 2},
                    CapturedPlane{v.data(), kStride / 2}};
        f.timestampNs = timestampNs;
        f.release = [this] { ++releases; };
        return f;
    }
};

std::unique_ptr<CameraFramePath> makePath(bool hflip = false, bool vflip = false, int gop = 30) {
    EncoderOptions eo;
    eo.width = kW;
    eo.height = kH;
    eo.gop = gop;
    eo.bitrate = 200'000;
    FramePathOptions fo;
    fo.hflip = hflip;
    fo.vflip = vflip;
    return std::make_unique<CameraFramePath>(fo, openEncoder(eo, "x264", "/nonexistent"));
}

uint8_t at(const AVFrame* f, int plane, int x, int y) {
    return f->data[plane][y * f->linesize[plane] + x];
}

TEST(CameraFramePath, CopiesPlanesHonouringTheStride) {
    auto path = makePath();
    SyntheticBuffer buf(7);
    path->process(buf.frame(boottimeNow()));
    const AVFrame* f = path->lastFrame();
    for (int y = 0; y < kH; ++y)
        for (int x = 0; x < kW; ++x) ASSERT_EQ(at(f, 0, x, y), static_cast<uint8_t>(x + 2 * y + 7));
    for (int y = 0; y < kH / 2; ++y)
        for (int x = 0; x < kW / 2; ++x) {
            ASSERT_EQ(at(f, 1, x, y), 100 + x);
            ASSERT_EQ(at(f, 2, x, y), 200 - y);
        }
    EXPECT_EQ(buf.releases, 1);
}

TEST(CameraFramePath, FlipsAndRotation180) {
    auto path = makePath(true, true);  // rotation 180 = both flips
    SyntheticBuffer buf(0);
    path->process(buf.frame(boottimeNow()));
    const AVFrame* f = path->lastFrame();
    EXPECT_EQ(at(f, 0, 0, 0), static_cast<uint8_t>((kW - 1) + 2 * (kH - 1)));
    EXPECT_EQ(at(f, 0, kW - 1, kH - 1), 0);
    EXPECT_EQ(at(f, 1, 0, 0), 100 + kW / 2 - 1);
    EXPECT_EQ(at(f, 2, 0, 0), 200 - (kH / 2 - 1));
}

struct RecordingTap : FrameTap {
    bool wants = true;
    int offered = 0, width = 0, height = 0;
    uint8_t y00 = 0, yLast = 0;
    WallClock::time_point capture;
    bool wantsFrames() const override { return wants; }
    void offer(const AVFrame& f, WallClock::time_point t) override {
        ++offered;
        width = f.width;
        height = f.height;
        y00 = f.data[0][0];
        yLast = f.data[0][(f.height - 1) * f.linesize[0] + f.width - 1];
        capture = t;
    }
};

// The camera's second, smaller stream: copied out of its buffer (flipped like the main one)
// before the buffer goes back, and offered to MJPEG only while it wants pictures.
TEST(CameraFramePath, LoresPicturesGoToTheTapFlippedLikeTheMainOnes) {
    EncoderOptions eo;
    eo.width = kW;
    eo.height = kH;
    eo.bitrate = 200'000;
    RecordingTap tap;
    FramePathOptions fo;
    fo.hflip = fo.vflip = true;
    fo.loresTap = &tap;
    CameraFramePath path(fo, openEncoder(eo, "x264", "/nonexistent"));
    SyntheticBuffer buf(3);
    // A 32x24 lores buffer: Y(x, y) = 10 + x + y.
    std::vector<uint8_t> ly(40 * 24), lu(20 * 12, 128), lv(20 * 12, 128);
    for (int y = 0; y < 24; ++y)
        for (int x = 0; x < 32; ++x) ly[y * 40 + x] = static_cast<uint8_t>(10 + x + y);
    auto frame = [&] {
        CapturedFrame f = buf.frame(boottimeNow());
        f.loresWidth = 32;
        f.loresHeight = 24;
        f.lores = {CapturedPlane{ly.data(), 40}, CapturedPlane{lu.data(), 20},
                   CapturedPlane{lv.data(), 20}};
        return f;
    };
    path.process(frame());
    EXPECT_EQ(tap.offered, 1);
    EXPECT_EQ(tap.width, 32);
    EXPECT_EQ(tap.height, 24);
    EXPECT_EQ(tap.y00, 10 + 31 + 23) << "flipped both ways";
    EXPECT_EQ(tap.yLast, 10);
    EXPECT_EQ(buf.releases, 1);
    // A capture whose lores buffer failed: the main picture instead, not nothing.
    CapturedFrame without = frame();
    without.loresWidth = 0;
    path.process(std::move(without));
    EXPECT_EQ(tap.offered, 2);
    EXPECT_EQ(tap.width, kW);
    tap.wants = false;  // nobody watches: not even copied
    path.process(frame());
    EXPECT_EQ(tap.offered, 2);
    EXPECT_EQ(buf.releases, 3);
}

TEST(CameraFramePath, BufferIsGivenBackEvenWhenTheFrameIsRefused) {
    auto path = makePath();
    SyntheticBuffer buf(0);
    CapturedFrame wrong = buf.frame(boottimeNow());
    wrong.width = 32;
    EXPECT_THROW(path->process(std::move(wrong)), SourceError);
    EXPECT_EQ(buf.releases, 1);
}

TEST(CameraFramePath, SensorTimestampsBecomePtsAndWallClock) {
    auto path = makePath(false, false, 10);
    SyntheticBuffer buf(0);
    const int64_t start = boottimeNow() - 500'000'000;  // captured half a second ago
    const int64_t frameNs = 1'000'000'000 / 30;
    std::vector<int64_t> times;
    for (int i = 0; i < 12; ++i) {
        if (i == 5) continue;  // the sensor dropped a frame
        times.push_back(start + i * frameNs + (i % 2 ? 300'000 : -200'000));  // jitter
    }
    times.push_back(times.back());  // a repeated timestamp must not break the encoder
    for (int64_t t : times) path->process(buf.frame(t));
    std::vector<EncodedPacket> packets;
    while (auto p = path->receive()) packets.push_back(std::move(*p));
    ASSERT_EQ(packets.size(), times.size());
    const std::vector<int64_t> frames = {0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12};
    for (size_t i = 0; i < packets.size(); ++i) EXPECT_EQ(packets[i].pts, frames[i] * 3000) << i;
    EXPECT_TRUE(packets[0].keyframe);
    EXPECT_TRUE(packets[10].keyframe);  // GOP 10 counts frames encoded
    const auto age = WallClock::now() - packets[0].captureTime;
    EXPECT_GT(age, std::chrono::milliseconds(450));
    EXPECT_LT(age, std::chrono::milliseconds(1500));
    EXPECT_EQ(buf.releases, static_cast<int>(times.size()));
}

TEST(CameraFramePath, WallClockMapping) {
    auto wall = CameraFramePath::toWallClock(boottimeNow() - 50'000'000);
    auto diff = std::chrono::duration_cast<std::chrono::milliseconds>(WallClock::now() - wall);
    EXPECT_NEAR(static_cast<double>(diff.count()), 50.0, 10.0);
}

TEST(CameraFramePath, EncodedStreamDecodesWithParameterSetsOnEveryIdr) {
    auto path = makePath(false, false, 15);
    SyntheticBuffer buf(0);
    const int64_t start = boottimeNow();
    for (int i = 0; i < 45; ++i) path->process(buf.frame(start + i * 33'333'333));
    int keys = 0;
    while (auto p = path->receive()) {
        auto types = h264::nalTypes(p->data);
        if (p->keyframe) {
            ++keys;
            EXPECT_TRUE(h264::contains(types, h264::kSps));
            EXPECT_TRUE(h264::contains(types, h264::kIdr));
        }
    }
    EXPECT_EQ(keys, 3);
}

TEST(FrameQueue, FullQueueGivesFramesStraightBack) {
    FrameQueue q(2);
    SyntheticBuffer buf(0);
    for (int i = 0; i < 5; ++i) q.push(buf.frame(i));
    EXPECT_EQ(q.dropped(), 3u);
    EXPECT_EQ(buf.releases, 3);
    auto f = q.pop(std::chrono::milliseconds(10));
    ASSERT_TRUE(f);
    EXPECT_EQ(f->timestampNs, 0);
    f->release();
    q.clear();  // the other queued frame goes back too
    EXPECT_EQ(buf.releases, 5);
}

TEST(FrameQueue, PopTimesOutAndCloseWakesAWaiter) {
    FrameQueue q(2);
    auto t0 = std::chrono::steady_clock::now();
    EXPECT_FALSE(q.pop(std::chrono::milliseconds(50)));
    EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(45));
    std::thread closer([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(30));
        q.close();
    });
    t0 = std::chrono::steady_clock::now();
    EXPECT_FALSE(q.pop(std::chrono::seconds(10)));
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
    closer.join();
}

TEST(EncoderChoice, HardwareWhereTheDeviceExistsElseX264) {
    auto none = chooseEncoder("auto", "/nonexistent/video11");
    EXPECT_EQ(none.codec, "libx264");
    EXPECT_EQ(none.reason, "no hardware encoder at /nonexistent/video11");
    EXPECT_EQ(chooseEncoder("auto", "/dev/null").codec, "h264_v4l2m2m");  // the device "exists"
    EXPECT_EQ(chooseEncoder("x264", "/dev/null").codec, "libx264");
    EXPECT_EQ(chooseEncoder("v4l2m2m", "/nonexistent").codec, "h264_v4l2m2m");
}

TEST(EncoderChoice, AutoFallsBackWhenTheHardwareEncoderWillNotOpen) {
    EncoderOptions eo;
    eo.width = kW;
    eo.height = kH;
    // /dev/null "exists" but is no V4L2 encoder (nor is anything on this machine).
    auto encoder = openEncoder(eo, "auto", "/dev/null");
    EXPECT_EQ(encoder->options().codec, "libx264");
    // Asked for explicitly, a missing hardware encoder is an error, not a silent switch.
    EXPECT_THROW(openEncoder(eo, "v4l2m2m", "/dev/null"), SourceError);
}

}  // namespace
}  // namespace hlsd
