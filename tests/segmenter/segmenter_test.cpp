#include "hlsd/segmenter.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "hlsd/encoder.h"
#include "segmenter/readback.h"
#include "source/h264.h"
#include "support/process.h"
#include "support/ts_check.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/frame.h>
}

namespace hlsd {
namespace {

// Packets of a 320x240 30 fps stream, IDR every `gop` frames, made by our encoder.
std::vector<EncodedPacket> makeStream(int frames, int gop) {
    EncoderOptions o;
    o.width = 320;
    o.height = 240;
    o.gop = gop;
    o.bitrate = 300'000;
    Encoder encoder(o);
    AVFrame* f = av_frame_alloc();
    f->format = AV_PIX_FMT_YUV420P;
    f->width = o.width;
    f->height = o.height;
    av_frame_get_buffer(f, 0);
    std::vector<EncodedPacket> out;
    for (int i = 0; i < frames; ++i) {
        av_frame_make_writable(f);
        for (int p = 0; p < 3; ++p) {
            int h = p ? o.height / 2 : o.height;
            for (int y = 0; y < h; ++y)
                std::fill_n(f->data[p] + y * f->linesize[p], f->linesize[p],
                            (i * 7 + y + p * 50) & 0xff);
        }
        f->pts = i;
        encoder.send(f, WallClock::time_point(std::chrono::seconds(1'700'000'000)) +
                            std::chrono::milliseconds(i * 1000 / 30));
        while (auto p = encoder.receive()) out.push_back(std::move(*p));
    }
    av_frame_free(&f);
    return out;
}

StreamInfo info320() {
    StreamInfo info;
    info.width = 320;
    info.height = 240;
    info.frameRate = {30, 1};
    return info;
}

// Decodes a segment on its own, with a fresh demuxer and decoder. Returns the number of frames,
// or -1 if the first frame is not a keyframe or anything fails.
int decodeAlone(const std::vector<uint8_t>& bytes) {
    const Readback r = readBack(bytes);
    return r.opened && r.firstFrameIntra && !r.decodeErrors ? r.frames : -1;
}

// The dts of every packet of a segment, in order (90 kHz).
std::vector<int64_t> packetDts(const std::vector<uint8_t>& bytes) {
    return readBack(bytes).dts;
}

bool startsWithTables(const std::vector<uint8_t>& ts) {
    return test::isSelfContainedTs(ts.data(), ts.size());
}

struct Collector {
    std::vector<std::shared_ptr<const Segment>> segments;  // complete ones
    std::vector<std::shared_ptr<const Segment>> partial;   // published after a part
    Segmenter::SegmentSink sink() {
        return [this](std::shared_ptr<const Segment> s) {
            (s->complete ? segments : partial).push_back(std::move(s));
        };
    }
};

// One run of `stream` through a segmenter cutting 1 s segments: what it published.
std::vector<std::shared_ptr<const Segment>> segmentRun(const std::vector<EncodedPacket>& stream) {
    Collector c;
    Segmenter seg({1.0, "run"}, c.sink());
    seg.beginRun(info320());
    for (const auto& p : stream) seg.push(p);
    seg.endRun();
    return c.segments;
}

// Each segment 1 s of 30 frames that decode alone, none marked discontinuous.
void expectWholeSeconds(const std::vector<std::shared_ptr<const Segment>>& segments) {
    for (const auto& s : segments) {
        EXPECT_FALSE(s->discontinuity);
        EXPECT_DOUBLE_EQ(s->duration, 1.0);
        EXPECT_EQ(decodeAlone(s->bytes()), 30);
    }
}

TEST(Segmenter, SegmentsOfOneGopEachDecodeAlone) {
    Collector c;
    Segmenter seg({1.0, "run"}, c.sink());
    seg.beginRun(info320());
    for (const auto& p : makeStream(90, 30)) seg.push(p);
    seg.endRun();
    ASSERT_EQ(c.segments.size(), 3u);
    for (size_t i = 0; i < 3; ++i) {
        const Segment& s = *c.segments[i];
        EXPECT_EQ(s.msn, i);
        EXPECT_EQ(s.name, "run-" + std::to_string(i) + ".ts");
        EXPECT_DOUBLE_EQ(s.duration, 1.0);
        EXPECT_FALSE(s.discontinuity);
        EXPECT_EQ(s.discontinuitySequence, 0u);
        EXPECT_DOUBLE_EQ(s.keyframeInterval, 1.0);  // known once the next keyframe cut it
        EXPECT_TRUE(startsWithTables(s.bytes())) << "segment " << i;
        EXPECT_EQ(s.frames, 30u);
        EXPECT_EQ(decodeAlone(s.bytes()), 30) << "segment " << i;
        // Capture time of the segment's first frame.
        EXPECT_EQ(s.programDateTime,
                  WallClock::time_point(std::chrono::seconds(1'700'000'000 + i)));
    }
}

TEST(Segmenter, PtsContinuesAcrossSegments) {
    Collector c;
    Segmenter seg({1.0, "run"}, c.sink());
    seg.beginRun(info320());
    for (const auto& p : makeStream(60, 30)) seg.push(p);
    seg.endRun();
    ASSERT_EQ(c.segments.size(), 2u);
    std::vector<uint8_t> joined = c.segments[0]->bytes();
    const std::vector<uint8_t> second = c.segments[1]->bytes();
    joined.insert(joined.end(), second.begin(), second.end());
    EXPECT_EQ(decodeAlone(joined), 60);  // one continuous stream when concatenated
}

TEST(Segmenter, NewRunIsADiscontinuity) {
    Collector c;
    Segmenter seg({1.0, "run"}, c.sink());
    auto stream = makeStream(45, 30);
    seg.beginRun(info320());
    for (const auto& p : stream) seg.push(p);
    seg.endRun();
    seg.beginRun(info320());  // the source restarted: timestamps from 0 again
    for (const auto& p : stream) seg.push(p);
    seg.endRun();
    ASSERT_EQ(c.segments.size(), 4u);
    EXPECT_DOUBLE_EQ(c.segments[1]->duration, 0.5);  // the run's last, short segment
    EXPECT_TRUE(c.segments[2]->discontinuity);
    EXPECT_EQ(c.segments[2]->discontinuitySequence, 1u);
    EXPECT_FALSE(c.segments[3]->discontinuity);
    EXPECT_EQ(c.segments[3]->discontinuitySequence, 1u);
    for (const auto& s : c.segments) EXPECT_GT(decodeAlone(s->bytes()), 0);
}

TEST(Segmenter, TimestampJumpBackIsADiscontinuityNotAnError) {
    Collector c;
    Segmenter seg({1.0, "run"}, c.sink());
    auto stream = makeStream(60, 30);
    for (size_t i = 30; i < stream.size(); ++i) {
        stream[i].pts -= 10 * kTimeBase;  // the second GOP claims to be 10 s earlier
        stream[i].dts -= 10 * kTimeBase;
    }
    seg.beginRun(info320());
    for (const auto& p : stream) seg.push(p);
    seg.endRun();
    ASSERT_EQ(c.segments.size(), 2u);
    EXPECT_TRUE(c.segments[1]->discontinuity);
    EXPECT_EQ(decodeAlone(c.segments[1]->bytes()), 30);
}

// Strips SPS/PPS NAL units (and their start codes) from an Annex B buffer.
std::vector<uint8_t> withoutParameterSets(const std::vector<uint8_t>& in) {
    std::vector<size_t> starts;  // where each start code (3 or 4 bytes) begins
    for (size_t i = 0; i + 3 <= in.size(); ++i) {
        if (in[i] == 0 && in[i + 1] == 0 && in[i + 2] == 1) {
            starts.push_back(i > 0 && in[i - 1] == 0 ? i - 1 : i);
            i += 2;
        }
    }
    starts.push_back(in.size());
    std::vector<uint8_t> out;
    for (size_t k = 0; k + 1 < starts.size(); ++k) {
        size_t header = starts[k] + (in[starts[k] + 2] == 1 ? 3 : 4);
        int type = in[header] & 0x1f;
        if (type == h264::kSps || type == h264::kPps) continue;
        out.insert(out.end(), in.begin() + starts[k], in.begin() + starts[k + 1]);
    }
    return out;
}

TEST(Segmenter, ParameterSetsAreAddedWhereTheSourceOmitsThem) {
    auto stream = makeStream(60, 30);
    StreamInfo info = info320();
    info.extradata = h264::parameterSets(stream[0].data.data(), stream[0].data.size());
    // Only the very first IDR keeps its SPS/PPS, as some cameras and RTSP servers do.
    for (size_t i = 1; i < stream.size(); ++i)
        stream[i].data = withoutParameterSets(stream[i].data);
    ASSERT_FALSE(h264::contains(h264::nalTypes(stream[30].data), h264::kSps));
    Collector c;
    Segmenter seg({1.0, "run"}, c.sink());
    seg.beginRun(info);
    for (const auto& p : stream) seg.push(p);
    seg.endRun();
    ASSERT_EQ(c.segments.size(), 2u);
    EXPECT_EQ(decodeAlone(c.segments[1]->bytes()), 30);
}

TEST(Segmenter, AStrayOldKeyframeIsDroppedNotMadeASegment) {
    auto stream = makeStream(90, 30);
    EncodedPacket stray = stream[0];  // the first IDR again, 1.5 s late
    stream.insert(stream.begin() + 45, stray);
    const auto segments = segmentRun(stream);
    ASSERT_EQ(segments.size(), 3u);
    expectWholeSeconds(segments);
}

TEST(Segmenter, StalledTimestampsAreSpreadOverTheFrames) {
    auto stream = makeStream(90, 30);
    for (int i = 41; i < 60; ++i) stream[i].pts = stream[i].dts = stream[40].dts;
    const auto segments = segmentRun(stream);
    ASSERT_EQ(segments.size(), 3u);
    expectWholeSeconds(segments);
    // The frozen frames are one frame apart in the segment, as if the clock had not stopped.
    auto dts = packetDts(segments[1]->bytes());
    ASSERT_EQ(dts.size(), 30u);
    // (MPEG-TS times on the 100 µs grid: ts_muxer.cpp.)
    for (size_t i = 1; i < dts.size(); ++i) EXPECT_NEAR(dts[i] - dts[i - 1], 3000, 9) << i;
}

TEST(Segmenter, FramesBeforeTheFirstKeyframeAreDropped) {
    auto stream = makeStream(45, 30);
    stream.erase(stream.begin(), stream.begin() + 5);
    Collector c;
    Segmenter seg({1.0, "run"}, c.sink());
    seg.beginRun(info320());
    for (const auto& p : stream) seg.push(p);
    seg.endRun();
    EXPECT_EQ(seg.droppedPackets(), 25u);
    ASSERT_EQ(c.segments.size(), 1u);
    EXPECT_EQ(decodeAlone(c.segments[0]->bytes()), 15);
}

// Found by fuzz/input_fuzz.cpp: the muxer refuses a first frame without a start code (and no
// SPS/PPS to put ahead of it); the run ends there, and nothing half-made may be published.
TEST(Segmenter, AFrameTheMuxerRefusesLeavesNoEmptySegment) {
    Collector c;
    Segmenter seg({1.0, "run"}, c.sink());
    seg.beginRun(info320());
    EncodedPacket junk;
    junk.data = {0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc};
    junk.keyframe = true;
    junk.duration = 3000;
    EXPECT_THROW(seg.push(junk), std::runtime_error);
    seg.endRun();
    EXPECT_TRUE(c.segments.empty());

    seg.beginRun(info320());  // the source restarts and delivers a good stream
    for (const auto& p : makeStream(30, 30)) seg.push(p);
    seg.endRun();
    ASSERT_EQ(c.segments.size(), 1u);
    EXPECT_EQ(c.segments[0]->name, "run-0.ts");  // no sequence number was used up
    EXPECT_FALSE(c.segments[0]->discontinuity);
    EXPECT_EQ(decodeAlone(c.segments[0]->bytes()), 30);
}

// LL-HLS: 1 s segments of 30 fps cut into parts of 0.2 s: six frames each, the first one
// starting with PAT/PMT and the IDR, the segment exactly its parts one after another.
// A part is published with its last frame, not when the frame after it arrives (one frame
// sooner for every LL-HLS player), except the part that completes the segment: that waits for
// the keyframe that ends the segment, so the preload hint never names a part that never comes.
TEST(Segmenter, PartIsPublishedWithItsLastFrame) {
    Collector c;
    SegmenterOptions options{1.0, "run"};
    options.partDuration = 0.2;
    Segmenter seg(options, c.sink());
    seg.beginRun(info320());
    const auto stream = makeStream(40, 30);
    for (size_t i = 0; i < stream.size(); ++i) {
        seg.push(stream[i]);
        // Frame i (0-based) ends part i / 6; parts 0..3 of segment 0 are out at once.
        const size_t parts = (i + 1) / 6;
        if (i < 30) {
            EXPECT_EQ(c.partial.size(), std::min<size_t>(parts, 4)) << "after frame " << i;
        }
    }
    ASSERT_EQ(c.segments.size(), 1u);  // segment 0 completed when frame 30 (a keyframe) came
    EXPECT_EQ(c.segments[0]->parts.size(), 5u);
    seg.endRun();
}

TEST(Segmenter, PartsCutOnFramesAndMakeUpTheSegment) {
    Collector c;
    SegmenterOptions options{1.0, "run"};
    options.partDuration = 0.2;
    Segmenter seg(options, c.sink());
    seg.beginRun(info320());
    for (const auto& p : makeStream(90, 30)) seg.push(p);
    seg.endRun();
    ASSERT_EQ(c.segments.size(), 3u);
    for (const auto& s : c.segments) {
        SCOPED_TRACE(s->name);
        ASSERT_EQ(s->parts.size(), 5u);
        double total = 0;
        size_t size = 0;
        std::vector<uint8_t> joined;
        for (size_t i = 0; i < s->parts.size(); ++i) {
            const Part& part = *s->parts[i];
            EXPECT_NEAR(part.duration, 0.2, 1e-9) << i;
            EXPECT_EQ(part.independent, i == 0) << i;
            EXPECT_EQ(part.data.size() % 188, 0u) << i;
            if (i == 0) {
                EXPECT_TRUE(startsWithTables(part.data));
            }
            total += part.duration;
            size += part.data.size();
            joined.insert(joined.end(), part.data.begin(), part.data.end());
        }
        EXPECT_NEAR(total, s->duration, 1e-9);
        EXPECT_EQ(size, s->size);
        EXPECT_EQ(decodeAlone(joined), 30);
        // One file for the segment, its parts one after another: what sendfile() sends.
        ASSERT_TRUE(s->parts[0]->file);
        uint64_t at = 0;
        for (const auto& part : s->parts) {
            EXPECT_EQ(part->file, s->parts[0]->file);
            EXPECT_EQ(part->fileOffset, at);
            at += part->data.size();
        }
        std::vector<uint8_t> inFile(joined.size());
        EXPECT_EQ(pread(s->parts[0]->file->fd(), inFile.data(), inFile.size(), 0),
                  static_cast<ssize_t>(inFile.size()));
        EXPECT_EQ(inFile, joined);
        EXPECT_EQ(decodeAlone(s->parts[0]->data), 6);  // the first part plays alone
    }
    // After each part but the last, the segment so far, sharing (not copying) its parts.
    ASSERT_EQ(c.partial.size(), 12u);
    for (size_t k = 0; k < c.partial.size(); ++k) {
        const Segment& p = *c.partial[k];
        const Segment& whole = *c.segments[k / 4];
        EXPECT_FALSE(p.complete);
        EXPECT_EQ(p.msn, whole.msn);
        ASSERT_EQ(p.parts.size(), k % 4 + 1);
        for (size_t i = 0; i < p.parts.size(); ++i) EXPECT_EQ(p.parts[i], whole.parts[i]);
        EXPECT_NEAR(p.duration, 0.2 * p.parts.size(), 1e-9);
    }
}

// Parts never exceed the target: 30 fps in 0.15 s parts gives four frames (0.133 s); a target
// shorter than a frame gives one frame per part.
TEST(Segmenter, PartsStayWithinTheTarget) {
    for (double target : {0.15, 0.02}) {
        SCOPED_TRACE(target);
        Collector c;
        SegmenterOptions options{1.0, "run"};
        options.partDuration = target;
        Segmenter seg(options, c.sink());
        seg.beginRun(info320());
        for (const auto& p : makeStream(60, 30)) seg.push(p);
        seg.endRun();
        ASSERT_EQ(c.segments.size(), 2u);
        const double frame = 1.0 / 30;
        for (const auto& s : c.segments) {
            const double expected = target < frame ? frame : 4 * frame;
            EXPECT_EQ(s->parts.size(), target < frame ? 30u : 8u);
            for (size_t i = 0; i + 1 < s->parts.size(); ++i)
                EXPECT_NEAR(s->parts[i]->duration, expected, 1e-4) << i;
            EXPECT_LE(s->parts.back()->duration, std::max(target, frame) + 1e-4);
            EXPECT_EQ(decodeAlone(s->bytes()), 30);
        }
    }
}

// --- Parts that stand alone ------------------------------------------------------------------

// The PIDs of a TS buffer's packets, in order.
std::vector<int> tsPids(const std::vector<uint8_t>& ts) {
    std::vector<int> out;
    for (size_t off = 0; off + 188 <= ts.size(); off += 188)
        out.push_back(((ts[off + 1] & 0x1f) << 8) | ts[off + 2]);
    return out;
}

// What a fresh demuxer and decoder make of `bytes` and nothing else.
struct AloneReadback {
    int demuxedWidth = 0, demuxedHeight = 0;  // the stream's, after avformat_find_stream_info
    int decodedWidth = 0, decodedHeight = 0;  // a decoder's opened with nothing but the packets
    std::vector<std::vector<uint8_t>> packets;
};

// `decode`: also feed the packets to a decoder opened with nothing else (Annex B packets only).
AloneReadback readAlone(const std::vector<uint8_t>& bytes, bool decode) {
    AloneReadback r;
    const int logLevel = av_log_get_level();
    av_log_set_level(AV_LOG_FATAL);  // a P-frame without its references is an error here
    const std::string path = test::makeTempDir("part-alone") + "/media";
    test::writeFile(path, std::string(bytes.begin(), bytes.end()));
    AVFormatContext* fmt = nullptr;
    if (avformat_open_input(&fmt, path.c_str(), nullptr, nullptr) < 0) {
        av_log_set_level(logLevel);
        return r;
    }
    if (avformat_find_stream_info(fmt, nullptr) >= 0 && fmt->nb_streams == 1) {
        r.demuxedWidth = fmt->streams[0]->codecpar->width;
        r.demuxedHeight = fmt->streams[0]->codecpar->height;
    }
    const AVCodec* codec = avcodec_find_decoder(AV_CODEC_ID_H264);
    AVCodecContext* dec = avcodec_alloc_context3(codec);  // no size, no extradata
    avcodec_open2(dec, codec, nullptr);
    AVPacket* pkt = av_packet_alloc();
    AVFrame* frame = av_frame_alloc();
    while (av_read_frame(fmt, pkt) >= 0) {
        r.packets.emplace_back(pkt->data, pkt->data + pkt->size);
        if (decode) avcodec_send_packet(dec, pkt);
        while (avcodec_receive_frame(dec, frame) == 0) {
        }
        av_packet_unref(pkt);
        if (dec->width > 0 && r.decodedWidth == 0) {
            r.decodedWidth = dec->width;
            r.decodedHeight = dec->height;
        }
    }
    avcodec_send_packet(dec, nullptr);
    while (avcodec_receive_frame(dec, frame) == 0) {
    }
    if (r.decodedWidth == 0) {
        r.decodedWidth = dec->width;
        r.decodedHeight = dec->height;
    }
    av_frame_free(&frame);
    av_packet_free(&pkt);
    avcodec_free_context(&dec);
    avformat_close_input(&fmt);
    av_log_set_level(logLevel);
    return r;
}

std::vector<std::shared_ptr<const Segment>> partedRun(const std::vector<EncodedPacket>& stream,
                                                      const StreamInfo& info, Container container) {
    Collector c;
    SegmenterOptions options{1.0, "run"};
    options.partDuration = 0.2;
    options.container = container;
    Segmenter seg(options, c.sink());
    seg.beginRun(info);
    for (const auto& p : stream) seg.push(p);
    seg.endRun();
    return c.segments;
}

// Two streams whose parts (six frames of 30 fps) mostly start without SPS/PPS: (a) an IDR, with
// its SPS/PPS, once a segment: parts 1-4 start on a P-frame; (b) an IDR every part, SPS/PPS
// only on the stream's first frame (as some cameras and RTSP servers send them) and none in
// StreamInfo, so that only the segmenter can put them back (FFmpeg's MPEG-TS muxer adds
// StreamInfo's extradata to a keyframe that lacks them).
struct PartStream {
    std::string name;
    std::vector<EncodedPacket> packets;
    std::vector<uint8_t> sets;  // the stream's SPS/PPS
    size_t nonKeyParts = 0;     // of the 10
};

std::vector<PartStream> partStreams() {
    std::vector<PartStream> out;
    PartStream gop30{"IDR once a second, SPS/PPS in-band", makeStream(60, 30), {}, 8};
    PartStream gop6{"IDR every part, SPS/PPS only once", makeStream(60, 6), {}, 0};
    for (auto* s : {&gop30, &gop6})
        s->sets = h264::parameterSets(s->packets[0].data.data(), s->packets[0].data.size());
    for (size_t i = 1; i < gop6.packets.size(); ++i)
        gop6.packets[i].data = withoutParameterSets(gop6.packets[i].data);
    out.push_back(std::move(gop30));
    out.push_back(std::move(gop6));
    return out;
}

// NAL unit payloads of an Annex B buffer (start codes and trailing zero bytes dropped).
std::vector<std::vector<uint8_t>> annexBNals(const std::vector<uint8_t>& d) {
    std::vector<std::vector<uint8_t>> out;
    auto add = [&](size_t b, size_t e) {
        while (e > b && d[e - 1] == 0) --e;
        if (e > b) out.emplace_back(d.begin() + b, d.begin() + e);
    };
    size_t start = 0;
    bool open = false;
    for (size_t i = 0; i + 3 <= d.size(); ++i) {
        if (d[i] == 0 && d[i + 1] == 0 && d[i + 2] == 1) {
            if (open) add(start, i);
            start = i + 3;
            open = true;
            i += 2;
        }
    }
    if (open) add(start, d.size());
    return out;
}

// ...and of an fMP4 sample (4-byte lengths); empty if the lengths do not tile it.
std::vector<std::vector<uint8_t>> lengthPrefixedNals(const std::vector<uint8_t>& d) {
    std::vector<std::vector<uint8_t>> out;
    for (size_t at = 0; at < d.size();) {
        if (d.size() - at < 4) return {};
        const size_t n = size_t(d[at]) << 24 | size_t(d[at + 1]) << 16 | size_t(d[at + 2]) << 8 |
                         size_t(d[at + 3]);
        if (n > d.size() - at - 4) return {};
        size_t e = at + 4 + n;
        while (e > at + 4 && d[e - 1] == 0) --e;
        out.emplace_back(d.begin() + at + 4, d.begin() + e);
        at += 4 + n;
    }
    return out;
}

// MPEG-TS LL-HLS: a player may fetch any part alone and build its decoder from it (Shaka's TS
// transmuxer does, error 3018 otherwise): each part starts with PAT then PMT, and its first
// frame carries SPS/PPS (inserted after the AUD when the frame has none), keyframe or not.
// The segment is still exactly its parts.
TEST(Segmenter, EveryMpegTsPartStartsWithTablesAndParameterSets) {
    for (const auto& stream : partStreams()) {
        SCOPED_TRACE(stream.name);
        const auto segments = partedRun(stream.packets, info320(), Container::MpegTs);
        ASSERT_EQ(segments.size(), 2u);
        size_t nonKey = 0;
        size_t frame = 0;  // of the stream, at the start of the part
        for (const auto& s : segments) {
            SCOPED_TRACE(s->name);
            ASSERT_EQ(s->parts.size(), 5u);
            std::vector<uint8_t> joined;
            for (size_t i = 0; i < s->parts.size(); ++i) {
                SCOPED_TRACE("part " + std::to_string(i));
                const auto& data = s->parts[i]->data;
                joined.insert(joined.end(), data.begin(), data.end());
                if (!s->parts[i]->independent) ++nonKey;
                ASSERT_EQ(data.size() % 188, 0u);
                const auto pids = tsPids(data);
                // SDT (0x11) may lead the stream's first part; then PAT (0), then PMT.
                const size_t first = !pids.empty() && pids[0] == 0x11 ? 1 : 0;
                ASSERT_GE(pids.size(), first + 3);
                EXPECT_EQ(pids[first], 0) << "PAT first";
                EXPECT_EQ(pids[first + 1], 0x1000) << "PMT right after it";
                EXPECT_TRUE(startsWithTables(data));
                const AloneReadback alone = readAlone(data, true);
                EXPECT_EQ(alone.demuxedWidth, 320);
                EXPECT_EQ(alone.demuxedHeight, 240);
                EXPECT_EQ(alone.decodedWidth, 320);
                EXPECT_EQ(alone.decodedHeight, 240);
                ASSERT_EQ(alone.packets.size(), 6u);
                const auto types = h264::nalTypes(alone.packets[0]);
                ASSERT_GE(types.size(), 4u);
                EXPECT_EQ(types[0], h264::kAud);
                EXPECT_EQ(types[1], h264::kSps);
                EXPECT_EQ(types[2], h264::kPps);
                EXPECT_EQ(std::count(types.begin(), types.end(), h264::kSps), 1);
                // The stream's own sets, after the AUD, then the frame's NAL units as they came.
                const auto sets = annexBNals(stream.sets);
                ASSERT_EQ(sets.size(), 2u);
                const auto& in = stream.packets[frame].data;
                auto expected = annexBNals(in);
                const bool inAud = h264::nalTypes(in).front() == h264::kAud;
                if (!h264::contains(h264::nalTypes(in), h264::kSps))
                    expected.insert(expected.begin() + (inAud ? 1 : 0), sets.begin(), sets.end());
                auto nals = annexBNals(alone.packets[0]);
                ASSERT_GE(nals.size(), 3u);
                EXPECT_EQ(nals[1], sets[0]);
                EXPECT_EQ(nals[2], sets[1]);
                if (!inAud) nals.erase(nals.begin());  // the AUD the muxer adds
                EXPECT_EQ(nals, expected) << "frame " << frame;
                // The other frames of the part as they came: nothing added.
                for (size_t k = 1; k < alone.packets.size(); ++k) {
                    const auto& original = stream.packets[frame + k].data;
                    auto rest = annexBNals(alone.packets[k]);
                    ASSERT_FALSE(rest.empty());
                    EXPECT_EQ((rest[0][0] & 0x1f), h264::kAud);
                    if (h264::nalTypes(original).front() != h264::kAud) rest.erase(rest.begin());
                    EXPECT_EQ(rest, annexBNals(original)) << "frame " << k;
                }
                frame += alone.packets.size();
            }
            EXPECT_TRUE(joined == s->bytes());
            EXPECT_EQ(decodeAlone(s->bytes()), 30);
        }
        EXPECT_EQ(nonKey, stream.nonKeyParts) << "parts starting on a P-frame";
        EXPECT_EQ(frame, stream.packets.size());
    }
}

// MPEG-TS times are multiples of 9 ticks (100 µs), exact in the browsers' microseconds, and a
// part's last frame is placed so that the duration hls.js gives it (that of the frame before)
// reaches the part's end as the playlist has it: otherwise Chromium's buffer ended 1 µs short
// of the next part and hls.js stalled there (ts_muxer.cpp). At 30 fps the grid alone left the
// parts 100 µs over; at 60 fps 100 µs short. No frame moves by more than 100 µs, plus half the
// jitter for a part's last frame.
TEST(Segmenter, MpegTsPartsReachTheirEndInWholeMicroseconds) {
    struct Case {
        const char* name;
        int fps;
        int64_t jitter;  // ticks, ±
    };
    for (const Case& c :
         {Case{"30 fps", 30, 0}, Case{"60 fps", 60, 0}, Case{"30 fps, ±2 ms of jitter", 30, 180}}) {
        SCOPED_TRACE(c.name);
        const int64_t step = kTimeBase / c.fps;
        auto stream = makeStream(2 * c.fps, c.fps);
        uint32_t seed = 1;
        std::vector<int64_t> original;  // on the muxer's timeline (the first frame at 0)
        for (size_t i = 0; i < stream.size(); ++i) {
            seed = seed * 1103515245u + 12345u;
            const int64_t j = c.jitter ? int64_t(seed >> 16) % (2 * c.jitter + 1) - c.jitter : 0;
            original.push_back(int64_t(i) * step + (i ? j : 0));
            stream[i].pts = stream[i].dts = 5 * kTimeBase + original.back();
            stream[i].duration = step;
        }
        StreamInfo info = info320();
        info.frameRate = {c.fps, 1};
        const auto segments = partedRun(stream, info, Container::MpegTs);
        ASSERT_EQ(segments.size(), 2u);
        std::vector<std::shared_ptr<const Part>> parts;
        for (const auto& s : segments) parts.insert(parts.end(), s->parts.begin(), s->parts.end());
        ASSERT_EQ(parts.size(), 10u);
        size_t frame = 0;
        int64_t end = 0;  // the part's end as the playlist adds it up, in ticks
        for (size_t i = 0; i < parts.size(); ++i) {
            SCOPED_TRACE("part " + std::to_string(i));
            const auto dts = readBack(parts[i]->data).dts;
            ASSERT_GE(dts.size(), 2u);
            end += std::llround(parts[i]->duration * kTimeBase);
            for (size_t k = 0; k < dts.size(); ++k, ++frame) {
                EXPECT_EQ(dts[k] % 9, 0) << dts[k];
                const int64_t slack = k + 1 == dts.size() ? 9 + c.jitter : 9;
                EXPECT_LE(std::abs(dts[k] - original[frame]), slack) << "frame " << frame;
            }
            const int64_t last = dts.back();
            const int64_t hlsjsEnd = last + (last - dts[dts.size() - 2]);
            if (i + 1 < parts.size()) {
                EXPECT_GE(hlsjsEnd, end) << "last frame at " << last;
            }
        }
        EXPECT_EQ(frame, stream.size());
    }
}

// fMP4 parts need none of that (the init section has the SPS/PPS): every sample of every part
// is the frame that came in, bytes unchanged but start codes made lengths, except that a
// segment's first frame gets the stream's SPS/PPS if it lacks them.
TEST(Segmenter, Fmp4PartsCarryTheFramesUnchanged) {
    for (const auto& stream : partStreams()) {
        SCOPED_TRACE(stream.name);
        const auto segments = partedRun(stream.packets, info320(), Container::Fmp4);
        ASSERT_EQ(segments.size(), 2u);
        size_t frame = 0;
        for (const auto& s : segments) {
            SCOPED_TRACE(s->name);
            ASSERT_TRUE(s->init);
            ASSERT_EQ(s->parts.size(), 5u);
            std::vector<uint8_t> joined;
            for (size_t i = 0; i < s->parts.size(); ++i) {
                SCOPED_TRACE("part " + std::to_string(i));
                const auto& data = s->parts[i]->data;
                joined.insert(joined.end(), data.begin(), data.end());
                std::vector<uint8_t> alone = s->init->data;
                alone.insert(alone.end(), data.begin(), data.end());
                const AloneReadback r = readAlone(alone, false);
                ASSERT_EQ(r.packets.size(), 6u);
                for (size_t k = 0; k < r.packets.size(); ++k, ++frame) {
                    const auto& in = stream.packets[frame].data;
                    auto expected = annexBNals(in);
                    if (i == 0 && k == 0 && !h264::contains(h264::nalTypes(in), h264::kSps)) {
                        // A segment decodes alone: its IDR gets the sets.
                        const auto sets = annexBNals(stream.sets);
                        expected.insert(expected.begin(), sets.begin(), sets.end());
                    }
                    EXPECT_EQ(lengthPrefixedNals(r.packets[k]), expected) << "frame " << frame;
                }
            }
            EXPECT_TRUE(joined == s->bytes());
        }
        EXPECT_EQ(frame, stream.packets.size());
    }
}

}  // namespace
}  // namespace hlsd
