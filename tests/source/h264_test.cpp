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

}  // namespace
}  // namespace hlsd::h264
