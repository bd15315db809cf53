#include "source/h264.h"

#include <gtest/gtest.h>

namespace hlsd::h264 {
namespace {

const std::vector<uint8_t> kAccessUnit = {
    0, 0, 0, 1,    0x09, 0xf0,              // AUD
    0, 0, 0, 1,    0x67, 0x64, 0x00, 0x1f,  // SPS
    0, 0, 1, 0x68, 0xee, 0x3c, 0x80,        // PPS (3-byte start code)
    0, 0, 0, 1,    0x65, 0x88, 0x84, 0x00,  // IDR slice, ending in a zero byte
};

TEST(H264, NalTypesInOrder) {
    EXPECT_EQ(nalTypes(kAccessUnit), (std::vector<int>{kAud, kSps, kPps, kIdr}));
    EXPECT_TRUE(contains(nalTypes(kAccessUnit), kIdr));
    EXPECT_FALSE(contains(nalTypes(kAccessUnit), kSei));
}

TEST(H264, NoStartCodeNoUnits) {
    std::vector<uint8_t> avcc = {0, 0, 0, 5, 0x65, 1, 2, 3, 4};
    EXPECT_TRUE(nalTypes(avcc).empty());
    EXPECT_FALSE(isAnnexB(avcc.data(), avcc.size()));
    EXPECT_TRUE(isAnnexB(kAccessUnit.data(), kAccessUnit.size()));
}

TEST(H264, ParameterSetsAreExtractedWithStartCodes) {
    auto ps = parameterSets(kAccessUnit.data(), kAccessUnit.size());
    std::vector<uint8_t> expected = {0, 0, 0, 1, 0x67, 0x64, 0x00, 0x1f,
                                     0, 0, 0, 1, 0x68, 0xee, 0x3c, 0x80};
    EXPECT_EQ(ps, expected);
    EXPECT_EQ(nalTypes(ps), (std::vector<int>{kSps, kPps}));
}

// --- withParameterSets ---------------------------------------------------------------------

const std::vector<uint8_t> kSets = {0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1e,   // SPS
                                    0, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80};  // PPS

std::vector<uint8_t> cat(std::initializer_list<std::vector<uint8_t>> parts) {
    std::vector<uint8_t> out;
    for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

std::vector<uint8_t> insert(const std::vector<uint8_t>& au) {
    return withParameterSets(au.data(), au.size(), kSets);
}

TEST(H264, ParameterSetsGoAheadOfAnAccessUnitWithoutDelimiter) {
    const std::vector<uint8_t> slice = {0, 0, 0, 1, 0x41, 0x9a, 0x02, 0x03};  // non-IDR slice
    const std::vector<uint8_t> sei = {0, 0, 1, 0x06, 0x05, 0x01, 0x80};       // 3-byte start code
    const auto au = cat({sei, slice});
    const auto out = insert(au);
    EXPECT_EQ(nalTypes(out), (std::vector<int>{kSps, kPps, kSei, kSlice}));
    // The sets, then the access unit byte for byte.
    EXPECT_EQ(out, cat({kSets, au}));
}

// The delimiter stays first (H.264 7.4.1.2.3), with either start code after it; the bytes of
// every NAL unit, start codes included, are those of the input.
TEST(H264, ParameterSetsGoRightAfterALeadingDelimiter) {
    const std::vector<uint8_t> aud = {0, 0, 0, 1, 0x09, 0xf0};
    const std::vector<uint8_t> idr4 = {0, 0, 0, 1, 0x65, 0x88, 0x84, 0x21};
    const std::vector<uint8_t> idr3 = {0, 0, 1, 0x65, 0x88, 0x84, 0x21};
    for (const auto& slice : {idr4, idr3}) {
        SCOPED_TRACE(slice.size());
        const auto out = insert(cat({aud, slice}));
        EXPECT_EQ(nalTypes(out), (std::vector<int>{kAud, kSps, kPps, kIdr}));
        EXPECT_EQ(out, cat({aud, kSets, slice}));
    }
    // A 3-byte start code ahead of the delimiter too.
    const std::vector<uint8_t> aud3 = {0, 0, 1, 0x09, 0x10};
    const auto out = insert(cat({aud3, idr3}));
    EXPECT_EQ(nalTypes(out), (std::vector<int>{kAud, kSps, kPps, kIdr}));
    EXPECT_EQ(out, cat({aud3, kSets, idr3}));
    // A real access unit that already starts with AUD, SPS, PPS: the sets after the AUD, the rest
    // unchanged.
    const auto full = insert(kAccessUnit);
    EXPECT_EQ(nalTypes(full), (std::vector<int>{kAud, kSps, kPps, kSps, kPps, kIdr}));
    EXPECT_EQ(full, cat({{kAccessUnit.begin(), kAccessUnit.begin() + 6},
                         kSets,
                         {kAccessUnit.begin() + 6, kAccessUnit.end()}}));
}

TEST(H264, ParameterSetsFollowAnAccessUnitThatIsOnlyADelimiter) {
    const std::vector<uint8_t> aud = {0, 0, 0, 1, 0x09, 0xf0};
    const auto out = insert(aud);
    EXPECT_EQ(nalTypes(out), (std::vector<int>{kAud, kSps, kPps}));
    EXPECT_EQ(out, cat({aud, kSets}));
}

TEST(H264, NoParameterSetsLeaveTheAccessUnitAsItIs) {
    const auto out = withParameterSets(kAccessUnit.data(), kAccessUnit.size(), {});
    EXPECT_EQ(out, kAccessUnit);
}

}  // namespace
}  // namespace hlsd::h264
