#include "segmenter/fmp4_muxer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <numeric>
#include <stdexcept>
#include <string>

#include "segmenter/readback.h"
#include "source/h264.h"
#include "support/process.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/frame.h>
}

namespace hlsd {
namespace {

constexpr int kWidth = 160;
// The track's timescale: whole microseconds (fmp4_muxer.cpp says why); packets come in ticks.
constexpr int64_t kTrackTimescale = 1'000'000;
int64_t us(int64_t ticks) {
    return av_rescale(ticks, kTrackTimescale, kTimeBase);
}
constexpr int kHeight = 120;

// Packets of a small 30 fps stream made with libx264 (SPS/PPS in-band before every IDR, like
// our encoder), IDR every `gop` frames, `bframes` B-frames, timestamps shifted to start at
// dts 0 as the segmenter gives them to a muxer.
std::vector<EncodedPacket> encode(int frames, int gop, int bframes = 0) {
    av_log_set_level(AV_LOG_ERROR);  // libx264's statistics
    const AVCodec* codec = avcodec_find_encoder_by_name("libx264");
    if (!codec) throw std::runtime_error("no libx264");
    AVCodecContext* enc = avcodec_alloc_context3(codec);
    enc->width = kWidth;
    enc->height = kHeight;
    enc->pix_fmt = AV_PIX_FMT_YUV420P;
    enc->time_base = AVRational{1, 30};
    enc->framerate = AVRational{30, 1};
    enc->gop_size = gop;
    enc->keyint_min = gop;
    enc->max_b_frames = bframes;
    AVDictionary* opts = nullptr;
    av_dict_set(&opts, "preset", "ultrafast", 0);
    if (bframes == 0) av_dict_set(&opts, "tune", "zerolatency", 0);
    const std::string params =
        "scenecut=0:open-gop=0:repeat-headers=1:bframes=" + std::to_string(bframes) +
        (bframes ? ":b-pyramid=none" : "");
    av_dict_set(&opts, "x264-params", params.c_str(), 0);
    if (avcodec_open2(enc, codec, &opts) < 0) throw std::runtime_error("cannot open libx264");
    av_dict_free(&opts);

    AVFrame* frame = av_frame_alloc();
    frame->format = AV_PIX_FMT_YUV420P;
    frame->width = kWidth;
    frame->height = kHeight;
    av_frame_get_buffer(frame, 0);
    AVPacket* pkt = av_packet_alloc();
    std::vector<EncodedPacket> out;
    auto drain = [&] {
        while (avcodec_receive_packet(enc, pkt) == 0) {
            EncodedPacket p;
            p.data.assign(pkt->data, pkt->data + pkt->size);
            p.pts = pkt->pts * 3000;
            p.dts = pkt->dts * 3000;
            p.duration = 3000;
            p.keyframe = pkt->flags & AV_PKT_FLAG_KEY;
            out.push_back(std::move(p));
            av_packet_unref(pkt);
        }
    };
    for (int i = 0; i < frames; ++i) {
        av_frame_make_writable(frame);
        for (int p = 0; p < 3; ++p) {
            const int h = p ? kHeight / 2 : kHeight;
            for (int y = 0; y < h; ++y) {
                for (int x = 0; x < frame->linesize[p]; ++x)
                    frame->data[p][y * frame->linesize[p] + x] =
                        (x + y * 2 + i * 9 + p * 40) & 0xff;
            }
        }
        frame->pts = i;
        avcodec_send_frame(enc, frame);
        drain();
    }
    avcodec_send_frame(enc, nullptr);
    drain();
    av_packet_free(&pkt);
    av_frame_free(&frame);
    avcodec_free_context(&enc);
    if (out.empty()) throw std::runtime_error("libx264 gave no packets");
    const int64_t firstDts = out.front().dts;
    for (auto& p : out) {
        p.pts -= firstDts;
        p.dts -= firstDts;
    }
    return out;
}

StreamInfo infoFor(const std::vector<EncodedPacket>& packets) {
    StreamInfo info;
    info.width = kWidth;
    info.height = kHeight;
    info.frameRate = {30, 1};
    info.extradata = h264::parameterSets(packets.front().data.data(), packets.front().data.size());
    return info;
}

void write(Muxer& muxer, const EncodedPacket& p) {
    muxer.write(p.data.data(), p.data.size(), p.pts, p.dts, p.duration, p.keyframe);
}

// --- ISO BMFF reading -------------------------------------------------------------------------

uint32_t be32(const uint8_t* p) {
    return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}
uint64_t be64(const uint8_t* p) {
    return uint64_t(be32(p)) << 32 | be32(p + 4);
}

struct Box {
    std::string type;
    const uint8_t* data = nullptr;  // the box, header included
    size_t size = 0;
    const uint8_t* body() const { return data + 8; }
    size_t bodySize() const { return size - 8; }
};

// The boxes that exactly tile [data, data + size); fails the test if they do not.
std::vector<Box> boxes(const uint8_t* data, size_t size) {
    std::vector<Box> out;
    size_t at = 0;
    while (at < size) {
        if (size - at < 8) {
            ADD_FAILURE() << "trailing " << size - at << " bytes after the boxes";
            return out;
        }
        const uint32_t boxSize = be32(data + at);
        if (boxSize < 8 || boxSize > size - at) {
            ADD_FAILURE() << "box at " << at << " has size " << boxSize << " of " << size - at;
            return out;
        }
        out.push_back(
            {std::string(reinterpret_cast<const char*>(data + at + 4), 4), data + at, boxSize});
        at += boxSize;
    }
    return out;
}
std::vector<Box> boxes(const std::vector<uint8_t>& v) {
    return boxes(v.data(), v.size());
}
std::vector<Box> children(const Box& b, size_t skip = 0) {
    return boxes(b.body() + skip, b.bodySize() - skip);
}

std::vector<std::string> types(const std::vector<Box>& bs) {
    std::vector<std::string> out;
    for (const auto& b : bs) out.push_back(b.type);
    return out;
}

// The only child of type `type`; fails the test if there is not exactly one.
Box child(const std::vector<Box>& bs, const std::string& type) {
    Box found;
    int n = 0;
    for (const auto& b : bs) {
        if (b.type == type) {
            found = b;
            ++n;
        }
    }
    EXPECT_EQ(n, 1) << "boxes of type " << type;
    if (n != 1) throw std::runtime_error("no single " + type);
    return found;
}

struct Sample {
    uint32_t duration = 0;
    uint32_t size = 0;
    uint32_t flags = 0;
    int64_t ctsOffset = 0;
    bool sync() const { return !(flags & 0x10000); }  // sample_is_non_sync_sample
};

// One moof + mdat, read back.
struct Fragment {
    uint32_t sequence = 0;
    uint64_t baseDts = 0;  // tfdt
    std::vector<Sample> samples;
    std::vector<std::vector<uint8_t>> payloads;  // each sample's bytes in the mdat
};

// Reads a take(): moof + mdat pairs, nothing else, each mdat exactly the samples its moof
// describes (default-base-is-moof offsets).
std::vector<Fragment> fragments(const std::vector<uint8_t>& bytes) {
    std::vector<Fragment> out;
    const auto top = boxes(bytes);
    if (top.size() % 2) ADD_FAILURE() << "odd number of boxes: " << top.size();
    for (size_t i = 0; i + 1 < top.size(); i += 2) {
        const Box& moof = top[i];
        const Box& mdat = top[i + 1];
        EXPECT_EQ(moof.type, "moof");
        EXPECT_EQ(mdat.type, "mdat");
        Fragment f;
        const auto moofKids = children(moof);
        EXPECT_EQ(types(moofKids), (std::vector<std::string>{"mfhd", "traf"}));
        f.sequence = be32(child(moofKids, "mfhd").body() + 4);
        const auto traf = children(child(moofKids, "traf"));

        const Box tfhd = child(traf, "tfhd");
        const uint32_t tfhdFlags = be32(tfhd.body()) & 0xffffff;
        EXPECT_TRUE(tfhdFlags & 0x20000) << "default-base-is-moof";
        EXPECT_FALSE(tfhdFlags & 0x1) << "no explicit base data offset";
        const uint8_t* p = tfhd.body() + 8;  // version/flags, track_ID
        if (tfhdFlags & 0x2) p += 4;         // sample_description_index
        uint32_t defDuration = 0, defSize = 0, defFlags = 0;
        if (tfhdFlags & 0x8) defDuration = be32(p), p += 4;
        if (tfhdFlags & 0x10) defSize = be32(p), p += 4;
        if (tfhdFlags & 0x20) defFlags = be32(p), p += 4;

        const Box tfdt = child(traf, "tfdt");
        f.baseDts = tfdt.body()[0] == 1 ? be64(tfdt.body() + 4) : be32(tfdt.body() + 4);

        const Box trun = child(traf, "trun");
        const uint8_t version = trun.body()[0];
        const uint32_t trunFlags = be32(trun.body()) & 0xffffff;
        const uint32_t count = be32(trun.body() + 4);
        p = trun.body() + 8;
        int64_t dataOffset = 0;
        if (trunFlags & 0x1) dataOffset = static_cast<int32_t>(be32(p)), p += 4;
        EXPECT_TRUE(trunFlags & 0x1) << "data offset present";
        uint32_t firstFlags = defFlags;
        const bool hasFirstFlags = trunFlags & 0x4;
        if (hasFirstFlags) firstFlags = be32(p), p += 4;
        for (uint32_t s = 0; s < count; ++s) {
            Sample sample{defDuration, defSize, s == 0 ? firstFlags : defFlags, 0};
            if (trunFlags & 0x100) sample.duration = be32(p), p += 4;
            if (trunFlags & 0x200) sample.size = be32(p), p += 4;
            if (trunFlags & 0x400) sample.flags = be32(p), p += 4;
            if (trunFlags & 0x800) {
                const uint32_t v = be32(p);
                sample.ctsOffset = version ? static_cast<int32_t>(v) : static_cast<int64_t>(v);
                p += 4;
            }
            f.samples.push_back(sample);
        }
        EXPECT_EQ(p, trun.data + trun.size) << "trun fully read";

        // The samples fill the mdat exactly, starting right after its header.
        EXPECT_EQ(dataOffset, static_cast<int64_t>(moof.size + 8));
        size_t at = 8;
        for (const auto& s : f.samples) {
            if (at + s.size > mdat.size) {
                ADD_FAILURE() << "samples overrun the mdat";
                break;
            }
            f.payloads.emplace_back(mdat.data + at, mdat.data + at + s.size);
            at += s.size;
        }
        EXPECT_EQ(at, mdat.size) << "mdat holds exactly the samples";
        out.push_back(std::move(f));
    }
    return out;
}

// NAL unit payloads (no start codes or lengths, trailing zero bytes dropped).
using Nals = std::vector<std::vector<uint8_t>>;
void addNal(Nals& out, const uint8_t* b, const uint8_t* e) {
    while (e > b && e[-1] == 0) --e;
    if (e > b) out.emplace_back(b, e);
}
Nals annexBNals(const std::vector<uint8_t>& d) {
    Nals out;
    const uint8_t* start = nullptr;
    for (size_t i = 0; i + 3 <= d.size(); ++i) {
        if (d[i] == 0 && d[i + 1] == 0 && d[i + 2] == 1) {
            if (start) addNal(out, start, d.data() + i);
            start = d.data() + i + 3;
            i += 2;
        }
    }
    if (start) addNal(out, start, d.data() + d.size());
    return out;
}
// Length-prefixed (4 bytes) NAL units; fails the test unless they fill the sample exactly.
Nals lengthPrefixedNals(const std::vector<uint8_t>& d) {
    Nals out;
    size_t at = 0;
    while (at < d.size()) {
        if (d.size() - at < 4 || be32(d.data() + at) > d.size() - at - 4) {
            ADD_FAILURE() << "NAL length at " << at << " overruns the sample";
            return out;
        }
        const uint32_t n = be32(d.data() + at);
        addNal(out, d.data() + at + 4, d.data() + at + 4 + n);
        at += 4 + n;
    }
    return out;
}

std::vector<uint8_t> concat(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
    std::vector<uint8_t> out = a;
    out.insert(out.end(), b.begin(), b.end());
    return out;
}

// --- Tests ------------------------------------------------------------------------------------

TEST(Fmp4Muxer, InitIsFtypAndMoovWithTheParameterSetsAsAvcC) {
    const auto packets = encode(3, 30);
    const StreamInfo info = infoFor(packets);
    Fmp4Muxer muxer(info);
    const std::vector<uint8_t> init = muxer.init();
    const auto top = boxes(init);
    ASSERT_EQ(types(top), (std::vector<std::string>{"ftyp", "moov"}));

    // CMAF brand among the compatible ones.
    const Box ftyp = top[0];
    bool cmfc = false;
    for (size_t at = 8; at + 4 <= ftyp.bodySize(); at += 4)
        cmfc |= std::string(reinterpret_cast<const char*>(ftyp.body() + at), 4) == "cmfc";
    EXPECT_TRUE(cmfc);

    const auto moov = children(top[1]);
    const auto mvex = children(child(moov, "mvex"));  // fragmented
    EXPECT_EQ(types(mvex), (std::vector<std::string>{"trex"}));
    const auto trak = children(child(moov, "trak"));
    const auto trakTypes = types(trak);
    EXPECT_EQ(std::count(trakTypes.begin(), trakTypes.end(), "edts"), 0) << "no edit list";
    const auto stbl =
        children(child(children(child(children(child(trak, "mdia")), "minf")), "stbl"));
    // No samples in the moov: everything is in fragments.
    const Box stsz = child(stbl, "stsz");
    EXPECT_EQ(be32(stsz.body() + 8), 0u) << "sample count";
    const Box stsd = child(stbl, "stsd");
    const auto entries = children(stsd, 8);  // version/flags, entry count
    ASSERT_EQ(types(entries), (std::vector<std::string>{"avc1"}));
    const auto avc1 = children(entries[0], 78);  // visual sample entry fields
    const Box avcC = child(avc1, "avcC");

    // avcC: version 1, 4-byte lengths, then the SPS and PPS of the extradata, start codes gone.
    const uint8_t* c = avcC.body();
    EXPECT_EQ(c[0], 1);
    EXPECT_EQ(c[4] & 3, 3) << "NAL length size 4";
    Nals sets;
    size_t at = 5;
    for (int kind = 0; kind < 2; ++kind) {
        const int n = kind == 0 ? c[at] & 0x1f : c[at];
        ++at;
        for (int i = 0; i < n; ++i) {
            const size_t len = size_t(c[at]) << 8 | c[at + 1];
            sets.emplace_back(c + at + 2, c + at + 2 + len);
            at += 2 + len;
        }
    }
    EXPECT_EQ(sets, annexBNals(info.extradata));
    EXPECT_EQ(sets.size(), 2u);

    // Fixed: writing does not change it.
    write(muxer, packets[0]);
    EXPECT_FALSE(muxer.take().empty());
    EXPECT_EQ(muxer.init(), init);
}

TEST(Fmp4Muxer, EachTakeIsWholeFragmentsOfLengthPrefixedSamples) {
    const auto packets = encode(30, 10);
    Fmp4Muxer muxer(infoFor(packets));
    size_t next = 0;
    uint32_t sequence = 0;
    // Takes of 1, 2, 3, ... packets; a segment starts at each keyframe, inside a take or not.
    for (size_t n = 1; next < packets.size(); ++n) {
        const size_t end = std::min(packets.size(), next + n);
        size_t expectedFragments = 1;
        for (size_t i = next; i < end; ++i) {
            if (packets[i].keyframe) {
                muxer.startPart();
                if (i != next) ++expectedFragments;
            }
            write(muxer, packets[i]);
        }
        const auto bytes = muxer.take();
        const auto frags = fragments(bytes);
        ASSERT_EQ(frags.size(), expectedFragments) << "take of packets " << next << "-" << end;
        size_t i = next;
        for (const auto& f : frags) {
            EXPECT_EQ(f.sequence, ++sequence);
            ASSERT_EQ(f.payloads.size(), f.samples.size());
            for (size_t s = 0; s < f.samples.size(); ++s, ++i) {
                ASSERT_LT(i, end);
                EXPECT_EQ(lengthPrefixedNals(f.payloads[s]), annexBNals(packets[i].data))
                    << "packet " << i;
                EXPECT_EQ(f.samples[s].sync(), packets[i].keyframe) << "packet " << i;
            }
        }
        EXPECT_EQ(i, end) << "every packet written is in the take";
        next = end;
    }
}

TEST(Fmp4Muxer, TakeWithNothingWrittenIsEmpty) {
    const auto packets = encode(2, 30);
    Fmp4Muxer muxer(infoFor(packets));
    EXPECT_TRUE(muxer.take().empty());
    muxer.startPart();
    EXPECT_TRUE(muxer.take().empty());
    write(muxer, packets[0]);
    EXPECT_EQ(fragments(muxer.take()).size(), 1u);
    EXPECT_TRUE(muxer.take().empty());
    muxer.startPart();
    muxer.startPart();
    EXPECT_TRUE(muxer.take().empty());
    write(muxer, packets[1]);
    const auto frags = fragments(muxer.take());
    ASSERT_EQ(frags.size(), 1u);
    EXPECT_EQ(frags[0].sequence, 2u) << "no empty fragment in between";
}

// Variable frame durations (a camera's), takes of different lengths: each fragment's tfdt is
// its first dts and every sample, the last of a fragment included, has its packet's duration.
TEST(Fmp4Muxer, FragmentTimingIsThePacketsTiming) {
    auto packets = encode(24, 12);
    const int64_t durations[] = {3000, 3003, 2997, 3600, 1500, 4500, 3000};
    int64_t t = 0;
    for (size_t i = 0; i < packets.size(); ++i) {
        packets[i].dts = packets[i].pts = t;
        packets[i].duration = durations[i % std::size(durations)];
        t += packets[i].duration;
    }
    Fmp4Muxer muxer(infoFor(packets));
    std::vector<uint8_t> all = muxer.init();
    const size_t takeSizes[] = {1, 4, 2, 5, 3, 6, 3};
    size_t next = 0;
    for (size_t n : takeSizes) {
        const size_t end = next + n;
        int64_t sum = 0;
        for (size_t i = next; i < end; ++i) {
            write(muxer, packets[i]);
            sum += packets[i].duration;
        }
        const auto bytes = muxer.take();
        const auto frags = fragments(bytes);
        ASSERT_EQ(frags.size(), 1u);
        EXPECT_EQ(frags[0].baseDts, static_cast<uint64_t>(us(packets[next].dts)));
        ASSERT_EQ(frags[0].samples.size(), n);
        int64_t fragmentSum = 0;
        for (size_t s = 0; s < n; ++s) {
            // Each sample ends exactly where the next one starts, in whole microseconds.
            const auto& p = packets[next + s];
            EXPECT_EQ(frags[0].samples[s].duration, us(p.dts + p.duration) - us(p.dts))
                << "packet " << next + s;
            EXPECT_EQ(frags[0].samples[s].ctsOffset, 0);
            fragmentSum += frags[0].samples[s].duration;
        }
        EXPECT_EQ(fragmentSum, us(packets[next].dts + sum) - us(packets[next].dts));
        all.insert(all.end(), bytes.begin(), bytes.end());
        next = end;
    }
    ASSERT_EQ(next, packets.size());

    // The same timing through libavformat's demuxer. (Its packet durations are no use here:
    // with fragments it guesses them from the frame rate, so the dts steps are compared, and
    // the stream's duration, which is the sum of the fragments' sample durations.)
    const Readback r = readBack(all);
    ASSERT_TRUE(r.opened);
    EXPECT_EQ(r.timeBase.num, 1);
    EXPECT_EQ(r.timeBase.den, kTrackTimescale);
    ASSERT_EQ(r.dts.size(), packets.size());
    for (size_t i = 0; i < packets.size(); ++i) {
        EXPECT_EQ(r.dts[i], us(packets[i].dts)) << "packet " << i;
        EXPECT_EQ(r.pts[i], us(packets[i].pts)) << "packet " << i;
        if (i + 1 < packets.size()) {
            EXPECT_EQ(r.dts[i + 1] - r.dts[i], us(packets[i + 1].dts) - us(packets[i].dts))
                << "packet " << i;
        }
    }
    EXPECT_EQ(r.duration, us(packets.back().dts + packets.back().duration));
    EXPECT_EQ(r.frames, static_cast<int>(packets.size()));
}

TEST(Fmp4Muxer, ASegmentStartingAtAKeyframeDecodesAloneAfterInit) {
    const int gop = 10;
    const auto packets = encode(3 * gop, gop);
    Fmp4Muxer muxer(infoFor(packets));
    for (int segment = 0; segment < 3; ++segment) {
        muxer.startPart();
        std::vector<uint8_t> bytes;
        for (int i = 0; i < gop; ++i) {
            write(muxer, packets[segment * gop + i]);
            if (i % 4 == 3 || i == gop - 1) {  // parts of 4 frames
                const auto part = muxer.take();
                bytes.insert(bytes.end(), part.begin(), part.end());
            }
        }
        const auto frags = fragments(bytes);
        ASSERT_EQ(frags.size(), 3u);
        EXPECT_EQ(frags[0].baseDts, static_cast<uint64_t>(us(packets[segment * gop].dts)));
        EXPECT_TRUE(frags[0].samples.at(0).sync());

        const Readback r = readBack(concat(muxer.init(), bytes));
        ASSERT_TRUE(r.opened) << "segment " << segment;
        EXPECT_EQ(r.frames, gop) << "segment " << segment;
        EXPECT_TRUE(r.firstFrameIntra) << "segment " << segment;
        EXPECT_FALSE(r.decodeErrors) << "segment " << segment;
        ASSERT_EQ(r.dts.size(), static_cast<size_t>(gop));
        EXPECT_EQ(r.dts.front(), us(packets[segment * gop].dts));
    }
}

// With and without B-frames (pts > dts, reordered): the init and every fragment, in order,
// decode to every frame with the packets' own timestamps. CMAF writes composition offsets
// relative to the first sample's (signed, trun version 1, no edit list): the presentation
// times in the file are the pts minus the first packet's pts - dts, the same for the whole run
// (0 without reordering).
class Fmp4MuxerStream : public testing::TestWithParam<int> {};

TEST_P(Fmp4MuxerStream, InitAndAllFragmentsDecodeEveryFrameInOrder) {
    const int bframes = GetParam();
    const auto packets = encode(40, 20, bframes);
    ASSERT_EQ(packets.size(), 40u);
    bool reordered = false;
    for (const auto& p : packets) reordered |= p.pts != p.dts;
    EXPECT_EQ(reordered, bframes > 0);

    const int64_t shift = packets[0].pts - packets[0].dts;
    Fmp4Muxer muxer(infoFor(packets));
    std::vector<uint8_t> all = muxer.init();
    size_t taken = 0;  // packets in the takes so far
    for (size_t i = 0; i < packets.size(); ++i) {
        if (packets[i].keyframe) muxer.startPart();
        write(muxer, packets[i]);
        if (i % 3 != 2 && i + 1 != packets.size()) continue;
        const auto part = muxer.take();
        for (const auto& f : fragments(part)) {
            EXPECT_EQ(f.baseDts, static_cast<uint64_t>(us(packets[taken].dts)));
            for (const auto& sample : f.samples) {
                ASSERT_LE(taken, i);
                const auto& p = packets[taken++];
                EXPECT_EQ(us(p.dts) + sample.ctsOffset, us(p.pts) - us(shift));
            }
        }
        EXPECT_EQ(taken, i + 1);
        all.insert(all.end(), part.begin(), part.end());
    }

    const Readback r = readBack(all);
    ASSERT_TRUE(r.opened);
    ASSERT_EQ(r.dts.size(), packets.size());
    for (size_t i = 0; i < packets.size(); ++i) {
        EXPECT_EQ(r.dts[i], us(packets[i].dts)) << "packet " << i;
        // (libavformat adds the largest negative offset back to its pts, so the difference.)
        EXPECT_EQ(r.pts[i] - r.pts[0], us(packets[i].pts) - us(packets[0].pts)) << "packet " << i;
        if (i > 0) {
            EXPECT_GT(r.dts[i], r.dts[i - 1]);
        }
    }
    EXPECT_EQ(r.frames, static_cast<int>(packets.size()));
    EXPECT_FALSE(r.decodeErrors);
    std::vector<int64_t> expectedPts;
    for (const auto& p : packets) expectedPts.push_back(us(p.pts) - us(packets[0].pts) + r.pts[0]);
    std::sort(expectedPts.begin(), expectedPts.end());
    EXPECT_EQ(r.framePts, expectedPts) << "frames come out in presentation order";
}

INSTANTIATE_TEST_SUITE_P(BFrames, Fmp4MuxerStream, testing::Values(0, 2));

// A moof must fit in the muxer's I/O buffer: very long fragments are split, and the take
// still tiles exactly into moof + mdat pairs holding every sample.
TEST(Fmp4Muxer, AVeryLongFragmentIsSplitIntoWholeFragments) {
    const auto packets = encode(1, 30);
    Fmp4Muxer muxer(infoFor(packets));
    // 12000 samples of varying sizes and durations: 8 bytes each in a trun, a 96 kB moof if
    // it were one fragment. Each payload carries its index (no start code emulation: the last
    // byte is 0x80).
    const int count = 12000;
    std::vector<int64_t> dts;
    int64_t t = 0;
    for (int i = 0; i < count; ++i) {
        std::vector<uint8_t> frame = {0, 0, 0, 1, 0x65, uint8_t(i >> 8), uint8_t(i)};
        frame.insert(frame.end(), i % 7, 0x11);
        frame.push_back(0x80);
        const int64_t duration = 3000 + i % 3;
        muxer.write(frame.data(), frame.size(), t, t, duration, i == 0);
        dts.push_back(t);
        t += duration;
    }
    const auto frags = fragments(muxer.take());
    ASSERT_GE(frags.size(), 2u);
    size_t samples = 0;
    for (const auto& f : frags) {
        ASSERT_LT(samples, dts.size());
        EXPECT_EQ(f.baseDts, static_cast<uint64_t>(us(dts[samples])));
        for (size_t s = 0; s < f.payloads.size(); ++s, ++samples) {
            const auto nals = lengthPrefixedNals(f.payloads[s]);
            ASSERT_EQ(nals.size(), 1u);
            ASSERT_EQ(nals[0].size(), 4u + samples % 7) << "sample " << samples;
            EXPECT_EQ(nals[0][1] << 8 | nals[0][2], static_cast<int>(samples));
            EXPECT_EQ(f.samples[s].duration,
                      us(dts[samples] + 3000 + samples % 3) - us(dts[samples]));
        }
    }
    EXPECT_EQ(samples, static_cast<size_t>(count));
}

TEST(Fmp4Muxer, RefusesAStreamWithoutSpsAndPpsOrSize) {
    StreamInfo info;
    info.width = kWidth;
    info.height = kHeight;
    EXPECT_THROW(Fmp4Muxer{info}, std::runtime_error);
    const auto packets = encode(1, 30);
    info.extradata = h264::parameterSets(packets[0].data.data(), packets[0].data.size());
    const auto nals = annexBNals(info.extradata);
    ASSERT_EQ(nals.size(), 2u);
    info.extradata = {0, 0, 0, 1};  // the SPS alone
    info.extradata.insert(info.extradata.end(), nals[0].begin(), nals[0].end());
    EXPECT_THROW(Fmp4Muxer{info}, std::runtime_error);
    // The header fails (and what was made for it is freed: the sanitizer builds check).
    info.extradata = h264::parameterSets(packets[0].data.data(), packets[0].data.size());
    info.width = 0;
    EXPECT_THROW(Fmp4Muxer{info}, std::runtime_error);
}

TEST(Fmp4Muxer, DtsGoingBackThrows) {
    const auto packets = encode(2, 30);
    Fmp4Muxer muxer(infoFor(packets));
    write(muxer, packets[1]);
    EXPECT_THROW(write(muxer, packets[0]), std::runtime_error);
}

TEST(MakeMuxer, MakesTheContainerAsked) {
    const auto packets = encode(1, 30);
    const StreamInfo info = infoFor(packets);

    auto fmp4 = makeMuxer(Container::Fmp4, info);
    EXPECT_EQ(types(boxes(fmp4->init())), (std::vector<std::string>{"ftyp", "moov"}));
    write(*fmp4, packets[0]);
    EXPECT_EQ(fragments(fmp4->take()).size(), 1u);

    auto ts = makeMuxer(Container::MpegTs, info);
    EXPECT_TRUE(ts->init().empty());
    ts->startPart();
    write(*ts, packets[0]);
    const auto bytes = ts->take();
    ASSERT_FALSE(bytes.empty());
    EXPECT_EQ(bytes.size() % 188, 0u);
    for (size_t at = 0; at < bytes.size(); at += 188) EXPECT_EQ(bytes[at], 0x47) << at;
}

}  // namespace
}  // namespace hlsd
