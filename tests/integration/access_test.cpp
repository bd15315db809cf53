// Access control on the real binary: who gets what on every route (curl's matrix, on raw
// sockets), a token URL whose playlists lead everywhere with no other credential, a blocking
// reload refused at once, guessing slowed to 429, and the two commands that make the config.
#include <gtest/gtest.h>

#include <chrono>
#include <iostream>
#include <map>
#include <regex>
#include <thread>

#include "integration/live_server.h"
#include "support/http_client.h"
#include "support/m3u8.h"

namespace hlsd::test {
namespace {

using namespace std::chrono;

std::string basic(const std::string& user, const std::string& password) {
    return "Authorization: " + basicCredentials(user, password) + "\r\n";
}

// `hlsd --hash-password` with the password on a pipe.
std::string hashOf(const std::string& password, const std::string& dir) {
    writeFile(dir + "/pw", password + "\n");
    const auto r = run({kBinary, "--hash-password"}, 30, dir + "/pw");
    EXPECT_EQ(r.exitCode, 0) << r.err;
    return r.out.substr(0, r.out.find('\n'));
}

struct Secured {
    std::string dir = makeTempDir("access");
    std::string config;
    std::unique_ptr<Server> server;
    Secured(std::vector<std::string> extra = {}) {
        config = dir + "/hlsd.yml";
        writeFile(config,
                  "users:\n"
                  "  - name: alice\n"
                  "    password_hash: \"" +
                      hashOf("alice pw", dir) +
                      "\"\n"
                      "    permissions: [view, metrics]\n"
                      "  - name: viewer\n"
                      "    password_hash: \"" +
                      hashOf("viewer pw", dir) +
                      "\"\n"
                      "    permissions: [view]\n");
        std::vector<std::string> args = {"-c", config, "--container", "fmp4"};
        args.insert(args.end(), extra.begin(), extra.end());
        server = std::make_unique<Server>(args);
    }
    std::string token(const std::string& user, const std::string& expires = "") {
        std::vector<std::string> args = {kBinary, "-c", config, "--make-token", "--user", user};
        if (!expires.empty()) args.insert(args.end(), {"--expires", expires});
        const auto r = run(args, 30);
        EXPECT_EQ(r.exitCode, 0) << r.err;
        return r.out.substr(0, r.out.find('\n'));
    }
    int port() const { return server->port; }
};

// A media URI the playlist lists now: the newest part's, for the matrix.
std::string someMedia(int port, const std::string& creds) {
    const HttpResponse r = httpGet(port, "/live/index.m3u8", creds);
    std::smatch m;
    const std::regex part(R"(URI="([^"?]+\.m4s))");
    return std::regex_search(r.body, m, part) ? "/live/" + m[1].str() : "";
}

TEST(Access, WhoGetsWhatOnEveryRoute) {
    Secured s({"--login-failures", "1000"});  // the matrix fails often, all from 127.0.0.1
    ASSERT_NE(s.port(), 0);
    const std::string viewerToken = s.token("viewer");
    const std::string expiring = s.token("viewer", "1s");
    std::string altered = viewerToken;
    altered.back() = altered.back() == 'A' ? 'B' : 'A';
    const std::string media = someMedia(s.port(), basic("alice", "alice pw"));
    ASSERT_FALSE(media.empty());
    std::this_thread::sleep_for(1500ms);  // `expiring` has expired

    struct Who {
        const char* name;
        std::string header, token;
        int view, metrics;  // expected status
    };
    const std::vector<Who> who = {
        {"nobody", "", "", 401, 401},
        {"wrong password", basic("alice", "nope"), "", 401, 401},
        {"wrong user", basic("mallory", "alice pw"), "", 401, 401},
        {"viewer (no metrics)", basic("viewer", "viewer pw"), "", 200, 403},
        {"alice", basic("alice", "alice pw"), "", 200, 200},
        {"viewer's token", "", viewerToken, 200, 403},
        {"expired token", "", expiring, 401, 401},
        {"altered token", "", altered, 401, 401},
    };
    const std::vector<std::pair<std::string, bool>> routes = {
        // path, needs metrics
        {"/", false},
        {"/live/index.m3u8", false},
        {media, false},
        {"/live/snapshot.jpg", false},
        {"/?action=snapshot", false},
        {"/metrics", true},
    };
    for (const Who& w : who) {
        for (const auto& [path, metricsRoute] : routes) {
            std::string target = path;
            if (!w.token.empty())
                target += (path.find('?') == std::string::npos ? "?" : "&") +
                          std::string("token=") + w.token;
            const HttpResponse r = httpGet(s.port(), target, w.header);
            const int expected = metricsRoute ? w.metrics : w.view;
            EXPECT_EQ(r.status, expected) << w.name << " " << path << ": " << r.body;
            // What one viewer was given, no edge may give another (RFC 9111 §3.5).
            const std::string cc = r.header("cache-control");
            EXPECT_TRUE(cc == "no-store" || cc.rfind("private", 0) == 0 || path == "/")
                << w.name << " " << path << ": " << cc;
            if (r.status == 401) {
                EXPECT_EQ(r.header("www-authenticate"), "Basic realm=\"hlsd\", charset=\"UTF-8\"");
                EXPECT_EQ(r.header("content-type"), "text/plain; charset=utf-8");
                EXPECT_EQ(r.body.rfind("Unauthorized: ", 0), 0u) << r.body;
            }
            if (r.status == 403) {
                EXPECT_NE(r.body.find("may not read metrics"), std::string::npos);
            }
        }
        // Streams: HEAD, their heads only.
        for (const char* path : {"/live/stream.mp4", "/?action=stream"}) {
            std::string target = path;
            if (!w.token.empty())
                target += (target.find('?') == std::string::npos ? "?token=" : "&token=") + w.token;
            EXPECT_EQ(httpGet(s.port(), target, w.header, "HEAD").status, w.view)
                << w.name << " HEAD " << path;
        }
    }
    // Always open: the service probe.
    EXPECT_EQ(httpGet(s.port(), "/healthz").status, 200);
    // A preflight carries no credentials; it is answered, and allows Authorization.
    const HttpResponse pre = httpGet(s.port(), "/live/index.m3u8",
                                     "Origin: http://x\r\nAccess-Control-Request-Method: GET\r\n"
                                     "Access-Control-Request-Headers: authorization\r\n",
                                     "OPTIONS");
    EXPECT_EQ(pre.status, 204);
    EXPECT_NE(pre.header("access-control-allow-headers").find("Authorization"), std::string::npos);
    EXPECT_EQ(s.server->stop().exitCode, 0);
}

// A player given only the token URL (VLC, ffmpeg, a dashboard) reaches every URI the LL-HLS
// playlists name: init section, parts, segments, the preload-hinted part, blocking reloads.
TEST(Access, ATokenUrlLeadsToEveryUriOfThePlaylists) {
    Secured s;
    ASSERT_NE(s.port(), 0);
    const std::string token = s.token("viewer");
    HttpConnection c("127.0.0.1", s.port(), 10);
    HttpResponse r = c.get("/live/index.m3u8?token=" + token);
    ASSERT_EQ(r.status, 200) << r.body;
    std::string error;
    auto p = parseM3u8(r.body, &error);
    ASSERT_TRUE(p) << error;
    int fetched = 0;
    auto fetch = [&](const std::string& uri) {
        EXPECT_NE(uri.find("token=" + token), std::string::npos) << uri;
        const HttpResponse m = c.get("/live/" + uri);
        EXPECT_EQ(m.status, 200) << uri << ": " << m.body;
        EXPECT_GT(m.body.size(), 0u);
        ++fetched;
    };
    const std::regex uris(R"(URI="([^"]+)\")");
    for (auto it = std::sregex_iterator(r.body.begin(), r.body.end(), uris);
         it != std::sregex_iterator(); ++it)
        fetch((*it)[1]);  // the map, every part, the preload hint (held until it exists)
    for (const auto& seg : p->segments) fetch(seg.uri);
    std::cout << fetched << " URIs fetched with the token alone\n";
    EXPECT_GE(fetched, 6);
    // A blocking reload through the token: held, then answered, its URIs with the token too.
    const long long next = p->mediaSequence + static_cast<long long>(p->segments.size()) + 1;
    r = c.get("/live/index.m3u8?token=" + token + "&_HLS_msn=" + std::to_string(next));
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_NE(r.body.find(".m4s?token=" + token), std::string::npos);
    EXPECT_EQ(s.server->stop().exitCode, 0);
}

// Nothing before the check: a blocking reload without credentials is 401 at once, not after
// the 3 × TARGETDURATION it would have waited; guessing from one address ends in 429.
TEST(Access, RefusalsComeAtOnceAndGuessingIsSlowed) {
    Secured s;
    ASSERT_NE(s.port(), 0);
    const std::string media = someMedia(s.port(), basic("alice", "alice pw"));
    std::smatch m;
    ASSERT_TRUE(std::regex_search(media, m, std::regex(R"(-(\d+)\.\d+\.m4s)")));
    const long long msn = std::stoll(m[1]) + 2;
    const auto t0 = steady_clock::now();
    const HttpResponse held =
        httpGet(s.port(), "/live/index.m3u8?_HLS_msn=" + std::to_string(msn) + "&_HLS_part=0");
    const double waited = duration<double>(steady_clock::now() - t0).count();
    EXPECT_EQ(held.status, 401);
    EXPECT_LT(waited, 0.5) << "an unauthenticated request was held";

    // Distinct guesses (the same wrong one again is answered from memory and not counted).
    int status = 0, attempts = 0;
    for (; attempts < 30 && status != 429; ++attempts) {
        status = httpGet(s.port(), "/live/index.m3u8",
                         basic("alice", "guess " + std::to_string(attempts)))
                     .status;
    }
    EXPECT_EQ(status, 429);
    EXPECT_EQ(attempts, 10) << "the 10th failure from one address";
    // Locked out: a new password is not even checked, right or not...
    const HttpResponse locked = httpGet(s.port(), "/live/index.m3u8", basic("viewer", "viewer pw"));
    EXPECT_EQ(locked.status, 429);
    EXPECT_EQ(locked.header("retry-after"), "60");
    // ...but one already checked, and a token, still work: a proxy or a NAT in front of several
    // people must not let one of them lock out the others.
    EXPECT_EQ(httpGet(s.port(), "/live/index.m3u8", basic("alice", "alice pw")).status, 200);
    EXPECT_EQ(httpGet(s.port(), "/live/index.m3u8?token=" + s.token("viewer")).status, 200);
    EXPECT_EQ(httpGet(s.port(), "/healthz").status, 200);
    EXPECT_EQ(s.server->stop().exitCode, 0);
}

// A stream lasts for hours; one opened with a token that expires ends then (MJPEG and the
// live stream), while one opened with a token that does not goes on.
TEST(Access, StreamsOpenedWithATokenEndWhenItExpires) {
    Secured s;
    ASSERT_NE(s.port(), 0);
    const std::string expiring = s.token("viewer", "4s");
    const auto t0 = steady_clock::now();
    std::vector<std::unique_ptr<HttpConnection>> streams;
    for (const std::string path : {"/live/stream.mjpg", "/live/stream.mp4"}) {
        for (const std::string& token : {expiring, s.token("viewer")}) {
            streams.push_back(std::make_unique<HttpConnection>("127.0.0.1", s.port(), 8));
            ASSERT_TRUE(streams.back()->sendRaw("GET " + path + "?token=" + token +
                                                " HTTP/1.1\r\nHost: t\r\n\r\n"));
        }
    }
    // Each reads until its stream ends, or for 7 s.
    std::vector<double> endedAt(streams.size(), -1);
    std::vector<size_t> bytes(streams.size(), 0);
    std::vector<std::thread> readers;
    for (size_t i = 0; i < streams.size(); ++i) {
        readers.emplace_back([&, i] {
            std::string got;
            while (duration<double>(steady_clock::now() - t0).count() < 7) {
                if (streams[i]->readSome(got) == 0) {
                    endedAt[i] = duration<double>(steady_clock::now() - t0).count();
                    return;
                }
                bytes[i] += got.size();
            }
        });
    }
    for (auto& t : readers) t.join();
    for (size_t i = 0; i < streams.size(); ++i) {
        std::cout << (i < 2 ? "mjpeg" : "stream.mp4") << (i % 2 ? " lasting" : " expiring") << ": "
                  << bytes[i] << " bytes, ended at " << endedAt[i] << " s\n";
        EXPECT_GT(bytes[i], 10000u) << i;
        if (i % 2 == 0) {
            EXPECT_GT(endedAt[i], 2.0) << i;  // the token was valid for at least 3 s
            EXPECT_LT(endedAt[i], 6.0) << i;
        } else {
            EXPECT_EQ(endedAt[i], -1) << i << ": a stream with a lasting token ended";
        }
    }
    EXPECT_EQ(s.server->stop().exitCode, 0);
}

// Behind a trusted edge, guessing locks out the viewer the edge names, not the edge (everyone
// behind it); from anywhere else X-Forwarded-For is not believed.
TEST(Access, ThroughATrustedEdgeTheViewerIsLockedOutNotTheEdge) {
    Secured s({"--trusted-proxies", "127.0.0.1"});
    ASSERT_NE(s.port(), 0);
    auto from = [](const std::string& ip) { return "X-Forwarded-For: " + ip + "\r\n"; };
    int status = 0, attempts = 0;
    for (; attempts < 30 && status != 429; ++attempts) {
        status = httpGet(s.port(), "/live/index.m3u8",
                         from("203.0.113.7") + basic("alice", "guess " + std::to_string(attempts)))
                     .status;
    }
    EXPECT_EQ(status, 429);
    EXPECT_EQ(attempts, 10);
    // Another viewer through the same edge logs in; the guesser stays locked out.
    EXPECT_EQ(
        httpGet(s.port(), "/live/index.m3u8", from("203.0.113.8") + basic("viewer", "viewer pw"))
            .status,
        200);
    EXPECT_EQ(
        httpGet(s.port(), "/live/index.m3u8", from("203.0.113.7") + basic("alice", "alice pw"))
            .status,
        429);
    const HttpResponse told =
        httpGet(s.port(), "/live/index.m3u8", from("203.0.113.7") + basic("alice", "x"));
    EXPECT_NE(told.body.find("203.0.113.7"), std::string::npos) << told.body;
    EXPECT_EQ(s.server->stop().exitCode, 0);

    // Without trusted_proxies the header is anyone's to forge: the peer is locked out.
    Secured plain;
    ASSERT_NE(plain.port(), 0);
    for (int i = 0; i < 10; ++i) {
        httpGet(plain.port(), "/live/index.m3u8",
                from("203.0.113." + std::to_string(i)) + basic("alice", "g" + std::to_string(i)));
    }
    EXPECT_EQ(httpGet(plain.port(), "/live/index.m3u8",
                      from("203.0.113.99") + basic("viewer", "viewer pw"))
                  .status,
              429);
    EXPECT_EQ(plain.server->stop().exitCode, 0);
}

// 1,000 failed logins from one address, with garbage Authorization headers among them, on new
// and kept-alive connections: hlsd stays up, a fresh client with a token is served in < 100 ms
// throughout, and the descriptors return to their baseline.
TEST(Access, AThousandFailedLoginsCostNothingToOthers) {
    Secured s;
    ASSERT_NE(s.port(), 0);
    const pid_t pid = s.server->process->pid();
    const size_t baseline = baselineFdCount(pid);
    const std::string token = s.token("viewer");
    FreshClientProbe probe(
        s.port(), [&] { return httpGet(s.port(), kPlaylistNow + "&token=" + token).status; });
    const std::vector<std::string> garbage = {
        "Authorization: Basic\r\n", "Authorization: Basic !!!!\r\n", "Authorization: Bearer x\r\n",
        "Authorization: Basic " + std::string(4000, 'A') + "\r\n", "Authorization: basic Og==\r\n"};
    std::map<int, int> statuses;
    auto kept = std::make_unique<HttpConnection>("127.0.0.1", s.port());
    for (int i = 0; i < 1000; ++i) {
        const std::string creds = i % 10 == 9 ? garbage[(i / 10) % garbage.size()]
                                              : basic("alice", "guess " + std::to_string(i));
        const HttpResponse r = i % 2 ? kept->get("/live/index.m3u8", creds)
                                     : httpGet(s.port(), "/live/index.m3u8", creds);
        ++statuses[r.status];
        if (r.closed || r.status == 0)  // a refusal may close: the next on a new connection
            kept = std::make_unique<HttpConnection>("127.0.0.1", s.port());
    }
    for (const auto& [status, count] : statuses) std::cout << status << ": " << count << "\n";
    EXPECT_EQ(statuses[200], 0);
    EXPECT_GE(statuses[429], 900) << "locked out after login_failures";
    EXPECT_EQ(statuses[0], 0) << "requests without an answer";
    expectFreshClientServed(probe, "1,000 failed logins");
    EXPECT_EQ(httpGet(s.port(), "/live/index.m3u8", basic("alice", "alice pw")).status, 429)
        << "a new password from the locked-out address";
    EXPECT_LE(settledFdCount(pid, baseline), baseline);
    EXPECT_EQ(s.server->stop().exitCode, 0);
}

TEST(Access, ConfigErrorsAndCommandsNameTheCause) {
    const std::string dir = makeTempDir("access-cfg");
    const std::string cfg = dir + "/bad.yml";
    writeFile(cfg, "users:\n  - name: bob\n    password_hash: plain\n    permissions: [view]\n");
    auto r = run({kBinary, "-c", cfg, "--check-config"}, 30);
    EXPECT_EQ(r.exitCode, 2);
    EXPECT_NE(r.err.find("bad.yml:2: users: bob: password_hash must be a crypt(3) hash"),
              std::string::npos)
        << r.err;
    writeFile(cfg, "users:\n  - name: bob\n    password_hash: \"" + hashOf("x", dir) +
                       "\"\n    permissions: [view, admin]\n");
    r = run({kBinary, "-c", cfg, "--check-config"}, 30);
    EXPECT_EQ(r.exitCode, 2);
    EXPECT_NE(r.err.find("permissions: unknown \"admin\""), std::string::npos) << r.err;
    writeFile(cfg, "users:\n  - name: bob\n    password_hash: \"" + hashOf("x", dir) +
                       "\"\n    permissions: [view]\n");
    r = run({kBinary, "-c", cfg, "--make-token", "--user", "bob", "--expires", "30d"}, 30);
    EXPECT_EQ(r.exitCode, 0) << r.err;
    EXPECT_EQ(r.out.rfind("bob.", 0), 0u) << r.out;
    r = run({kBinary, "-c", cfg, "--make-token", "--user", "nobody"}, 30);
    EXPECT_EQ(r.exitCode, 2);
    EXPECT_NE(r.err.find("no user \"nobody\""), std::string::npos) << r.err;
    r = run({kBinary, "--make-token", "--user", "bob", "--expires", "soon"}, 30);
    EXPECT_EQ(r.exitCode, 2);
    EXPECT_NE(r.err.find("--expires"), std::string::npos) << r.err;
    writeFile(dir + "/empty", "");
    r = run({kBinary, "--hash-password"}, 30, dir + "/empty");
    EXPECT_EQ(r.exitCode, 2);
    EXPECT_NE(r.err.find("no password"), std::string::npos);
}

}  // namespace
}  // namespace hlsd::test
