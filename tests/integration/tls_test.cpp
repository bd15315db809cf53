// HTTPS on the real binary: every route over TLS 1.2 and 1.3 with a chain from a test CA, older
// versions and plain HTTP refused, stalled handshakes dropped at header_timeout while fresh
// clients are served, SIGHUP renewing the certificate under open connections, a token URL in
// ffmpeg over TLS, and configuration errors naming the file.
#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <thread>

#include "integration/live_server.h"
#include "support/http_client.h"
#include "support/m3u8.h"
#include "support/tls_client.h"

namespace hlsd::test {
namespace {

using namespace std::chrono;

const std::string kMakeCa = std::string(HLSD_SOURCE_DIR) + "/tests/support/make-test-ca.sh";

// A test CA (root, intermediate) and a server certificate issued under `name`.
std::string makeCa(const std::string& dir, const std::string& name = "hlsd test") {
    const auto r = run({kMakeCa, dir, name}, 60);
    EXPECT_EQ(r.exitCode, 0) << r.err;
    return dir + "/ca.pem";
}

std::vector<std::string> tlsArgs(const std::string& dir) {
    return {"--tls-cert", dir + "/cert.pem", "--tls-key", dir + "/key.pem"};
}

struct Https {
    std::string dir = makeTempDir("tls");
    std::string ca = makeCa(dir);
    std::unique_ptr<Server> server;
    explicit Https(std::vector<std::string> extra = {}) {
        auto args = tlsArgs(dir);
        args.insert(args.end(), extra.begin(), extra.end());
        server = std::make_unique<Server>(args);
    }
    int port() const { return server->port; }
    TlsOptions trust() const { return {ca}; }
    HttpResponse get(const std::string& path, const std::string& headers = "") const {
        return httpsGet(port(), path, trust(), headers);
    }
    double metric(const std::string& name) const {
        const std::string text = get("/metrics").body;
        std::smatch m;
        if (!std::regex_search(text, m, std::regex("\n" + name + " ([0-9.e+-]+)\n"))) return -1;
        return std::stod(m[1]);
    }
};

TEST(Tls, EveryRouteOverTls13And12WithTheChain) {
    Https s({"--container", "fmp4"});
    ASSERT_NE(s.port(), 0);
    for (const int max : {0, TLS1_2_VERSION}) {
        TlsConnection c("127.0.0.1", s.port(), {s.ca, max});
        ASSERT_TRUE(c.established()) << c.error();  // the chain verified against the root
        EXPECT_EQ(c.version(), max ? "TLSv1.2" : "TLSv1.3");
        EXPECT_EQ(c.peerName(), "hlsd test");
        // One keep-alive connection: playlist, init section, a segment, a part, a blocking
        // reload, the page, a snapshot.
        const HttpResponse playlist = c.get("/live/index.m3u8");
        ASSERT_EQ(playlist.status, 200);
        const auto parsed = parseM3u8(playlist.body);
        ASSERT_TRUE(parsed && !parsed->segments.empty());
        std::smatch m;
        ASSERT_TRUE(
            std::regex_search(playlist.body, m, std::regex(R"re(EXT-X-MAP:URI="([^"]+)")re")));
        const HttpResponse init = c.get("/live/" + m[1].str());
        const HttpResponse segment = c.get("/live/" + parsed->segments.back().uri);
        ASSERT_EQ(init.status, 200);
        ASSERT_EQ(segment.status, 200);
        EXPECT_EQ(std::to_string(segment.body.size()), segment.header("content-length"));
        const std::string file = s.dir + "/joined.mp4";
        writeFile(file, init.body + segment.body);
        const auto probe = run({"ffprobe", "-v", "error", "-count_frames", "-select_streams", "v",
                                "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", file},
                               30);
        EXPECT_EQ(probe.err, "");
        EXPECT_GT(std::atoi(probe.out.c_str()), 0) << "the segment over TLS does not decode";
        ASSERT_TRUE(std::regex_search(playlist.body, m, std::regex(R"re(URI="([^"]+\.m4s)")re")));
        EXPECT_EQ(c.get("/live/" + m[1].str()).status, 200);
        ASSERT_TRUE(std::regex_search(parsed->segments.back().uri, m, std::regex(R"(-(\d+)\.)")));
        const auto t0 = steady_clock::now();
        const HttpResponse blocked = c.get(
            "/live/index.m3u8?_HLS_msn=" + std::to_string(std::stoll(m[1]) + 1) + "&_HLS_part=0");
        EXPECT_EQ(blocked.status, 200);
        EXPECT_LT(duration<double>(steady_clock::now() - t0).count(), 3.0);
        const HttpResponse snapshot = c.get("/live/snapshot.jpg");
        EXPECT_EQ(snapshot.status, 200);
        EXPECT_EQ(snapshot.body.substr(0, 2), "\xff\xd8");
    }
    // The same with curl, which checks the chain and the name itself.
    const auto curl = run({"curl", "-sS", "--fail", "--cacert", s.ca, "-o", "/dev/null", "-w",
                           "%{http_code} %{ssl_verify_result}",
                           "https://localhost:" + std::to_string(s.port()) + "/live/index.m3u8"},
                          30);
    EXPECT_EQ(curl.out, "200 0") << curl.err;
    EXPECT_GE(s.metric("hlsd_tls_handshakes_total"), 3);
    EXPECT_EQ(s.server->stop().exitCode, 0);
}

TEST(Tls, OlderVersionsAndPlainHttpAreRefused) {
    Https s;
    ASSERT_NE(s.port(), 0);
    const double plainBefore = s.metric("hlsd_tls_plain_http_total");  // start-up probes'
    const TlsConnection old("127.0.0.1", s.port(), {s.ca, TLS1_1_VERSION, TLS1_1_VERSION});
    EXPECT_FALSE(old.established()) << "TLS 1.1 was accepted";
    std::cout << "TLS 1.1: " << old.error() << "\n";
    // Plain HTTP to the TLS port: told so in plain text, and closed.
    const HttpResponse plain = httpGet(s.port(), "/live/index.m3u8");
    EXPECT_EQ(plain.status, 400);
    EXPECT_NE(plain.body.find("https://"), std::string::npos) << plain.body;
    EXPECT_TRUE(plain.closed);
    // Bytes that are neither: closed without an answer.
    HttpConnection junk("127.0.0.1", s.port());
    ASSERT_TRUE(junk.sendRaw(std::string("\x01\x02\x03\r\n\r\n", 7)));
    std::string got;
    EXPECT_EQ(junk.readSome(got), 0);
    EXPECT_EQ(s.metric("hlsd_tls_plain_http_total"), plainBefore + 1);
    EXPECT_GE(s.metric("hlsd_tls_handshake_failures_total"), 2);
    EXPECT_EQ(s.get("/healthz").status, 200);
    EXPECT_EQ(s.server->stop().exitCode, 0);
}

// At max_clients a TLS client still gets its 503 (written before anything was read: OpenSSL
// runs the handshake inside that write), not a reset.
TEST(Tls, AFullServerAnswers503OverTls) {
    Https s({"--max-clients", "4"});
    ASSERT_NE(s.port(), 0);
    const double before = s.metric("hlsd_tls_handshakes_total");
    std::vector<std::unique_ptr<TlsConnection>> held;
    for (int i = 0; i < 4; ++i) {
        held.push_back(std::make_unique<TlsConnection>("127.0.0.1", s.port(), s.trust()));
        ASSERT_TRUE(held.back()->established());
    }
    TlsConnection extra("127.0.0.1", s.port(), s.trust());
    ASSERT_TRUE(extra.established()) << extra.error();
    const HttpResponse refused = extra.get("/healthz");
    EXPECT_EQ(refused.status, 503);
    EXPECT_EQ(refused.header("retry-after"), "1");
    held.clear();
    HttpResponse metrics;
    for (int i = 0; i < 50 && metrics.status != 200; ++i) {
        std::this_thread::sleep_for(milliseconds(50));
        metrics = s.get("/metrics");
    }
    const std::string count = "\nhlsd_tls_handshakes_total ";
    const size_t at = metrics.body.find(count);
    ASSERT_NE(at, std::string::npos);
    EXPECT_GE(std::stod(metrics.body.substr(at + count.size())), before + 5)
        << "the refused client's handshake counts too";
    EXPECT_EQ(s.server->stop().exitCode, 0);
}

// 100 requests in one TLS record, read at most max_request_size at a time: the rest waits
// decrypted inside OpenSSL, where epoll cannot see it, fewer than a burst's worth per read;
// every one is answered, in order.
TEST(Tls, PipelinedRequestsInOneRecordAreAllAnswered) {
    Https s({"--max-request-size", "1024"});
    ASSERT_NE(s.port(), 0);
    TlsConnection c("127.0.0.1", s.port(), s.trust());
    ASSERT_TRUE(c.established());
    std::string batch;
    for (int i = 0; i < 100; ++i)
        batch += "GET /healthz?n=" + std::to_string(i) +
                 " HTTP/1.1\r\nHost: t\r\nX-Pad: " + std::string(60, 'x') +
                 "\r\n\r\n";          // ~110 bytes: < 16 (a burst) per read
    ASSERT_LT(batch.size(), 16384u);  // one record
    ASSERT_TRUE(c.sendRaw(batch));
    int answered = 0;
    for (; answered < 100; ++answered) {
        const HttpResponse r = c.readResponse();
        if (r.status != 200 || r.body.rfind("ok", 0) != 0) break;
    }
    EXPECT_EQ(answered, 100);
    EXPECT_EQ(c.get("/healthz").status, 200);
    EXPECT_EQ(s.server->stop().exitCode, 0);
}

// 200 clients that start a handshake and stall: each is closed at header_timeout, a fresh
// client is served meanwhile, and the descriptors return to the baseline.
TEST(Tls, StalledHandshakesAreDroppedAtTheHeaderTimeout) {
    Https s({"--header-timeout", "2"});
    ASSERT_NE(s.port(), 0);
    const pid_t pid = s.server->process->pid();
    const size_t baseline = baselineFdCount(pid);
    FreshClientProbe probe(s.port(), [&] { return s.get(kPlaylistNow).status; });
    std::vector<std::unique_ptr<HttpConnection>> stalled;
    // Half send nothing; half the first bytes of a ClientHello (a record header that promises
    // more than comes).
    const std::string partialHello("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11);
    for (int i = 0; i < 200; ++i) {
        stalled.push_back(std::make_unique<HttpConnection>("127.0.0.1", s.port(), 6));
        ASSERT_TRUE(stalled.back()->connected());
        if (i % 2) {
            ASSERT_TRUE(stalled.back()->sendRaw(partialHello));
        }
    }
    const auto t0 = steady_clock::now();
    std::this_thread::sleep_for(milliseconds(1500));
    expectFreshClientServed(probe, "200 stalled TLS handshakes");
    int closed = 0;
    for (auto& c : stalled) {
        std::string got;
        if (c->readSome(got) == 0) ++closed;  // the server's end, within the 6 s read timeout
    }
    const double waited = duration<double>(steady_clock::now() - t0).count();
    EXPECT_EQ(closed, 200);
    EXPECT_LT(waited, 5.0) << "closed long after header_timeout (2 s)";
    stalled.clear();
    EXPECT_LE(settledFdCount(pid, baseline), baseline);
    EXPECT_GE(s.metric("hlsd_http_header_timeouts_total"), 200);
    EXPECT_EQ(s.server->stop().exitCode, 0);
}

TEST(Tls, SighupRenewsTheCertificateUnderOpenConnections) {
    Https s;
    ASSERT_NE(s.port(), 0);
    TlsConnection kept("127.0.0.1", s.port(), s.trust());
    ASSERT_TRUE(kept.established());
    ASSERT_EQ(kept.get("/live/index.m3u8").status, 200);
    TlsConnection stream("127.0.0.1", s.port(), s.trust());
    ASSERT_TRUE(stream.sendRaw("GET /live/stream.mjpg HTTP/1.1\r\nHost: t\r\n\r\n"));
    std::string got;
    ASSERT_GT(stream.readSome(got), 0);

    makeCa(s.dir, "renewed");
    s.server->process->signal(SIGHUP);
    std::string name;
    for (int i = 0; i < 40 && name != "renewed"; ++i) {
        std::this_thread::sleep_for(milliseconds(50));
        name = TlsConnection("127.0.0.1", s.port(), s.trust()).peerName();
    }
    EXPECT_EQ(name, "renewed");
    // The connections from before go on: the keep-alive one answers, the stream still flows.
    EXPECT_EQ(kept.get("/live/index.m3u8").status, 200);
    EXPECT_EQ(kept.peerName(), "hlsd test");
    size_t more = 0;
    for (int i = 0; i < 50 && more < 100000; ++i) {
        more += static_cast<size_t>(stream.readSome(got));
    }
    EXPECT_GE(more, 100000u) << "the MJPEG stream stopped at the reload";

    // A broken certificate: logged, and the one in use stays.
    writeFile(s.dir + "/cert.pem", "not a certificate\n");
    s.server->process->signal(SIGHUP);
    std::this_thread::sleep_for(milliseconds(500));
    EXPECT_EQ(TlsConnection("127.0.0.1", s.port(), s.trust()).peerName(), "renewed");
    const auto done = s.server->stop();
    EXPECT_EQ(done.exitCode, 0);
    EXPECT_NE(done.err.find("reloaded; new connections get the certificate \"renewed\""),
              std::string::npos);
    EXPECT_NE(done.err.find("the previous certificate stays in use"), std::string::npos)
        << done.err;
}

TEST(Tls, ATokenUrlPlaysInFfmpegAndBasicWorksOverTls) {
    const std::string dir = makeTempDir("tls-access");
    const std::string ca = makeCa(dir);
    writeFile(dir + "/pw", "viewer pw\n");
    const auto hash = run({kBinary, "--hash-password"}, 30, dir + "/pw");
    ASSERT_EQ(hash.exitCode, 0);
    writeFile(dir + "/hlsd.yml", "users:\n  - name: viewer\n    password_hash: \"" +
                                     hash.out.substr(0, hash.out.find('\n')) +
                                     "\"\n    permissions: [view]\n");
    const auto made = run({kBinary, "-c", dir + "/hlsd.yml", "--make-token", "--user", "viewer"});
    const std::string token = made.out.substr(0, made.out.find('\n'));
    auto args = tlsArgs(dir);
    args.insert(args.end(), {"-c", dir + "/hlsd.yml", "--container", "mpegts"});
    Server server(args);
    ASSERT_NE(server.port, 0);
    const std::string base = "https://127.0.0.1:" + std::to_string(server.port);
    EXPECT_EQ(httpsGet(server.port, "/live/index.m3u8", {ca}).status, 401);
    EXPECT_EQ(httpsGet(server.port, "/live/index.m3u8", {ca},
                       "Authorization: " + basicCredentials("viewer", "viewer pw") + "\r\n")
                  .status,
              200);
    // ffmpeg checks the chain (-tls_verify) and follows every URI with the token alone.
    const auto ffmpeg =
        run({"ffmpeg", "-nostdin", "-v", "error", "-tls_verify", "1", "-ca_file", ca, "-i",
             base + "/live/index.m3u8?token=" + token, "-t", "5", "-f", "null", "-"},
            60);
    EXPECT_EQ(ffmpeg.exitCode, 0);
    EXPECT_EQ(ffmpeg.err, "") << "ffmpeg printed errors";
    EXPECT_EQ(server.stop().exitCode, 0);
}

TEST(Tls, ConfigurationErrorsNameTheCause) {
    const std::string dir = makeTempDir("tls-errors");
    makeCa(dir);
    auto start = [&](std::vector<std::string> args) {
        args.insert(args.begin(), {kBinary, "--source", "test", "--listen", "127.0.0.1:0"});
        return run(args, 30);
    };
    auto r = start({"--tls-cert", dir + "/cert.pem"});
    EXPECT_NE(r.exitCode, 0);
    EXPECT_NE(r.err.find("--tls-cert: tls_cert: needs tls_key too"), std::string::npos) << r.err;
    r = start({"--tls-cert", dir + "/cert.pem", "--tls-key", dir + "/missing.pem"});
    EXPECT_NE(r.exitCode, 0);
    EXPECT_NE(r.err.find("tls_key " + dir + "/missing.pem: cannot read: No such file"),
              std::string::npos)
        << r.err;
    run({"openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out",
         dir + "/other.pem"});
    r = start({"--tls-cert", dir + "/cert.pem", "--tls-key", dir + "/other.pem"});
    EXPECT_NE(r.exitCode, 0);
    EXPECT_NE(r.err.find("does not match tls_cert"), std::string::npos) << r.err;
    r = start({"--tls-cert", dir + "/key.pem", "--tls-key", dir + "/key.pem"});
    EXPECT_NE(r.exitCode, 0);
    EXPECT_NE(r.err.find("tls_cert " + dir + "/key.pem: no start line"), std::string::npos)
        << r.err;
    // systemd's credentials directory, named as unit files name it.
    writeFile(dir + "/hlsd.yml",
              "tls_cert: ${CREDENTIALS_DIRECTORY}/cert.pem\n"
              "tls_key: ${CREDENTIALS_DIRECTORY}/key.pem\n");
    unsetenv("CREDENTIALS_DIRECTORY");
    r = start({"-c", dir + "/hlsd.yml"});
    EXPECT_NE(r.exitCode, 0);
    EXPECT_NE(r.err.find("tls_cert: names ${CREDENTIALS_DIRECTORY}, which is not set"),
              std::string::npos)
        << r.err;
    // --check-config cannot see the service's directory: it says so, and passes.
    r = run({kBinary, "--check-config", "-c", dir + "/hlsd.yml"}, 30);
    EXPECT_EQ(r.exitCode, 0) << r.err;
    EXPECT_NE(r.out.find("the TLS files are checked at start"), std::string::npos) << r.out;
    // Otherwise it loads the files, as a start would.
    r = run({kBinary, "--check-config", "--tls-cert", dir + "/cert.pem", "--tls-key",
             dir + "/missing.pem"},
            30);
    EXPECT_EQ(r.exitCode, 2);
    EXPECT_NE(r.err.find("tls_key " + dir + "/missing.pem: cannot read"), std::string::npos);
    r = run(
        {kBinary, "--check-config", "--tls-cert", dir + "/cert.pem", "--tls-key", dir + "/key.pem"},
        30);
    EXPECT_EQ(r.exitCode, 0) << r.err;
    setenv("CREDENTIALS_DIRECTORY", dir.c_str(), 1);
    Server server({"-c", dir + "/hlsd.yml"});
    unsetenv("CREDENTIALS_DIRECTORY");
    ASSERT_NE(server.port, 0);
    EXPECT_EQ(httpsGet(server.port, "/healthz", {dir + "/ca.pem"}).status, 200);
    EXPECT_EQ(server.stop().exitCode, 0);
}

}  // namespace
}  // namespace hlsd::test
