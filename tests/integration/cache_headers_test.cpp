// What caching edges in front of hlsd are told (RFC 8216bis Appendix B.1): Cache-Control per
// response kind, errors never stored, playlists gzipped for clients that accept it, Date, and
// Age readable by players of other origins.
#include <gtest/gtest.h>
#include <zlib.h>

#include <optional>
#include <string>

#include "integration/live_server.h"
#include "support/http_client.h"
#include "support/m3u8.h"

namespace hlsd::test {
namespace {

std::optional<std::string> gunzip(const std::string& in) {
    z_stream z{};
    if (inflateInit2(&z, 15 + 16) != Z_OK) return std::nullopt;  // gzip only, not zlib or raw
    std::string out(64 * 1024, '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z.avail_in = static_cast<uInt>(in.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    const int rc = inflate(&z, Z_FINISH);
    out.resize(z.total_out);
    const bool whole = rc == Z_STREAM_END && z.avail_in == 0;
    inflateEnd(&z);
    if (!whole) return std::nullopt;
    return out;
}

TEST(CacheHeaders, EachResponseKindTellsCachesHowLongItLives) {
    Server s;
    ASSERT_NE(s.port, 0) << s.process->errSoFar();
    const auto plain = httpGet(s.port, "/live/index.m3u8");
    ASSERT_EQ(plain.status, 200);
    const auto p = parseM3u8(plain.body);
    ASSERT_TRUE(p && !p->segments.empty() && !p->preloadHint.empty());
    const int td = p->targetDuration;
    ASSERT_GE(td, 1);
    // Non-blocking: browsers ask again each time; a shared cache keeps it ~TD/2 (≥ 1 s).
    EXPECT_EQ(plain.header("cache-control"),
              "public, max-age=0, s-maxage=" + std::to_string(std::max(1, td / 2)));
    EXPECT_EQ(plain.header("vary"), "Accept-Encoding");
    EXPECT_EQ(plain.header("content-encoding"), "");
    EXPECT_EQ(plain.header("access-control-expose-headers"), "Age");
    EXPECT_EQ(plain.header("date").size(), 29u) << plain.header("date");  // IMF-fixdate

    // Blocking, for a part that exists: answered at once, and that answer never changes.
    const long long last = p->mediaSequence + static_cast<long long>(p->segments.size()) - 1;
    const auto blocking = httpGet(s.port, "/live/index.m3u8?_HLS_msn=" + std::to_string(last));
    ASSERT_EQ(blocking.status, 200);
    EXPECT_EQ(blocking.header("cache-control"),
              "public, max-age=0, s-maxage=" + std::to_string(6 * td));

    const std::string kMedia = "public, max-age=86400, immutable";
    for (const std::string& uri :
         {p->segments.back().uri, p->segments.back().parts.at(0).uri, p->preloadHint}) {
        const auto r = httpGet(s.port, "/live/" + uri);  // the hinted one is held until it exists
        EXPECT_EQ(r.status, 200) << uri;
        EXPECT_EQ(r.header("cache-control"), kMedia) << uri;
        EXPECT_EQ(r.header("content-encoding"), "") << uri;  // video does not shrink
    }

    // Errors are never stored: a cached 400 or 404 would outlive its cause.
    for (const std::string& path : {"/live/index.m3u8?_HLS_msn=" + std::to_string(last + 3),
                                    std::string("/live/index.m3u8?_HLS_msn=x"),
                                    std::string("/live/zzzz-1.ts"), std::string("/nothing")}) {
        const auto r = httpGet(s.port, path);
        EXPECT_GE(r.status, 400) << path;
        EXPECT_EQ(r.header("cache-control"), "no-store") << path;
    }
    EXPECT_EQ(httpGet(s.port, "/metrics").header("cache-control"), "no-store");
    EXPECT_EQ(httpGet(s.port, "/healthz").header("cache-control"), "no-store");
}

TEST(CacheHeaders, PlaylistsAreGzippedForClientsThatAcceptIt) {
    Server s;
    ASSERT_NE(s.port, 0) << s.process->errSoFar();
    for (const std::string query : {"", "?_HLS_skip=YES"}) {
        SCOPED_TRACE(query);
        for (const char* method : {"GET", "HEAD"}) {
            const auto r = httpGet(s.port, "/live/index.m3u8" + query,
                                   "Accept-Encoding: gzip, deflate, br\r\n", method);
            ASSERT_EQ(r.status, 200);
            EXPECT_EQ(r.header("content-encoding"), "gzip");
            EXPECT_EQ(r.header("vary"), "Accept-Encoding");
            if (std::string(method) == "HEAD") continue;
            EXPECT_EQ(std::stoul(r.header("content-length")), r.body.size());
            const auto text = gunzip(r.body);
            ASSERT_TRUE(text);
            EXPECT_LT(r.body.size() * 2, text->size());  // a playlist shrinks to under half
            EXPECT_TRUE(parseM3u8(*text)) << *text;
        }
    }
    // Refused or not offered: sent as it is.
    for (const char* accept : {"Accept-Encoding: gzip;q=0\r\n", "Accept-Encoding: br\r\n",
                               "Accept-Encoding: identity\r\n"}) {
        const auto r = httpGet(s.port, "/live/index.m3u8", accept);
        ASSERT_EQ(r.status, 200) << accept;
        EXPECT_EQ(r.header("content-encoding"), "") << accept;
        EXPECT_TRUE(parseM3u8(r.body)) << accept;
    }
}

}  // namespace
}  // namespace hlsd::test
