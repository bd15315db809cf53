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
    s->addPart(std::make_shared<Part>(Part{
        std::vector<uint8_t>(188 * (1 + msn % 3), static_cast<uint8_t>(msn)), 1.0, true, nullptr}));
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

// A segment of five 0.2 s parts, complete or with only its first `parts` (being written).
std::shared_ptr<Segment> partedSegment(uint64_t msn, size_t parts, bool complete = true) {
    auto s = std::make_shared<Segment>();
    s->msn = msn;
    s->name = "r-" + std::to_string(msn) + ".ts";
    s->programDateTime = WallClock::time_point(std::chrono::seconds(1000 + msn));
    s->keyframeInterval = 1.0;
    for (size_t i = 0; i < parts; ++i) {
        s->addPart(std::make_shared<Part>(
            Part{std::vector<uint8_t>(188, static_cast<uint8_t>(i)), 0.2, i == 0, nullptr}));
    }
    s->duration = 0.2 * parts;
    s->complete = complete;
    return s;
}

StoreOptions lowLatency(size_t wrap, size_t list) {
    StoreOptions o{wrap, list, 1.0};
    o.partDuration = 0.2;
    return o;
}

TEST(SegmentStore, LowLatencyPlaylistListsRecentPartsAndHintsTheNext) {
    SegmentStore store(lowLatency(8, 5));
    for (uint64_t i = 0; i < 6; ++i) store.publish(partedSegment(i, 5));
    store.publish(partedSegment(6, 2, false));
    auto snap = store.snapshot();
    auto p = test::parseM3u8(snap->playlist);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->version, 9);
    EXPECT_TRUE(p->canBlockReload);
    EXPECT_DOUBLE_EQ(p->partTarget, 0.2);
    EXPECT_DOUBLE_EQ(p->partHoldBack, 0.6);
    EXPECT_DOUBLE_EQ(p->canSkipUntil, 6.0);
    ASSERT_EQ(p->segments.size(), 5u);
    // 5.4 s listed: parts for the segments starting in the last 3 s (r-4, r-5) and the open r-6.
    for (size_t i = 0; i < 5; ++i) EXPECT_EQ(p->segments[i].parts.size(), i >= 3 ? 5u : 0u) << i;
    EXPECT_EQ(p->segments[4].parts[0].uri, "r-5.0.ts");
    EXPECT_TRUE(p->segments[4].parts[0].independent);
    EXPECT_FALSE(p->segments[4].parts[1].independent);
    ASSERT_EQ(p->open.parts.size(), 2u);
    EXPECT_EQ(p->open.parts[1].uri, "r-6.1.ts");
    EXPECT_EQ(p->open.programDateTime, "1970-01-01T00:16:46.000Z");
    EXPECT_EQ(p->preloadHint, "r-6.2.ts");
    EXPECT_EQ(snap->nextSegment, "r-7.ts");

    // Parts of complete and open segments are found; the hinted one and the next segment's are
    // pending; others are not.
    EXPECT_EQ(snap->findPart("r-5.4.ts"), snap->find("r-5.ts")->parts[4]);
    EXPECT_TRUE(snap->findPart("r-6.1.ts"));
    EXPECT_FALSE(snap->findPart("r-6.2.ts"));
    EXPECT_TRUE(snap->partPending("r-6.2.ts"));
    EXPECT_TRUE(snap->partPending("r-7.0.ts"));
    EXPECT_FALSE(snap->partPending("r-8.0.ts"));
    EXPECT_FALSE(snap->partPending("r-5.5.ts"));  // r-5 is complete with five parts
    EXPECT_FALSE(snap->findPart("r-5.5.ts"));
    EXPECT_FALSE(snap->findPart("x-5.1.ts"));

    // Complete: the hint moves to the next segment's first part. The hint alone is the third
    // segment with parts a parser counts, so r-4 (3 s from the end) lost its parts.
    store.publish(partedSegment(6, 5));
    p = test::parseM3u8(store.snapshot()->playlist);
    ASSERT_TRUE(p);
    EXPECT_TRUE(p->open.parts.empty());
    EXPECT_EQ(p->preloadHint, "r-7.0.ts");
    for (size_t i = 0; i < 5; ++i) EXPECT_EQ(p->segments[i].parts.size(), i >= 3 ? 5u : 0u) << i;
    EXPECT_EQ(p->segments[3].uri, "r-5.ts");
    // The disk mirror's playlist has no LL-HLS tags (parts are not on disk).
    auto plain = test::parseM3u8(store.snapshot()->plainPlaylist);
    ASSERT_TRUE(plain);
    EXPECT_EQ(plain->partTarget, 0);
    EXPECT_TRUE(plain->preloadHint.empty());
    EXPECT_EQ(plain->segments.size(), 5u);
    for (const auto& s : plain->segments) EXPECT_TRUE(s.parts.empty());
}

