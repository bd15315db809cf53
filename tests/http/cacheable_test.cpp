#include "http/cacheable.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <regex>

namespace hlsd {
namespace {

TEST(Cacheable, PlaylistLifetimesFollowTheTargetDuration) {
    EXPECT_EQ(playlistCacheControl(1, true, false), "public, max-age=0, s-maxage=6");
    EXPECT_EQ(playlistCacheControl(4, true, false), "public, max-age=0, s-maxage=24");
    // Half a target duration, in the whole seconds caches count, never 0 (not cached at all).
    EXPECT_EQ(playlistCacheControl(1, false, false), "public, max-age=0, s-maxage=1");
    EXPECT_EQ(playlistCacheControl(2, false, false), "public, max-age=0, s-maxage=1");
    EXPECT_EQ(playlistCacheControl(6, false, false), "public, max-age=0, s-maxage=3");
    EXPECT_EQ(playlistCacheControl(0, false, false), "public, max-age=0, s-maxage=1");
    // A token rides in the playlist's URIs: nobody else may be given it.
    EXPECT_EQ(playlistCacheControl(1, true, true), "private, no-cache");
    EXPECT_EQ(playlistCacheControl(1, false, true), "private, no-cache");
}

TEST(Cacheable, AcceptEncodingAdmitsGzipUnlessRefused) {
    for (const char* yes : {"gzip", "gzip, deflate, br, zstd", "br;q=1.0, GZIP;q=0.5", "x-gzip",
                            "*", " deflate , gzip ", "gzip;q=0.001", "gzip;x=1;q=0.5", "br;q=0, *"})
        EXPECT_TRUE(acceptsGzip(yes)) << yes;
    for (const char* no : {"", "identity", "br", "deflate, br", "gzip;q=0", "gzip; q=0.000",
                           "gzipx", "*;q=0", "agzip", "gzip;q=0, *", "*, gzip;q=0", "gzip;x=1;q=0"})
        EXPECT_FALSE(acceptsGzip(no)) << no;
}

TEST(Cacheable, GzippedTextInflatesBack) {
    std::string text = "#EXTM3U\n";
    for (int i = 0; i < 100; ++i)
        text += "#EXT-X-PART:DURATION=0.200,URI=\"abc-" + std::to_string(i) + ".0.ts\"\n";
    const std::string z = gzipped(text);
    ASSERT_GE(z.size(), 10u);
    EXPECT_EQ(static_cast<unsigned char>(z[0]), 0x1f);  // a gzip member, not zlib's format
    EXPECT_EQ(static_cast<unsigned char>(z[1]), 0x8b);
    EXPECT_LT(z.size(), text.size() / 4);
    std::string back(text.size() + 16, '\0');
    uLongf n = back.size();
    z_stream s{};
    ASSERT_EQ(inflateInit2(&s, 15 + 16), Z_OK);
    s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(z.data()));
    s.avail_in = static_cast<uInt>(z.size());
    s.next_out = reinterpret_cast<Bytef*>(back.data());
    s.avail_out = static_cast<uInt>(n);
    EXPECT_EQ(inflate(&s, Z_FINISH), Z_STREAM_END);
    back.resize(s.total_out);
    inflateEnd(&s);
    EXPECT_EQ(back, text);
    EXPECT_FALSE(gzipped("").empty());  // an empty body is still a valid member
}

TEST(Cacheable, PlaylistsAreGzippedOncePerSnapshot) {
    auto a = std::make_shared<StoreSnapshot>();
    a->playlist = "#EXTM3U\n#EXT-X-TARGETDURATION:1\n";
    GzipPlaylists cache;
    const auto first = cache.of(a);
    EXPECT_EQ(cache.of(a), first);  // the same bytes, not made again
    EXPECT_EQ(first->playlist, gzipped(a->playlist));
    EXPECT_TRUE(first->playlistSkip.empty());  // nothing to skip: nothing made
    auto b = std::make_shared<StoreSnapshot>(*a);
    b->playlistSkip = "#EXTM3U\n#EXT-X-SKIP:SKIPPED-SEGMENTS=3\n";
    const auto second = cache.of(b);
    EXPECT_NE(second, first);
    EXPECT_EQ(second->playlistSkip, gzipped(b->playlistSkip));
}

TEST(Cacheable, VaryIsOneHeader) {
    Response r;
    addVary(r, "Accept-Encoding");
    ASSERT_EQ(r.headers.size(), 1u);
    EXPECT_EQ(r.headers[0].second, "Accept-Encoding");
    Response cors;
    cors.set("Vary", "Origin");
    addVary(cors, "Accept-Encoding");
    ASSERT_EQ(cors.headers.size(), 1u);
    EXPECT_EQ(cors.headers[0].second, "Origin, Accept-Encoding");
}

TEST(Cacheable, DateIsAnImfFixdate) {
    const std::string d = httpDateNow();
    EXPECT_TRUE(
        std::regex_match(d, std::regex("(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} "
                                       "(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} "
                                       "[0-9]{2}:[0-9]{2}:[0-9]{2} GMT")))
        << d;
}

}  // namespace
}  // namespace hlsd
