#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "hlsd/playlist.h"
#include "hlsd/store.h"
#include "support/m3u8.h"

namespace hlsd {
namespace {

std::shared_ptr<Segment> makeSegment(uint64_t msn, double duration, bool discontinuity = false,
                                     uint64_t dseq = 0, double gop = 1.0) {
    auto s = std::make_shared<Segment>();
    s->msn = msn;
    s->name = "r-" + std::to_string(msn) + ".ts";
    s->addPart(std::make_shared<Part>(
        Part{std::vector<uint8_t>(188 * (1 + msn % 3), static_cast<uint8_t>(msn)), 1.0, true}));
    s->duration = duration;
    s->programDateTime = WallClock::time_point(std::chrono::seconds(1000 + msn));
    s->discontinuity = discontinuity;
    s->discontinuitySequence = dseq;
    s->keyframeInterval = gop;
    return s;
}

TEST(SegmentStore, EmptyBeforeTheFirstSegment) {
    SegmentStore store({4, 2, 1.0});
    auto snap = store.snapshot();
    EXPECT_TRUE(snap->playlist.empty());
    EXPECT_TRUE(snap->window.empty());
}

TEST(SegmentStore, WindowAndPlaylistFollowWrapAndListSize) {
    SegmentStore store({4, 2, 1.0});
    for (uint64_t i = 0; i < 10; ++i) {
        store.publish(makeSegment(i, 1.0));
        auto snap = store.snapshot();
        EXPECT_EQ(snap->window.size(), std::min<size_t>(i + 1, 4));
        EXPECT_EQ(snap->window.front()->msn, firstKept(i + 1, 4));
        auto p = test::parseM3u8(snap->playlist);
        ASSERT_TRUE(p);
        EXPECT_EQ(p->segments.size(), std::min<size_t>(i + 1, 2));
        EXPECT_EQ(p->mediaSequence, static_cast<long long>(firstListed(i + 1, 2)));
        EXPECT_EQ(p->segments.back().uri, "r-" + std::to_string(i) + ".ts");
        EXPECT_FALSE(p->endList);
    }
    EXPECT_TRUE(store.snapshot()->find("r-6.ts"));
    EXPECT_FALSE(store.snapshot()->find("r-5.ts"));  // rotated out
}

TEST(SegmentStore, TargetDurationIsFixedAndNeverShrinks) {
    SegmentStore store({5, 3, 1.0});
    store.publish(makeSegment(0, 2.0, false, 0, 2.0));  // GOP 2 s: segments of 2 s
    EXPECT_EQ(store.snapshot()->targetDuration, 2);
    store.publish(makeSegment(1, 0.5));
    store.publish(makeSegment(2, 1.0));
    EXPECT_EQ(test::parseM3u8(store.snapshot()->playlist)->targetDuration, 2);
    store.publish(makeSegment(3, 3.2));  // overrun: warned about, but TD holds
    EXPECT_EQ(test::parseM3u8(store.snapshot()->playlist)->targetDuration, 2);
}

TEST(SegmentStore, ChooseTargetDuration) {
    Segment s;
    s.duration = 1.0;
    s.keyframeInterval = 1.0;
    EXPECT_EQ(SegmentStore::chooseTargetDuration(1.0, s), 1);
    s.keyframeInterval = 1.5;  // cuts at 1.5 s
    EXPECT_EQ(SegmentStore::chooseTargetDuration(1.0, s), 2);
    s.keyframeInterval = 0.4;  // cuts at 1.2 s → rounds to 1
    EXPECT_EQ(SegmentStore::chooseTargetDuration(1.0, s), 1);
    s.keyframeInterval = 0;
    s.duration = 0.5;
    EXPECT_EQ(SegmentStore::chooseTargetDuration(0.5, s), 1);  // never 0
    s.duration = 4.0;
    EXPECT_EQ(SegmentStore::chooseTargetDuration(4.0, s), 4);
    s.duration = 1.001;  // 29.97 fps, GOP 30
    s.keyframeInterval = 1.001;
    EXPECT_EQ(SegmentStore::chooseTargetDuration(1.0, s), 1);
}

TEST(SegmentStore, DiscontinuitySequenceCountsTagsThatLeftThePlaylist) {
    SegmentStore store({4, 2, 1.0});
    store.publish(makeSegment(0, 1.0));
    store.publish(makeSegment(1, 1.0));
    store.publish(makeSegment(2, 1.0, true, 1));
    auto p = *test::parseM3u8(store.snapshot()->playlist);
    EXPECT_EQ(p.discontinuitySequence, 0);
    EXPECT_TRUE(p.segments[1].discontinuity);
    store.publish(makeSegment(3, 1.0, false, 1));
    p = *test::parseM3u8(store.snapshot()->playlist);
    EXPECT_EQ(p.discontinuitySequence, 0);  // the tagged segment is first: its tag still counts
    EXPECT_TRUE(p.segments[0].discontinuity);
    store.publish(makeSegment(4, 1.0, false, 1));
    p = *test::parseM3u8(store.snapshot()->playlist);
    EXPECT_EQ(p.discontinuitySequence, 1);  // the tag left: the sequence took it over
    EXPECT_FALSE(p.segments[0].discontinuity);
}

TEST(SegmentStore, FinishAddsEndList) {
    SegmentStore store({4, 2, 1.0});
    store.publish(makeSegment(0, 1.0));
    store.finish();
    EXPECT_TRUE(test::parseM3u8(store.snapshot()->playlist)->endList);
}

TEST(SegmentStore, ReadersAlwaysSeeAConsistentSnapshot) {
    SegmentStore store({4, 2, 1.0});
    std::atomic<bool> done{false};
    std::atomic<long> reads{0}, bad{0};
    auto reader = [&] {
        while (!done) {
            auto snap = store.snapshot();
            if (snap->playlist.empty()) continue;
            auto p = test::parseM3u8(snap->playlist);
            if (!p) {
                ++bad;
                continue;
            }
            for (const auto& s : p->segments) {
                auto seg = snap->find(s.uri);
                if (!seg || seg->size == 0) ++bad;
            }
            ++reads;
        }
    };
    std::thread r1(reader), r2(reader);
    for (uint64_t i = 0; i < 20000; ++i) store.publish(makeSegment(i, 1.0));
    done = true;
    r1.join();
    r2.join();
    EXPECT_GT(reads.load(), 0);
    EXPECT_EQ(bad.load(), 0);
}

}  // namespace
}  // namespace hlsd