TEST(SegmentStore, BlockingReloadStates) {
    SegmentStore store(lowLatency(8, 3));
    EXPECT_EQ(store.snapshot()->reload(0, std::nullopt), ReloadState::Pending);
    EXPECT_EQ(store.snapshot()->reload(2, std::nullopt), ReloadState::TooFar);
    for (uint64_t i = 0; i < 3; ++i) store.publish(partedSegment(i, 5));
    store.publish(partedSegment(3, 2, false));
    auto snap = store.snapshot();
    EXPECT_EQ(snap->reload(2, std::nullopt), ReloadState::Ready);
    EXPECT_EQ(snap->reload(2, 4), ReloadState::Ready);
    EXPECT_EQ(snap->reload(0, 0), ReloadState::Ready);  // long gone: answer now
    EXPECT_EQ(snap->reload(3, std::nullopt), ReloadState::Pending);
    EXPECT_EQ(snap->reload(3, 1), ReloadState::Ready);
    EXPECT_EQ(snap->reload(3, 2), ReloadState::Pending);
    EXPECT_EQ(snap->reload(4, 0), ReloadState::Pending);  // two past the last complete one
    EXPECT_EQ(snap->reload(5, 0), ReloadState::TooFar);
    store.finish();
    EXPECT_EQ(store.snapshot()->reload(4, 0), ReloadState::Ready);  // nothing more will come
}

// Delta updates skip the segments older than CAN-SKIP-UNTIL (6 s) from the end; the rest of
// the playlist is the same text as the full one.
TEST(SegmentStore, DeltaUpdateSkipsSegmentsOlderThanCanSkipUntil) {
    SegmentStore store(lowLatency(12, 10));
    for (uint64_t i = 0; i < 6; ++i) store.publish(partedSegment(i, 5));
    EXPECT_TRUE(store.snapshot()->playlistSkip.empty());  // 6 s: nothing to skip
    for (uint64_t i = 6; i < 10; ++i) store.publish(partedSegment(i, 5));
    store.publish(partedSegment(10, 3, false));
    auto snap = store.snapshot();
    auto full = test::parseM3u8(snap->playlist);
    auto delta = test::parseM3u8(snap->playlistSkip);
    ASSERT_TRUE(full && delta);
    // 10.6 s listed: r-0 .. r-3 end at or before 4.6 s; r-4 ends at 5.0 > 4.6.
    EXPECT_EQ(delta->skipped, 4);
    ASSERT_EQ(delta->segments.size() + 4, full->segments.size());
    EXPECT_EQ(delta->segments.front().uri, "r-4.ts");
    EXPECT_EQ(delta->mediaSequence, full->mediaSequence);
    EXPECT_EQ(delta->open.parts.size(), 3u);
    EXPECT_EQ(delta->preloadHint, full->preloadHint);
    const auto at = snap->playlist.find("#EXT-X-PROGRAM-DATE-TIME:1970-01-01T00:16:44");
    ASSERT_NE(at, std::string::npos);
    EXPECT_EQ(snap->playlistSkip.substr(snap->playlistSkip.find("#EXT-X-PROGRAM-DATE-TIME")),
              snap->playlist.substr(at));
}

