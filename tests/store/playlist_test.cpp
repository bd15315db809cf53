#include "hlsd/playlist.h"

#include <gtest/gtest.h>

namespace hlsd {
namespace {

WallClock::time_point at(int64_t ms) {
    return WallClock::time_point(std::chrono::milliseconds(ms));
}

TEST(Playlist, RendersExactText) {
    Playlist p;
    p.targetDuration = 2;
    p.mediaSequence = 41;
    p.discontinuitySequence = 3;
    p.entries = {{"abc-41.ts", 2.0, at(1'763'755'501'123), false},
                 {"abc-42.ts", 1.9666, at(1'763'755'503'123), true}};
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

TEST(Playlist, EndListClosesIt) {
    Playlist p;
    p.endList = true;
    p.entries = {{"a-0.ts", 1.0, at(0), false}};
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
