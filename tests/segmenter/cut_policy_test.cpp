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

// ---------------------------------------------------------------------------------------------
// TimelineGuard: one letter per packet, 'p' passes, 'h' held, 'r' releases the held one.

std::string guardTrace(TimelineGuard& g, std::vector<Step>& steps) {
    std::string out;
    for (auto& s : steps) {
        switch (g.next(s.pts, s.dts, kFrame)) {
            case TimelineGuard::Verdict::Pass:
                out += 'p';
                break;
            case TimelineGuard::Verdict::Hold:
                out += 'h';
                break;
            case TimelineGuard::Verdict::ReleaseHeld:
                out += 'r';
                break;
        }
    }
    return out;
}

TEST(TimelineGuard, PassesARegularStreamUnchanged) {
    TimelineGuard g;
    auto s = gopStream(90, 30);
    for (auto& step : s) step.pts += 2 * kFrame;  // B-frame delay
    const auto original = s;
    EXPECT_EQ(guardTrace(g, s), std::string(90, 'p'));
    for (size_t i = 0; i < s.size(); ++i) {
        EXPECT_EQ(s[i].pts, original[i].pts);
        EXPECT_EQ(s[i].dts, original[i].dts);
    }
}

TEST(TimelineGuard, OneFrameOutOfLineIsHeldThenDroppedWhenTheStreamGoesOn) {
    TimelineGuard g;
    auto s = gopStream(20, 30, 100 * kTimeBase);
    s[10] = {3 * kTimeBase, 3 * kTimeBase, true};       // a stray keyframe from 97 s earlier
    s[11] = {500 * kTimeBase, 500 * kTimeBase, false};  // and garbage 400 s ahead
    EXPECT_EQ(guardTrace(g, s), std::string(10, 'p') + "hh" + std::string(8, 'p'));
    EXPECT_EQ(s[12].dts, 100 * kTimeBase + 12 * kFrame);
}

TEST(TimelineGuard, AJumpTheNextPacketConfirmsIsReleased) {
    TimelineGuard g;
    auto s = gopStream(10, 30, 100 * kTimeBase);
    auto back = gopStream(10, 30, 0);  // starts over at 0
    auto ahead = gopStream(10, 30, 200 * kTimeBase);
    s.insert(s.end(), back.begin(), back.end());
    s.insert(s.end(), ahead.begin(), ahead.end());
    EXPECT_EQ(guardTrace(g, s),
              std::string(10, 'p') + "hr" + std::string(8, 'p') + "hr" + std::string(8, 'p'));
    EXPECT_EQ(s[11].dts, kFrame);  // a released jump is not restamped
    EXPECT_EQ(g.offset(), 0);
}

TEST(TimelineGuard, StalledFramesAreRestampedAndTheOffsetGivenBackWhenTheClockCatchesUp) {
    TimelineGuard g;
    auto s = gopStream(90, 30);
    for (int i = 41; i < 60; ++i) s[i].pts = s[i].dts = 40 * kFrame;  // frozen, then on time
    EXPECT_EQ(guardTrace(g, s), std::string(90, 'p'));
    for (int i = 0; i < 90; ++i) EXPECT_EQ(s[i].dts, i * kFrame) << i;  // as if never frozen
    EXPECT_EQ(g.restamped(), 19u);
    EXPECT_EQ(g.offset(), 0);
}

TEST(TimelineGuard, AClockThatPausedKeepsTheOffset) {
    TimelineGuard g;
    auto s = gopStream(90, 30);
    for (int i = 41; i < 90; ++i) {
        // Frozen for 20 frames (41..60 repeat frame 40's time), then going on from where it
        // stopped, one frame at a time: the source's clock lost 20 frames for good.
        const int64_t t = i <= 60 ? 40 * kFrame : (40 + i - 60) * kFrame;
        s[i].pts = s[i].dts = t;
    }
    EXPECT_EQ(guardTrace(g, s), std::string(90, 'p'));
    for (int i = 0; i < 90; ++i) EXPECT_EQ(s[i].dts, i * kFrame) << i;
    EXPECT_EQ(g.offset(), 20 * kFrame);
}

TEST(TimelineGuard, ImpossiblePresentationTimesBecomeTheDecodeTime) {
    TimelineGuard g;
    auto s = gopStream(5, 30);
    s[2].pts = s[2].dts - kFrame;           // before its dts
    s[3].pts = s[3].dts + 100 * kTimeBase;  // 100 s after it
    EXPECT_EQ(guardTrace(g, s), "ppppp");
    EXPECT_EQ(s[2].pts, s[2].dts);
    EXPECT_EQ(s[3].pts, s[3].dts);
    EXPECT_EQ(g.fixedPts(), 2u);
}

TEST(TimelineGuard, AStreamThatNeverFollowsStillPasses) {
    TimelineGuard g;
    std::vector<Step> s;
    for (int i = 0; i < 30; ++i) s.push_back({i * 7 * kTimeBase, i * 7 * kTimeBase, true});
    std::string t = guardTrace(g, s);
    EXPECT_NE(t.find('p', 1), std::string::npos) << t;  // not everything is held forever
    EXPECT_EQ(t.substr(0, 10), "p" + std::string(8, 'h') + "p");
}

}  // namespace
}  // namespace hlsd
