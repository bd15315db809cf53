#include "hlsd/playlist.h"

#include <gtest/gtest.h>

namespace hlsd {
namespace {

WallClock::time_point at(int64_t ms) {
    return WallClock::time_point(std::chrono::milliseconds(ms));
}

PlaylistEntry entry(std::string uri, double duration, WallClock::time_point pdt,
                    bool discontinuity) {
    PlaylistEntry e;
    e.uri = std::move(uri);
    e.duration = duration;
    e.programDateTime = pdt;
    e.discontinuity = discontinuity;
    return e;
}

TEST(Playlist, RendersExactText) {
    Playlist p;
    p.targetDuration = 2;
    p.mediaSequence = 41;
    p.discontinuitySequence = 3;
    p.entries = {entry("abc-41.ts", 2.0, at(1'763'755'501'123), false),
                 entry("abc-42.ts", 1.9666, at(1'763'755'503'123), true)};
    EXPECT_EQ(p.render(),
              "#EXTM3U\n"
              "#EXT-X-VERSION:3\n"
              "#EXT-X-TARGETDURATION:2\n"
              "#EXT-X-MEDIA-SEQUENCE:41\n"
              "#EXT-X-DISCONTINUITY-SEQUENCE:3\n"
              "#EXT-X-INDEPENDENT-SEGMENTS\n"
              "#EXT-X-PROGRAM-DATE-TIME:2025-11-21T20:05:01.123Z\n"
              "#EXTINF:2.000,\n"
              "abc-41.ts\n"
              "#EXT-X-DISCONTINUITY\n"
              "#EXT-X-PROGRAM-DATE-TIME:2025-11-21T20:05:03.123Z\n"
              "#EXTINF:1.967,\n"
              "abc-42.ts\n");
}

// LL-HLS: server control, part target, parts of the last segments and of the one being
// written (no EXTINF yet), a preload hint for the next part.
TEST(Playlist, RendersLowLatencyTags) {
    Playlist p;
    p.version = 9;
    p.targetDuration = 1;
    p.mediaSequence = 7;
    p.partTarget = 0.2;
    p.canSkipUntil = 6.0;
    p.entries = {entry("r-7.ts", 1.0, at(1'000), false), entry("r-8.ts", 1.0, at(2'000), false),
                 entry("r-9.ts", 0.4, at(3'000), false)};
    p.entries[1].parts = {{"r-8.0.ts", 0.2, true},
                          {"r-8.1.ts", 0.2, false},
                          {"r-8.2.ts", 0.2, false},
                          {"r-8.3.ts", 0.2, false},
                          {"r-8.4.ts", 0.2, false}};
    p.entries[2].parts = {{"r-9.0.ts", 0.2, true}, {"r-9.1.ts", 0.2, false}};
    p.entries[2].complete = false;
    p.preloadHint = "r-9.2.ts";
    EXPECT_EQ(p.render(),
              "#EXTM3U\n"
              "#EXT-X-VERSION:9\n"
              "#EXT-X-TARGETDURATION:1\n"
              "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=6.0,PART-HOLD-BACK=0.600\n"
              "#EXT-X-PART-INF:PART-TARGET=0.200\n"
              "#EXT-X-MEDIA-SEQUENCE:7\n"
              "#EXT-X-DISCONTINUITY-SEQUENCE:0\n"
              "#EXT-X-INDEPENDENT-SEGMENTS\n"
              "#EXT-X-PROGRAM-DATE-TIME:1970-01-01T00:00:01.000Z\n"
              "#EXTINF:1.000,\n"
              "r-7.ts\n"
              "#EXT-X-PROGRAM-DATE-TIME:1970-01-01T00:00:02.000Z\n"
              "#EXT-X-PART:DURATION=0.200,URI=\"r-8.0.ts\",INDEPENDENT=YES\n"
              "#EXT-X-PART:DURATION=0.200,URI=\"r-8.1.ts\"\n"
              "#EXT-X-PART:DURATION=0.200,URI=\"r-8.2.ts\"\n"
              "#EXT-X-PART:DURATION=0.200,URI=\"r-8.3.ts\"\n"
              "#EXT-X-PART:DURATION=0.200,URI=\"r-8.4.ts\"\n"
              "#EXTINF:1.000,\n"
              "r-8.ts\n"
              "#EXT-X-PROGRAM-DATE-TIME:1970-01-01T00:00:03.000Z\n"
              "#EXT-X-PART:DURATION=0.200,URI=\"r-9.0.ts\",INDEPENDENT=YES\n"
              "#EXT-X-PART:DURATION=0.200,URI=\"r-9.1.ts\"\n"
              "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"r-9.2.ts\"\n");
}

// Delta update: the skipped entries become one EXT-X-SKIP; the rest is unchanged. fMP4: the
// init section is named before the first segment written and again where it changes.
TEST(Playlist, RendersSkipAndMap) {
    Playlist p;
    p.version = 9;
    p.targetDuration = 1;
    p.mediaSequence = 3;
    p.discontinuitySequence = 1;
    p.partTarget = 0.25;
    p.canSkipUntil = 6.0;
    p.skipped = 2;
    p.entries = {entry("r-3.m4s", 1.0, at(0), false), entry("r-4.m4s", 1.0, at(1'000), false),
                 entry("r-5.m4s", 1.0, at(2'000), false), entry("r-6.m4s", 1.0, at(3'000), true)};
    p.entries[0].map = p.entries[1].map = p.entries[2].map = "r-0.mp4";
    p.entries[3].map = "r-6.mp4";
    EXPECT_EQ(p.render(),
              "#EXTM3U\n"
              "#EXT-X-VERSION:9\n"
              "#EXT-X-TARGETDURATION:1\n"
              "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=6.0,PART-HOLD-BACK=0.750\n"
              "#EXT-X-PART-INF:PART-TARGET=0.250\n"
              "#EXT-X-MEDIA-SEQUENCE:3\n"
              "#EXT-X-DISCONTINUITY-SEQUENCE:1\n"
              "#EXT-X-INDEPENDENT-SEGMENTS\n"
              "#EXT-X-SKIP:SKIPPED-SEGMENTS=2\n"
              "#EXT-X-MAP:URI=\"r-0.mp4\"\n"
              "#EXT-X-PROGRAM-DATE-TIME:1970-01-01T00:00:02.000Z\n"
              "#EXTINF:1.000,\n"
              "r-5.m4s\n"
              "#EXT-X-DISCONTINUITY\n"
              "#EXT-X-MAP:URI=\"r-6.mp4\"\n"
              "#EXT-X-PROGRAM-DATE-TIME:1970-01-01T00:00:03.000Z\n"
              "#EXTINF:1.000,\n"
              "r-6.m4s\n");
}

// The LL-HLS part window (RFC 8216bis §6.2.2): parts of the segment being written always, then
// of complete segments starting at most 3 target durations before the end, and at most three
// segments with parts counting the trailing one (being written, or the preload hint alone).
TEST(Playlist, PartWindow) {
    auto entries = [](std::vector<double> durations, bool writing) {
        std::vector<PlaylistEntry> out;
        for (double d : durations) out.push_back(entry("s", d, at(0), false));
        if (writing) out.back().complete = false;
        return out;
    };
    // Being written (0.4 s): 3 s of segments before it; r-1 starts 3.4 s from the end.
    EXPECT_EQ(firstWithParts(entries({1, 1, 1, 1, 0.4}, true), 1, true), 2u);
    // Just completed, the hint alone follows: it is the third segment a parser counts, so the
    // segment 3.0 s from the end (not more than 3 TD) loses its parts too.
    EXPECT_EQ(firstWithParts(entries({1, 1, 1, 1, 1}, false), 1, true), 3u);
    // Ended (no hint): three complete segments keep theirs.
    EXPECT_EQ(firstWithParts(entries({1, 1, 1, 1, 1}, false), 1, false), 2u);
    // Longer segments: the 3-TD bound decides before the count does.
    EXPECT_EQ(firstWithParts(entries({1.4, 1.4, 1.4, 0.4}, true), 1, true), 2u);
    EXPECT_EQ(firstWithParts(entries({1.4, 1.4, 1.4, 0.1}, true), 1, true), 1u);
    // TARGETDURATION 2: 3 × TD is 6 s.
    EXPECT_EQ(firstWithParts(entries({2, 2, 2, 1.5}, true), 2, true), 1u);
    // Short playlists, and a segment being written longer than 3 TD still lists its parts.
    EXPECT_EQ(firstWithParts(entries({1, 0.2}, true), 1, true), 0u);
    EXPECT_EQ(firstWithParts(entries({1}, false), 1, true), 0u);
    EXPECT_EQ(firstWithParts(entries({1, 3.5}, true), 1, true), 1u);
    EXPECT_EQ(firstWithParts({}, 1, true), 0u);
}

TEST(Playlist, EndListClosesIt) {
    Playlist p;
    p.endList = true;
    p.entries = {entry("a-0.ts", 1.0, at(0), false)};
    const std::string text = p.render();
    EXPECT_EQ(text.substr(text.size() - 15), "#EXT-X-ENDLIST\n");
}

TEST(Playlist, ProgramDateTimeFormat) {
    EXPECT_EQ(formatProgramDateTime(at(0)), "1970-01-01T00:00:00.000Z");
    EXPECT_EQ(formatProgramDateTime(at(1'798'761'599'999)), "2026-12-31T23:59:59.999Z");
    EXPECT_EQ(formatProgramDateTime(at(951'782'400'007)), "2000-02-29T00:00:00.007Z");
}

TEST(Playlist, WindowArithmetic) {
    EXPECT_EQ(firstKept(0, 4), 0u);
    EXPECT_EQ(firstKept(4, 4), 0u);
    EXPECT_EQ(firstKept(5, 4), 1u);
    EXPECT_EQ(firstKept(100, 20), 80u);
    EXPECT_EQ(firstListed(1, 2), 0u);
    EXPECT_EQ(firstListed(2, 2), 0u);
    EXPECT_EQ(firstListed(7, 2), 5u);
    EXPECT_EQ(firstListed(7, 1), 6u);
}

}  // namespace
}  // namespace hlsd
