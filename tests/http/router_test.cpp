#include "http/router.h"

#include <gtest/gtest.h>

#include "hlsd/config.h"
#include "http/metrics.h"

namespace hlsd {
namespace {

TEST(Router, KnownPaths) {
    EXPECT_EQ(route("/live/index.m3u8").kind, RouteKind::Playlist);
    Route seg = route("/live/ab12cd-42.ts");
    EXPECT_EQ(seg.kind, RouteKind::Segment);
    EXPECT_EQ(seg.name, "ab12cd-42.ts");
    EXPECT_EQ(route("/").kind, RouteKind::Player);
    EXPECT_EQ(route("/index.html").kind, RouteKind::Player);
    EXPECT_EQ(route("/hls.min.js").name, "hls.min.js");
    EXPECT_EQ(route("/player.js").kind, RouteKind::Asset);
    EXPECT_EQ(route("/mjpeg.js").name, "mjpeg.js");
    EXPECT_EQ(route("/healthz").kind, RouteKind::Healthz);
    EXPECT_EQ(route("/metrics").kind, RouteKind::Metrics);
}

// MJPEG under hlsd's names, µStreamer's, and mjpg-streamer's (the route in the query, other
// parameters such as a cache-busting ?t= ignored).
TEST(Router, MjpegAndSnapshotUnderEveryNameDashboardsUse) {
    for (const char* p : {"/live/stream.mjpg", "/stream"})
        EXPECT_EQ(route(p).kind, RouteKind::Mjpeg) << p;
    for (const char* p : {"/live/snapshot.jpg", "/snapshot"})
        EXPECT_EQ(route(p).kind, RouteKind::Snapshot) << p;
    EXPECT_EQ(route("/", "action=stream").kind, RouteKind::Mjpeg);
    EXPECT_EQ(route("/", "t=1733&action=snapshot").kind, RouteKind::Snapshot);
    EXPECT_EQ(route("/", "action=snapshot&t=1").kind, RouteKind::Snapshot);
    EXPECT_EQ(route("/", "action=other").kind, RouteKind::Player);
    EXPECT_EQ(route("/", "").kind, RouteKind::Player);
    EXPECT_EQ(route("/index.html", "action=stream").kind, RouteKind::Player);
    EXPECT_EQ(route("/live/index.m3u8", "action=stream").kind, RouteKind::Playlist);
    EXPECT_EQ(queryValue("a=1&b=&c", "b"), "");
    EXPECT_EQ(queryValue("a=1&b=2", "b"), "2");
    EXPECT_EQ(queryValue("ab=1", "a"), "");
    EXPECT_STREQ(routeLabel(RouteKind::Mjpeg), "mjpeg");
    EXPECT_STREQ(routeLabel(RouteKind::Snapshot), "snapshot");
}

TEST(Router, EverythingElseIsNotFound) {
    for (const char* p : {"",
                          "/live",
                          "/live/",
                          "/live/index.m3u8/",
                          "/live/../index.m3u8",
                          "/live/../../etc/passwd",
                          "/live/AB-1.ts",
                          "/live/-1.ts",
                          "/live/ab-.ts",
                          "/live/ab-1.ts/",
                          "/live/ab-1.tsx",
                          "/live/ab-1a.ts",
                          "/live/ab_1.ts",
                          "/live/a/b-1.ts",
                          "/live/abcdefghijklmnopq-1.ts",
                          "/live/ab-123456789012345678901.ts",
                          "/LIVE/index.m3u8",
                          "/hls.js",
                          "/metrics/",
                          "/index.htm",
                          "//"}) {
        EXPECT_EQ(route(p).kind, RouteKind::NotFound) << p;
    }
    EXPECT_EQ(route("/live/" + std::string(300, 'a') + "-1.ts").kind, RouteKind::NotFound);
    EXPECT_EQ(route(std::string_view("/live/index.m3u8\0", 17)).kind, RouteKind::NotFound);
    EXPECT_EQ(route(std::string_view("/live/ab-1.ts\0", 14)).kind, RouteKind::NotFound);
}

TEST(Router, PartsAndInitSections) {
    EXPECT_EQ(route("/live/abc-12.3.ts").kind, RouteKind::Part);
    EXPECT_EQ(route("/live/abc-12.3.ts").name, "abc-12.3.ts");
    EXPECT_EQ(route("/live/abc-12.m4s").kind, RouteKind::Segment);
    EXPECT_EQ(route("/live/abc-12.0.m4s").kind, RouteKind::Part);
    EXPECT_EQ(route("/live/abc-12.mp4").kind, RouteKind::Init);
    for (const char* bad :
         {"/live/abc-12.3.mp4", "/live/abc-12..ts", "/live/abc-12.1234567.ts", "/live/abc-12.x.ts",
          "/live/abc-12.3.4.ts", "/live/abc-.3.ts", "/live/abc-12.3.m3u8", "/live/abc-12.ts.ts"}) {
        EXPECT_EQ(route(bad).kind, RouteKind::NotFound) << bad;
    }
    EXPECT_STREQ(mediaType("a-1.2.ts"), "video/mp2t");
    EXPECT_STREQ(mediaType("a-1.2.m4s"), "video/mp4");
    EXPECT_STREQ(mediaType("a-1.mp4"), "video/mp4");
}

TEST(Router, ReloadQuery) {
    ReloadQuery q = parseReloadQuery("_HLS_msn=12&_HLS_part=3");
    EXPECT_TRUE(q.valid && q.blocking && q.hasPart && !q.skip);
    EXPECT_EQ(q.msn, 12u);
    EXPECT_EQ(q.part, 3u);
    q = parseReloadQuery("_HLS_skip=YES&_HLS_msn=4&x=y");
    EXPECT_TRUE(q.valid && q.blocking && !q.hasPart && q.skip);
    EXPECT_TRUE(parseReloadQuery("").valid);
    EXPECT_FALSE(parseReloadQuery("").blocking);
    EXPECT_TRUE(parseReloadQuery("_HLS_skip=v2").skip);
    EXPECT_TRUE(parseReloadQuery("_HLS_msn=3&token=abc&_hls=1&x_HLS_msn=2").valid);
    for (const char* bad :
         {"_HLS_part=1", "_HLS_msn=", "_HLS_msn=-1", "_HLS_msn=1x", "_HLS_msn=1&_HLS_part=a",
          "_HLS_skip=NO", "_HLS_msn=99999999999999999999",
          // Read otherwise by caches in front (nginx's $arg_ takes the first, in any case):
          // an answer stored under another state's key.
          "_HLS_msn=9&_HLS_part=0&_HLS_msn=0", "_HLS_msn=1&_HLS_part=0&_HLS_part=1",
          "_HLS_skip=YES&_HLS_skip=YES", "_hls_msn=9", "_HLS_MSN=9&_HLS_part=0",
          "_HLS_msn=9&_hls_part=0", "_HLS_msn=9&_Hls_Skip=YES"}) {
        EXPECT_FALSE(parseReloadQuery(bad).valid) << bad;
    }
}

TEST(Router, Ranges) {
    ByteRange r;
    EXPECT_EQ(parseRange("", 1000, r), RangeResult::Whole);
    EXPECT_EQ(parseRange("bytes=0-99", 1000, r), RangeResult::Partial);
    EXPECT_EQ(r.offset, 0u);
    EXPECT_EQ(r.length, 100u);
    EXPECT_EQ(parseRange("bytes=990-", 1000, r), RangeResult::Partial);
    EXPECT_EQ(r.offset, 990u);
    EXPECT_EQ(r.length, 10u);
    EXPECT_EQ(parseRange("bytes=-10", 1000, r), RangeResult::Partial);
    EXPECT_EQ(r.offset, 990u);
    EXPECT_EQ(parseRange("bytes=-5000", 1000, r), RangeResult::Partial);
    EXPECT_EQ(r.offset, 0u);
    EXPECT_EQ(r.length, 1000u);
    EXPECT_EQ(parseRange("bytes=500-5000", 1000, r), RangeResult::Partial);
    EXPECT_EQ(r.length, 500u);
    EXPECT_EQ(parseRange("bytes=1000-", 1000, r), RangeResult::Unsatisfiable);
    EXPECT_EQ(parseRange("bytes=-0", 1000, r), RangeResult::Unsatisfiable);
    EXPECT_EQ(parseRange("bytes=5-1", 1000, r), RangeResult::Whole);
    EXPECT_EQ(parseRange("bytes=0-1,4-5", 1000, r), RangeResult::Whole);
    EXPECT_EQ(parseRange("items=0-1", 1000, r), RangeResult::Whole);
    EXPECT_EQ(parseRange("bytes=x-1", 1000, r), RangeResult::Whole);
    EXPECT_EQ(parseRange("bytes=99999999999999999999-", 1000, r), RangeResult::Whole);
}

TEST(Listen, Addresses) {
    std::string host;
    int port = -1;
    EXPECT_TRUE(parseListen("0.0.0.0:8080", host, port));
    EXPECT_EQ(host, "0.0.0.0");
    EXPECT_EQ(port, 8080);
    EXPECT_TRUE(parseListen("127.0.0.1:0", host, port));
    EXPECT_EQ(port, 0);
    EXPECT_TRUE(parseListen("[::]:8080", host, port));
    EXPECT_EQ(host, "::");
    EXPECT_TRUE(parseListen("[::1]:80", host, port));
    EXPECT_EQ(host, "::1");
    EXPECT_TRUE(parseListen(":9000", host, port));
    EXPECT_EQ(host, "0.0.0.0");
    EXPECT_TRUE(parseListen("9001", host, port));
    EXPECT_EQ(port, 9001);
    for (const char* bad : {"", ":", "host:", "::1:80", "[::1]", "[]:80", "1.2.3.4:65536",
                            "1.2.3.4:-1", "1.2.3.4:80x", "[::1]80"}) {
        EXPECT_FALSE(parseListen(bad, host, port)) << bad;
    }
}

TEST(Metrics, ViewersAreDistinctRecentClients) {
    HttpMetrics m;
    auto t0 = HttpMetrics::Clock::now();
    m.sawViewer("a", t0);
    m.sawViewer("b", t0);
    m.sawViewer("a", t0 + std::chrono::seconds(1));
    EXPECT_EQ(m.viewers(std::chrono::seconds(2), t0 + std::chrono::seconds(1)), 2u);
    EXPECT_EQ(m.viewers(std::chrono::seconds(2), t0 + std::chrono::milliseconds(2500)), 1u);
}

TEST(Metrics, ClientsGoneForAMinuteAreForgotten) {
    HttpMetrics m;
    auto t0 = HttpMetrics::Clock::now();
    m.sawViewer("gone", t0);
    m.sawViewer("stays", t0 + std::chrono::seconds(50));
    m.sawViewer("new", t0 + std::chrono::seconds(90));
    // An hour-wide window counts everything still tracked: "gone" is no longer.
    EXPECT_EQ(m.viewers(std::chrono::hours(1), t0 + std::chrono::seconds(90)), 2u);
}

TEST(Metrics, TrackedClientsAreBounded) {
    HttpMetrics m;
    auto t0 = HttpMetrics::Clock::now();
    for (size_t i = 0; i < HttpMetrics::kMaxTracked + 100; ++i) {
        m.sawViewer("client" + std::to_string(i), t0);
    }
    EXPECT_EQ(m.viewers(std::chrono::seconds(2), t0), HttpMetrics::kMaxTracked);
    // A tracked client is still refreshed when the map is full.
    m.sawViewer("client0", t0 + std::chrono::seconds(30));
    EXPECT_EQ(m.viewers(std::chrono::seconds(2), t0 + std::chrono::seconds(30)), 1u);
}

TEST(Metrics, RenderCountsByRouteAndStatus) {
    HttpMetrics m;
    m.count(RouteKind::Segment, 200, 1000);
    m.count(RouteKind::Segment, 200, 500);
    m.count(RouteKind::Segment, 404, 10);
    m.count(RouteKind::NotFound, 418, 3);
    StoreSnapshot snap;
    std::string text = m.render(snap);
    EXPECT_NE(text.find("hlsd_http_requests_total{route=\"segment\",status=\"200\"} 2\n"),
              std::string::npos);
    EXPECT_NE(text.find("hlsd_http_requests_total{route=\"segment\",status=\"404\"} 1\n"),
              std::string::npos);
    EXPECT_NE(text.find("hlsd_http_requests_total{route=\"other\",status=\"other\"} 1\n"),
              std::string::npos);
    EXPECT_NE(text.find("hlsd_http_sent_bytes_total{route=\"segment\"} 1510\n"), std::string::npos);
    EXPECT_NE(text.find("hlsd_last_segment_age_seconds -1.000\n"), std::string::npos);
    EXPECT_NE(text.find("# TYPE hlsd_viewers gauge\n"), std::string::npos);
}

}  // namespace
}  // namespace hlsd
