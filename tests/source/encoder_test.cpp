#include "hlsd/encoder.h"
#include "hlsd/source.h"

#include <gtest/gtest.h>

#include "source/encode_frames.h"
#include "source/h264.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/frame.h>
}

namespace hlsd {
namespace {

std::vector<EncodedPacket> encodeFrames(int count, const EncoderOptions& o) {
    return test::encodeFrames(count, o);
}

std::vector<EncodedPacket> encodeFrames(int count, int gop) {
    return test::encodeFrames(count, test::smallStream(gop));
}

TEST(Encoder, KeyframesExactlyEveryGopWithParameterSets) {
    auto packets = encodeFrames(35, 10);
    ASSERT_EQ(packets.size(), 35u);
    for (size_t i = 0; i < packets.size(); ++i) {
        const auto types = h264::nalTypes(packets[i].data);
        const bool expectKey = i % 10 == 0;
        EXPECT_EQ(packets[i].keyframe, expectKey) << "frame " << i;
        EXPECT_EQ(h264::contains(types, h264::kIdr), expectKey) << "frame " << i;
        EXPECT_EQ(h264::contains(types, h264::kSps), expectKey) << "frame " << i;
        EXPECT_EQ(h264::contains(types, h264::kPps), expectKey) << "frame " << i;
        // No B-frames: presentation order is decode order, one frame apart.
        EXPECT_EQ(packets[i].pts, packets[i].dts);
        EXPECT_EQ(packets[i].pts, static_cast<int64_t>(i) * 3000);
        EXPECT_EQ(packets[i].duration, 3000);
    }
}

TEST(Encoder, AGopDecodesAlone) {
    auto packets = encodeFrames(30, 10);
    const AVCodec* codec = avcodec_find_decoder(AV_CODEC_ID_H264);
    AVCodecContext* ctx = avcodec_alloc_context3(codec);
    ASSERT_EQ(avcodec_open2(ctx, codec, nullptr), 0);
    AVPacket* pkt = av_packet_alloc();
    AVFrame* frame = av_frame_alloc();
    int decoded = 0;
    for (size_t i = 10; i < packets.size(); ++i) {  // from the second IDR, with a fresh decoder
        pkt->data = packets[i].data.data();
        pkt->size = static_cast<int>(packets[i].data.size());
        ASSERT_EQ(avcodec_send_packet(ctx, pkt), 0) << "packet " << i;
        while (avcodec_receive_frame(ctx, frame) == 0) ++decoded;
    }
    avcodec_send_packet(ctx, nullptr);
    while (avcodec_receive_frame(ctx, frame) == 0) ++decoded;
    EXPECT_EQ(decoded, 20);
    av_frame_free(&frame);
    av_packet_free(&pkt);
    avcodec_free_context(&ctx);
}

// The camera's and test pattern's GOP: keyframe_interval (effectiveKeyframeInterval) × fps,
// not segment_time.
TEST(Encoder, GopIsTheKeyframeIntervalTimesTheFrameRate) {
    SourceOptions s;
    s.fps = {30, 1};
    s.keyframeInterval = 0.2;
    EXPECT_EQ(encoderOptionsFor(s).gop, 6);
    s.keyframeInterval = 1.0;
    EXPECT_EQ(encoderOptionsFor(s).gop, 30);
    s.keyframeInterval = 0.5;
    s.fps = {30000, 1001};
    EXPECT_EQ(encoderOptionsFor(s).gop, 15);  // 14.985 rounded
    s.keyframeInterval = 0.02;
    s.fps = {30, 1};
    EXPECT_EQ(encoderOptionsFor(s).gop, 1);  // 0.6 frames: every frame, never 0
}

// What libx264 makes of those options: an IDR (with SPS/PPS) every 6 frames for 0.2 s.
TEST(Encoder, KeyframesComeEveryKeyframeInterval) {
    SourceOptions s;
    s.width = 320;
    s.height = 240;
    s.fps = {30, 1};
    s.bitrate = 500'000;
    s.keyframeInterval = 0.2;
    const EncoderOptions o = encoderOptionsFor(s);
    ASSERT_EQ(o.gop, 6);
    const auto packets = encodeFrames(25, o);  // the options as the sources use them
    ASSERT_EQ(packets.size(), 25u);
    for (size_t i = 0; i < packets.size(); ++i) {
        const auto types = h264::nalTypes(packets[i].data);
        EXPECT_EQ(packets[i].keyframe, i % 6 == 0) << "frame " << i;
        EXPECT_EQ(h264::contains(types, h264::kIdr), i % 6 == 0) << "frame " << i;
        EXPECT_EQ(h264::contains(types, h264::kSps), i % 6 == 0) << "frame " << i;
    }
}

TEST(Encoder, UnknownCodecIsAPermanentError) {
    EncoderOptions o;
    o.codec = "no_such_encoder";
    try {
        Encoder e(o);
        FAIL();
    } catch (const SourceError& e) {
        EXPECT_TRUE(e.permanent());
        EXPECT_NE(std::string(e.what()).find("no_such_encoder"), std::string::npos);
    }
}

}  // namespace
}  // namespace hlsd
