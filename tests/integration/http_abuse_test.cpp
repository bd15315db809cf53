// The HTTP origin under hostile or broken clients: hundreds of idle connections, slowloris,
// oversized requests, deep pipelining, clients that vanish mid-segment, more clients than
// max_clients. Each time: hlsd stays up, a fresh client gets the playlist in < 100 ms
// throughout, and the process's file descriptors return to their baseline afterwards.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <regex>
#include <thread>

#include "integration/live_server.h"
#include "support/http_client.h"

namespace hlsd::test {
namespace {

using namespace std::chrono;

// A raw TCP connection we drive byte by byte.
class RawSocket {
public:
    explicit RawSocket(int port) : fd_(connectTcp("127.0.0.1", port, 5)) {}
    ~RawSocket() { close(); }
    bool ok() const { return fd_ >= 0; }
    bool send(const std::string& bytes) {
        return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
               static_cast<ssize_t>(bytes.size());
    }
    // Everything until the server closes (or the 5 s receive timeout).
    std::string readAll(size_t limit = 1 << 20) {
        std::string out;
        char buf[4096];
        ssize_t n;
        while (out.size() < limit && (n = ::recv(fd_, buf, sizeof buf, 0)) > 0) out.append(buf, n);
        return out;
    }
    std::string read(size_t n) {
        std::string out(n, '\0');
        ssize_t got = ::recv(fd_, out.data(), n, MSG_WAITALL);
        out.resize(got > 0 ? static_cast<size_t>(got) : 0);
        return out;
    }
    // Closing with a reset (SO_LINGER 0), as a crashed or killed client does.
    void reset() {
        linger l{1, 0};
        setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
        close();
    }
    void close() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }

private:
    int fd_ = -1;
};

const std::string kPlaylistRequest = "GET /live/index.m3u8 HTTP/1.1\r\nHost: t\r\n\r\n";

TEST(HttpAbuse, FiveHundredIdleConnectionsThenBaseline) {
    Server s;
    ASSERT_NE(s.port, 0);
    const size_t baseline = baselineFdCount(s.process->pid());
    {
        std::vector<std::unique_ptr<RawSocket>> idle;
        for (int i = 0; i < 500; ++i) {
            idle.push_back(std::make_unique<RawSocket>(s.port));
            ASSERT_TRUE(idle.back()->ok()) << i;
            // Half are viewers between two playlist reloads, half never said anything.
            if (i % 2 == 0) {
                ASSERT_TRUE(idle.back()->send(kPlaylistRequest));
            }
        }
        FreshClientProbe probe(s.port);
        std::this_thread::sleep_for(milliseconds(1500));
        EXPECT_GE(metric(s.port, "hlsd_http_connections_idle"), 500);
        expectFreshClientServed(probe, "500 idle connections");
    }
    EXPECT_LE(settledFdCount(s.process->pid(), baseline), baseline);
    EXPECT_TRUE(s.process->running());
}

TEST(HttpAbuse, SlowlorisIsCutOffAtTheHeaderTimeout) {
    Server s({"--header-timeout", "2"});
    ASSERT_NE(s.port, 0);
    const size_t baseline = baselineFdCount(s.process->pid());
    std::vector<std::unique_ptr<RawSocket>> slow;
    for (int i = 0; i < 100; ++i) {
        slow.push_back(std::make_unique<RawSocket>(s.port));
        ASSERT_TRUE(slow.back()->send("GET /live/index.m3u8 HTTP/1.1\r\nHost: t\r\n"));
    }
    FreshClientProbe probe(s.port);
    // One more header byte a second on each: never a blank line.
    const auto start = steady_clock::now();
    size_t stillOpen = slow.size();
    for (int second = 0; second < 4 && stillOpen > 0; ++second) {
        stillOpen = 0;
        for (auto& c : slow) stillOpen += c->send("X") ? 1 : 0;
        std::this_thread::sleep_for(seconds(1));
    }
    expectFreshClientServed(probe, "100 slowloris clients");
    for (auto& c : slow) {
        const std::string answer = c->readAll();
        EXPECT_EQ(answer.rfind("HTTP/1.1 408 ", 0), 0u) << answer;
    }
    std::cout << "100 slowloris connections closed within "
              << duration<double>(steady_clock::now() - start).count() << " s\n";
    EXPECT_GE(metric(s.port, "hlsd_http_header_timeouts_total"), 100);
    slow.clear();
    EXPECT_LE(settledFdCount(s.process->pid(), baseline), baseline);
}

TEST(HttpAbuse, OversizedRequestsAreRefusedAndClosed) {
    Server s({"--max-request-size", "16384"});
    ASSERT_NE(s.port, 0);
    const size_t baseline = baselineFdCount(s.process->pid());
    FreshClientProbe probe(s.port);
    struct Case {
        const char* what;
        std::string request;
        int status;
    };
    const std::vector<Case> cases = {
        {"100 KiB URL",
         "GET /live/" + std::string(100 * 1024, 'a') + " HTTP/1.1\r\nHost: t\r\n\r\n", 431},
        {"200 headers of 100 bytes",
         [] {
             std::string r = "GET /live/index.m3u8 HTTP/1.1\r\nHost: t\r\n";
             for (int i = 0; i < 200; ++i)
                 r += "X-" + std::to_string(i) + ": " + std::string(90, 'v') + "\r\n";
             return r + "\r\n";
         }(),
         431},
        {"2 MiB without a line break", std::string(2 << 20, 'G'), 431},
        // Under max_request_size, over the request target limit (8192 bytes): 414.
        {"10 KiB URL", "GET /" + std::string(10 * 1024, 'b') + " HTTP/1.1\r\nHost: t\r\n\r\n", 414},
    };
    for (const auto& c : cases) {
        HttpConnection conn("127.0.0.1", s.port);
        ASSERT_TRUE(conn.connected());
        conn.sendRaw(c.request);  // may fail part-way: the server stops reading at the limit
        const auto r = conn.readResponse();
        EXPECT_EQ(r.status, c.status) << c.what << ": " << r.statusLine;
    }
    expectFreshClientServed(probe, "oversized requests");
    EXPECT_GE(metric(s.port, "hlsd_http_requests_too_large_total"), 3);
    EXPECT_LE(settledFdCount(s.process->pid(), baseline), baseline);
}

TEST(HttpAbuse, HundredPipelinedRequestsAreAnsweredInOrder) {
    Server s;
    const std::string name = newestSegment(s.port);
    ASSERT_FALSE(name.empty());
    HttpConnection c("127.0.0.1", s.port, 10);
    std::string batch;
    for (int i = 0; i < 100; ++i) {
        batch += i % 2 ? "HEAD /live/" + name + " HTTP/1.1\r\nHost: t\r\n\r\n"
                       : "GET /healthz?n=" + std::to_string(i) + " HTTP/1.1\r\nHost: t\r\n\r\n";
    }
    ASSERT_TRUE(c.sendRaw(batch));
    for (int i = 0; i < 100; ++i) {
        auto r = c.readResponse(i % 2 == 1);
        ASSERT_EQ(r.status, 200) << "response " << i;
        if (i % 2) {
            EXPECT_EQ(r.header("content-type"), "video/mp2t") << i;
        } else {
            EXPECT_EQ(r.body, "ok\n") << i;
        }
    }
}

TEST(HttpAbuse, ClientsThatVanishMidSegmentCostNothing) {
    Server s({"--width", "1280", "--height", "720", "--bitrate", "12M"});
    const std::string name = newestSegment(s.port);
    ASSERT_FALSE(name.empty());
    const size_t baseline = baselineFdCount(s.process->pid());
    FreshClientProbe probe(s.port);
    for (int round = 0; round < 5; ++round) {
        std::vector<std::unique_ptr<RawSocket>> clients;
        for (int i = 0; i < 20; ++i) {
            clients.push_back(std::make_unique<RawSocket>(s.port));
            ASSERT_TRUE(clients.back()->send("GET /live/" + name + " HTTP/1.1\r\nHost: t\r\n\r\n"));
        }
        for (size_t i = 0; i < clients.size(); ++i) {
            EXPECT_EQ(clients[i]->read(1000).size(), 1000u);
            i % 2 ? clients[i]->reset() : clients[i]->close();
        }
    }
    expectFreshClientServed(probe, "100 clients leaving mid-segment");
    auto r = httpGet(s.port, "/live/" + name);
    EXPECT_EQ(r.status, 200);
    EXPECT_LE(settledFdCount(s.process->pid(), baseline), baseline);
    EXPECT_TRUE(s.process->running());
}

TEST(HttpAbuse, MaxClientsRefusesWith503ThenRecovers) {
    Server s({"--max-clients", "20"});
    ASSERT_NE(s.port, 0);
    std::this_thread::sleep_for(milliseconds(200));  // the start-up probes' connections close
    std::vector<std::unique_ptr<HttpConnection>> held;
    for (int i = 0; i < 20; ++i) {
        held.push_back(std::make_unique<HttpConnection>("127.0.0.1", s.port));
        ASSERT_EQ(held.back()->get("/live/index.m3u8").status, 200) << i;
    }
    auto refused = httpGet(s.port, "/live/index.m3u8");
    EXPECT_EQ(refused.status, 503);
    EXPECT_EQ(refused.header("retry-after"), "1");
    held.resize(10);
    std::this_thread::sleep_for(milliseconds(300));
    EXPECT_EQ(httpGet(s.port, "/live/index.m3u8").status, 200);
    for (auto& c : held) EXPECT_EQ(c->get("/live/index.m3u8").status, 200);  // still served
    EXPECT_GE(metric(s.port, "hlsd_http_connections_rejected_total"), 1);
}

TEST(HttpAbuse, SilentConnectionsAreClosedAfterTheIdleTimeout) {
    Server s({"--http-timeout", "1"});
    ASSERT_NE(s.port, 0);
    RawSocket silent(s.port);
    ASSERT_TRUE(silent.ok());
    const auto t0 = steady_clock::now();
    EXPECT_EQ(silent.readAll(), "");  // closed without a word
    const double waited = duration<double>(steady_clock::now() - t0).count();
    EXPECT_GT(waited, 0.8);
    EXPECT_LT(waited, 3.0);
}

}  // namespace
}  // namespace hlsd::test