// At every moment of the segment cycle (after each part and each completed segment), for
// every list size: parts on at most three segments counting the trailing one a parser sees
// (the segment being written, or the preload hint alone), none starting more than three target
// durations before the end of the playlist (RFC 8216bis §6.2.2), and the newest ones kept:
// the segment being written, the last complete one, and the one before it, which is 2 s or
// less from the end. The old window, by start time alone, listed the parts of three complete
// segments next to the hint right after a segment completed, which hls-parser rejects.
TEST(SegmentStore, PartsStayOnTheLastThreeSegmentsAtEveryMoment) {
    for (size_t list = 2; list <= 6; ++list) {
        SegmentStore store(lowLatency(list + 2, list));
        for (uint64_t msn = 0; msn < 10; ++msn) {
            for (size_t k = 1; k <= 5; ++k) {
                store.publish(partedSegment(msn, k, k == 5));
                if (msn == 0 && k < 5) continue;  // no playlist before the first segment
                auto p = test::parseM3u8(store.snapshot()->playlist);
                ASSERT_TRUE(p);
                const std::string at = "list " + std::to_string(list) + ", r-" +
                                       std::to_string(msn) + " part " + std::to_string(k);
                std::vector<double> starts;  // of the segments with parts, from the end
                double fromEnd = 0;
                for (const auto& part : p->open.parts) fromEnd += part.duration;
                size_t parted = 1;  // the trailing one: the open segment or the hint alone
                EXPECT_EQ(p->open.parts.size(), k < 5 ? k : 0u) << at;
                for (size_t i = p->segments.size(); i-- > 0;) {
                    fromEnd += p->segments[i].duration;
                    if (p->segments[i].parts.empty()) continue;
                    ++parted;
                    EXPECT_LE(fromEnd, 3.0 + 1e-9) << at;
                    EXPECT_EQ(p->segments[i].parts.size(), 5u) << at;
                }
                EXPECT_LE(parted, 3u) << at;
                // The newest complete segments keep theirs: both of the last two, if that one
                // starts at most 2 s before the end.
                const size_t n = p->segments.size();
                for (size_t i = 0; i < n; ++i)
                    EXPECT_EQ(p->segments[i].parts.empty(), i + 2 < n) << at << ", " << i;
            }
        }
        // Ended: no hint, no segment being written, so three complete segments keep theirs.
        store.finish();
        auto p = test::parseM3u8(store.snapshot()->playlist);
        ASSERT_TRUE(p);
        const size_t n = p->segments.size();
        for (size_t i = 0; i < n; ++i)
            EXPECT_EQ(p->segments[i].parts.empty(), i + 3 < n) << "list " << list << ", " << i;
    }
}

// Segments longer than the target duration: the 3-TD bound, not the segment count, decides.
TEST(SegmentStore, PartsEndThreeTargetDurationsFromTheEnd) {
    SegmentStore store(lowLatency(6, 4));
    auto longSegment = [](uint64_t msn, size_t parts, bool complete) {
        auto s = std::make_shared<Segment>();
        s->msn = msn;
        s->name = "r-" + std::to_string(msn) + ".ts";
        s->keyframeInterval = 1.0;
        for (size_t i = 0; i < parts; ++i)
            s->addPart(
                std::make_shared<Part>(Part{std::vector<uint8_t>(188), 0.28, i == 0, nullptr}));
        s->duration = 0.28 * static_cast<double>(parts);  // 1.4 s complete: TD stays 1
        s->complete = complete;
        return s;
    };
    for (uint64_t i = 0; i < 4; ++i) store.publish(longSegment(i, 5, true));
    ASSERT_EQ(store.snapshot()->targetDuration, 1);
    store.publish(longSegment(4, 2, false));  // 0.56 s of r-4: r-2 starts 3.36 s from the end
    auto p = test::parseM3u8(store.snapshot()->playlist);
    ASSERT_TRUE(p);
    ASSERT_EQ(p->segments.size(), 4u);
    EXPECT_TRUE(p->segments[2].parts.empty());  // r-2
    EXPECT_FALSE(p->segments[3].parts.empty());
    EXPECT_EQ(p->open.parts.size(), 2u);
}

// PART-TARGET bounds every part: frames longer than part_duration make it a frame.
TEST(SegmentStore, PartTargetCoversTheLongestPart) {
    StoreOptions o{4, 2, 1.0};
    o.partDuration = 0.05;
    SegmentStore store(o);
    auto s = std::make_shared<Segment>();
    s->name = "r-0.ts";
    for (int i = 0; i < 15; ++i)
        s->addPart(
            std::make_shared<Part>(Part{std::vector<uint8_t>(188), 1.0 / 15, i == 0, nullptr}));
    s->duration = 1.0;
    store.publish(s);
    EXPECT_DOUBLE_EQ(store.snapshot()->partTarget, 0.067);
    auto p = test::parseM3u8(store.snapshot()->playlist);
    ASSERT_TRUE(p);
    for (const auto& part : p->segments[0].parts) EXPECT_LE(part.duration, p->partTarget);
}

}  // namespace
}  // namespace hlsd
