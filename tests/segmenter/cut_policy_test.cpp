#include <gtest/gtest.h>

#include "hlsd/segmenter.h"

namespace hlsd {
namespace {

constexpr int64_t kFrame = 3000;  // 30 fps

struct Step {
    int64_t pts;
    int64_t dts;
    bool key;
};

// Runs a synthetic stream and returns a letter per packet:
// '-' dropped, 'S' starts a segment, 'D' starts one after a discontinuity, '.' continues,
// 'x' closes the segment and is dropped.
std::string trace(CutPolicy& policy, const std::vector<Step>& steps) {
    std::string out;
    for (const auto& s : steps) {
        CutDecision d = policy.next(s.pts, s.dts, s.key);
        if (d.drop) {
            out += d.closeSegment ? 'x' : '-';
        } else if (d.openSegment) {
            out += d.discontinuity ? 'D' : 'S';
        } else {
            out += '.';
        }
    }
    return out;
}

std::vector<Step> gopStream(int frames, int gop, int64_t start = 0) {
    std::vector<Step> s;
    for (int i = 0; i < frames; ++i)
        s.push_back({start + i * kFrame, start + i * kFrame, i % gop == 0});
    return s;
}

TEST(CutPolicy, CutsOnTheKeyframeAtSegmentTime) {
    CutPolicy p(1.0);
    EXPECT_EQ(trace(p, gopStream(61, 30)),
              "S" + std::string(29, '.') + "S" + std::string(29, '.') + "S");
}

TEST(CutPolicy, KeyframesBeforeSegmentTimeDoNotCut) {
    CutPolicy p(1.0);
    // GOP of 20 frames (0.667 s): keyframes at 0.667 s are too early; 1.333 s is the first after.
    EXPECT_EQ(trace(p, gopStream(41, 20)), "S" + std::string(39, '.') + "S");
}

TEST(CutPolicy, KeyframeAfterSegmentTimeCutsThere) {
    CutPolicy p(1.0);
    // GOP 45 (1.5 s): segments of 1.5 s.
    std::string t = trace(p, gopStream(91, 45));
    EXPECT_EQ(t, "S" + std::string(44, '.') + "S" + std::string(44, '.') + "S");
}

TEST(CutPolicy, MillisecondRoundingStillCutsOnTime) {
    CutPolicy p(1.0);
    // 30 fps in a millisecond time base: 33/34 ms frames, the 30th lands at 999 ms.
    std::vector<Step> s;
    for (int i = 0; i <= 30; ++i) {
        int64_t ms = (i * 1000) / 30;
        s.push_back({ms * 90, ms * 90, i % 30 == 0});
    }
    s.back().pts = s.back().dts = 999 * 90;
    EXPECT_EQ(trace(p, s).back(), 'S');
}

TEST(CutPolicy, FractionalSegmentTime) {
    CutPolicy p(0.5);
    EXPECT_EQ(trace(p, gopStream(31, 15)),
              "S" + std::string(14, '.') + "S" + std::string(14, '.') + "S");
}

TEST(CutPolicy, DropsUntilTheFirstKeyframe) {
    CutPolicy p(1.0);
    std::vector<Step> s = gopStream(40, 30, 0);
    s.erase(s.begin());  // the stream joins mid-GOP
    EXPECT_EQ(trace(p, s), std::string(29, '-') + "S" + std::string(9, '.'));
}

TEST(CutPolicy, MissingKeyframesGrowTheSegment) {
    CutPolicy p(1.0);
    auto s = gopStream(150, 30);
    for (auto& step : s) step.key = step.dts == 0 || step.dts == 120 * kFrame;
    std::string t = trace(p, s);
    EXPECT_EQ(t, "S" + std::string(119, '.') + "S" + std::string(29, '.'));
    EXPECT_EQ(p.keyframeInterval(), 120 * kFrame);
}

TEST(CutPolicy, BackwardJumpOnKeyframeIsADiscontinuity) {
    CutPolicy p(1.0);
    auto s = gopStream(45, 30);
    auto restart = gopStream(31, 30, 0);  // timestamps start over
    s.insert(s.end(), restart.begin(), restart.end());
    EXPECT_EQ(trace(p, s), "S" + std::string(29, '.') + "S" + std::string(14, '.') + "D" +
                               std::string(29, '.') + "S");
}

TEST(CutPolicy, ForwardJumpMidGopClosesThenWaitsForKeyframe) {
    CutPolicy p(1.0);
    auto s = gopStream(20, 30);
    auto later = gopStream(40, 30, 20 * kFrame + 5 * kTimeBase);  // 5 s gap, mid-GOP
    for (auto& step : later) step.key = (step.dts - later[0].dts) / kFrame == 10;
    s.insert(s.end(), later.begin(), later.end());
    std::string t = trace(p, s);
    EXPECT_EQ(t,
              "S" + std::string(19, '.') + "x" + std::string(9, '-') + "D" + std::string(29, '.'));
}

TEST(CutPolicy, SmallGapsAreNotJumps) {
    CutPolicy p(1.0);
    auto s = gopStream(31, 30);
    for (size_t i = 10; i < s.size(); ++i) {
        s[i].pts += 5 * kFrame;  // five dropped frames
        s[i].dts += 5 * kFrame;
    }
    std::string t = trace(p, s);
    EXPECT_EQ(t.find_first_of("xD-"), std::string::npos) << t;
}

TEST(CutPolicy, BFramesUsePresentationTimeOfTheKeyframe) {
    CutPolicy p(1.0);
    // I P B B ... with pts = dts + 2 frames on the I; decode order, GOP 30.
    std::vector<Step> s;
    for (int i = 0; i <= 60; ++i) s.push_back({(i + 2) * kFrame, i * kFrame, i % 30 == 0});
    EXPECT_EQ(trace(p, s), "S" + std::string(29, '.') + "S" + std::string(29, '.') + "S");
}

}  // namespace
}  // namespace hlsd
