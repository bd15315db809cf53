// CORS with and without credentials, the permission each route needs, and playlists that carry
// a token on every URI.
#include "http/access_policy.h"

#include <gtest/gtest.h>

namespace hlsd {
namespace {

Request withOrigin(const std::string& origin) {
    Request r;
    r.method = "GET";
    if (!origin.empty()) r.headers.emplace_back("origin", origin);
    return r;
}

std::string header(const Response& r, const std::string& name) {
    for (const auto& [n, v] : r.headers)
        if (n == name) return v;
    return "";
}

TEST(AccessPolicy, CorsEchoesListedOriginsWithCredentials) {
    Response any;
    setCors("*", withOrigin("https://a.example"), any);
    EXPECT_EQ(header(any, "Access-Control-Allow-Origin"), "*");
    EXPECT_EQ(header(any, "Access-Control-Allow-Credentials"), "");
    Response listed;
    setCors("https://a.example, https://mainsail.local", withOrigin("https://mainsail.local"),
            listed);
    EXPECT_EQ(header(listed, "Access-Control-Allow-Origin"), "https://mainsail.local");
    EXPECT_EQ(header(listed, "Access-Control-Allow-Credentials"), "true");
    EXPECT_EQ(header(listed, "Vary"), "Origin");
    Response other;
    setCors("https://a.example https://b.example", withOrigin("https://evil.example"), other);
    EXPECT_EQ(header(other, "Access-Control-Allow-Origin"), "");
    Response prefix;
    setCors("https://a.example", withOrigin("https://a.exampl"), prefix);
    EXPECT_EQ(header(prefix, "Access-Control-Allow-Origin"), "");
    Response none;
    setCors("", withOrigin("https://a.example"), none);
    EXPECT_TRUE(none.headers.empty());
}

TEST(AccessPolicy, EveryRouteButHealthzNeedsAPermission) {
    EXPECT_EQ(permissionFor(RouteKind::Healthz), 0u);
    EXPECT_EQ(permissionFor(RouteKind::Asset), 0u);
    EXPECT_EQ(permissionFor(RouteKind::Metrics), unsigned{kMetrics});
    for (RouteKind k : {RouteKind::Playlist, RouteKind::Segment, RouteKind::Part, RouteKind::Init,
                        RouteKind::Stream, RouteKind::Mjpeg, RouteKind::Snapshot, RouteKind::Player,
                        RouteKind::NotFound})
        EXPECT_EQ(permissionFor(k), unsigned{kView}) << routeLabel(k);
}

TEST(AccessPolicy, EveryUriOfAPlaylistCarriesTheToken) {
    const std::string playlist =
        "#EXTM3U\n"
        "#EXT-X-MAP:URI=\"ab-1.mp4\"\n"
        "#EXTINF:1.000,\n"
        "ab-1.m4s\n"
        "#EXT-X-PART:DURATION=0.2,URI=\"ab-2.0.m4s\",INDEPENDENT=YES\n"
        "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"ab-2.1.m4s\"\n"
        "#EXT-X-RENDITION-REPORT:URI=\"other.m3u8?x=1\",LAST-MSN=2\n";
    const std::string t = "alice.0.MAC-_x";
    EXPECT_EQ(withToken(playlist, t),
              "#EXTM3U\n"
              "#EXT-X-MAP:URI=\"ab-1.mp4?token=alice.0.MAC-_x\"\n"
              "#EXTINF:1.000,\n"
              "ab-1.m4s?token=alice.0.MAC-_x\n"
              "#EXT-X-PART:DURATION=0.2,URI=\"ab-2.0.m4s?token=alice.0.MAC-_x\",INDEPENDENT=YES\n"
              "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"ab-2.1.m4s?token=alice.0.MAC-_x\"\n"
              "#EXT-X-RENDITION-REPORT:URI=\"other.m3u8?x=1&token=alice.0.MAC-_x\",LAST-MSN=2\n");
    EXPECT_EQ(withToken("a.ts", t), "a.ts?token=alice.0.MAC-_x");
    EXPECT_EQ(withToken("#EXTM3U\r\na.ts\r\n", t), "#EXTM3U\r\na.ts?token=alice.0.MAC-_x\r\n");
}

}  // namespace
}  // namespace hlsd
