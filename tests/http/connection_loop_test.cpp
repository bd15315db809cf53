// The connection loop in-process, with a responder of the test's own: holds and wake(),
// pipelining, slow readers, refusals, stopping. Raw sockets on 127.0.0.1.
#include "http/connection_loop.h"
#include "http/loop_fixture.h"

#include "hlsd/segment.h"
#include "support/http_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace hlsd::test {
namespace {

using namespace std::chrono_literals;

// A latch the test opens; ready() waits on it (bounded, so a failing test still ends).
struct Gate {
    std::mutex m;
    std::condition_variable cv;
    bool entered = false, open = false;
    void enterAndWait() {
        std::unique_lock lock(m);
        entered = true;
        cv.notify_all();
        cv.wait_for(lock, 10s, [&] { return open; });
    }
    bool waitEntered(std::chrono::milliseconds t) {
        std::unique_lock lock(m);
        return cv.wait_for(lock, t, [&] { return entered; });
    }
    void release() {
        std::lock_guard lock(m);
        open = true;
        cv.notify_all();
    }
};

TEST(ConnectionLoop, AnswersPipelinedRequestsInOrderOnOneConnection) {
    Loop l;
    Client c(l.port);
    std::string burst;
    for (int i = 0; i < 50; ++i)
        burst += "GET /r" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\n\r\n";
    ASSERT_TRUE(c.send(burst + "GET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    const std::string all = c.read();
    size_t at = 0;
    for (int i = 0; i < 50; ++i) {
        at = all.find("path /r" + std::to_string(i), at);
        ASSERT_NE(at, std::string::npos) << i;
    }
    EXPECT_NE(all.find("Connection: close\r\n\r\npath /last", at), std::string::npos);
    EXPECT_EQ(l.accounted.load(), 51);
}

// The old wake() took the mutex its event thread held while checking held requests (and
// reading sockets, and sweeping): a slow ready() stalled the publishing thread with it.
TEST(ConnectionLoop, HeldRequestWaitsForWakeAndWakeNeverWaits) {
    Loop l;
    Gate gate;
    std::atomic<bool> produced{false};
    l.answer = [&](const Request& req, bool mayHold) -> std::variant<Response, Hold> {
        if (mayHold && req.path == "/held")
            return Hold{[&] {
                            if (produced.load()) gate.enterAndWait();
                            return produced.load();
                        },
                        std::chrono::steady_clock::now() + 20s};
        return text(produced ? "ready" : "late");
    };
    Client c(l.port);
    ASSERT_TRUE(c.send("GET /held HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    std::this_thread::sleep_for(100ms);
    l.loop.wake();  // nothing produced yet: still held
    std::this_thread::sleep_for(100ms);
    EXPECT_EQ(l.loop.stats().held, 1);

    produced = true;
    bool entered = false;
    for (int i = 0; i < 100 && !entered; ++i) {
        l.loop.wake();
        entered = gate.waitEntered(100ms);
    }
    ASSERT_TRUE(entered) << "the held request's ready() never ran";
    // The event thread is inside ready() now. Another publication must not wait for it.
    auto second = std::async(std::launch::async, [&] { l.loop.wake(); });
    const bool returned = second.wait_for(5s) == std::future_status::ready;
    gate.release();
    second.wait();
    EXPECT_TRUE(returned) << "wake() waited for the event thread";
    EXPECT_NE(c.read().find("\r\n\r\nready"), std::string::npos);
    EXPECT_EQ(l.loop.stats().held, 0);
}

TEST(ConnectionLoop, HeldRequestIsAnsweredAtItsDeadline) {
    Loop l;
    l.answer = [](const Request&, bool mayHold) -> std::variant<Response, Hold> {
        if (mayHold) return Hold{[] { return false; }, std::chrono::steady_clock::now() + 300ms};
        Response r = text("gave up");
        r.status = 503;
        return r;
    };
    Client c(l.port);
    ASSERT_TRUE(c.send("GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    const std::string r = c.read();
    EXPECT_EQ(r.rfind("HTTP/1.1 503 ", 0), 0u) << r;
    EXPECT_NE(r.find("gave up"), std::string::npos);
}

// Several loops: connections are spread by count whichever loop accepted them, each loop
// answers its own, and one wake() reaches the held requests of every loop.
TEST(ConnectionLoop, LoopsShareConnectionsAndEveryLoopHearsAWake) {
    LoopLimits limits;
    limits.loops = 3;
    Loop l(limits);
    std::atomic<bool> produced{false};
    std::mutex m;
    std::set<std::thread::id> threads;
    l.answer = [&](const Request&, bool mayHold) -> std::variant<Response, Hold> {
        {
            std::lock_guard lock(m);
            threads.insert(std::this_thread::get_id());
        }
        if (mayHold && !produced.load())
            return Hold{[&] { return produced.load(); }, std::chrono::steady_clock::now() + 20s};
        return text("ready");
    };
    constexpr int kClients = 30;
    std::vector<std::unique_ptr<Client>> clients;
    for (int i = 0; i < kClients; ++i) {
        clients.push_back(std::make_unique<Client>(l.port));
        ASSERT_TRUE(clients.back()->send("GET /held HTTP/1.1\r\nHost: x\r\n\r\n"));
    }
    for (int i = 0; i < 100 && l.loop.stats().held < kClients; ++i)
        std::this_thread::sleep_for(20ms);
    ASSERT_EQ(l.loop.stats().held, kClients);
    const std::vector<int64_t> spread = l.loop.openPerLoop();
    ASSERT_EQ(spread.size(), 3u);
    // Two loops accepting at the same instant may both pick the same one: off by one or two.
    for (int64_t n : spread) EXPECT_NEAR(n, kClients / 3, 2) << "connections per loop";
    {
        std::lock_guard lock(m);
        EXPECT_EQ(threads.size(), 3u) << "requests answered on each loop's thread";
    }
    produced = true;
    l.loop.wake();
    for (auto& c : clients) EXPECT_NE(c->read("ready").find("\r\n\r\nready"), std::string::npos);
    EXPECT_EQ(l.loop.stats().held, 0);
    EXPECT_EQ(l.loop.stats().open, kClients);
}

// Out of descriptors, accept() fails and the listening socket stays readable: a loop that kept
// watching it would spin a core until a descriptor came free. It stops listening a moment, and
// serves the waiting clients once it can.
TEST(ConnectionLoop, OutOfDescriptorsTheLoopWaitsInsteadOfSpinning) {
    Loop l;
    rlimit old{};
    ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &old), 0);
    // The clients' sockets exist before the limit drops; they connect after it, so the loop has
    // no descriptor left to accept them with.
    std::vector<int> fds;
    for (int i = 0; i < 3; ++i) fds.push_back(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    int highest = 0;
    for (int fd = 0; fd < 4096; ++fd)
        if (fcntl(fd, F_GETFD) != -1) highest = fd;
    rlimit tight = old;
    tight.rlim_cur = static_cast<rlim_t>(highest + 1);
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &tight), 0);
    std::vector<int> fillers;  // the free numbers below the limit, taken
    for (int fd; (fd = ::dup(0)) >= 0;) fillers.push_back(fd);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<uint16_t>(l.port));
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const std::string request = "GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    for (int fd : fds) {
        ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to), 0);
        ASSERT_EQ(::send(fd, request.data(), request.size(), MSG_NOSIGNAL),
                  static_cast<ssize_t>(request.size()));
    }
    rusage before{}, after{};
    getrusage(RUSAGE_SELF, &before);
    std::this_thread::sleep_for(600ms);
    getrusage(RUSAGE_SELF, &after);
    auto ms = [](const rusage& r) {
        return (r.ru_utime.tv_sec + r.ru_stime.tv_sec) * 1000.0 +
               (r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1000.0;
    };
    const double cpu = ms(after) - ms(before);
    for (int fd : fillers) ::close(fd);
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &old), 0);
    EXPECT_LT(cpu, 300) << "ms of CPU in 600 ms without a descriptor: the loop spun";
    for (int fd : fds) {  // served once descriptors are back
        timeval t{5, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &t, sizeof t);
        std::string got(4096, '\0');
        const ssize_t n = ::recv(fd, got.data(), got.size(), MSG_WAITALL);
        got.resize(n > 0 ? static_cast<size_t>(n) : 0);
        EXPECT_NE(got.find("path /x"), std::string::npos) << got;
        ::close(fd);
    }
}

// A big body to a client that reads slowly: sent from the owner's bytes, all of them, in
// order; the owner is let go once sent; nothing blocks other clients meanwhile.
TEST(ConnectionLoop, SlowReaderGetsEveryByteWithoutBlockingOthers) {
    Loop l;
    auto big = std::make_shared<std::string>(8 << 20, '\0');
    for (size_t i = 0; i < big->size(); ++i) (*big)[i] = static_cast<char>(i * 7 + i / 4096);
    l.answer = [&](const Request& req, bool) -> std::variant<Response, Hold> {
        if (req.path != "/big") return text("small");
        Response r;
        const auto* data = reinterpret_cast<const uint8_t*>(big->data());
        r.chunks = {{big, data, 1000}, {big, data + 1000, big->size() - 1000}};
        return r;
    };
    Client slow(l.port);
    ASSERT_TRUE(slow.send("GET /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    // Unread, 8 MiB cannot fit in the socket buffers: the loop now waits for room.
    std::this_thread::sleep_for(300ms);
    Client other(l.port);
    ASSERT_TRUE(other.send("GET /s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    EXPECT_NE(other.read().find("small"), std::string::npos);
    const std::string r = slow.read();
    const size_t body = r.find("\r\n\r\n");
    ASSERT_NE(body, std::string::npos);
    EXPECT_NE(r.find("Content-Length: " + std::to_string(big->size())), std::string::npos);
    EXPECT_TRUE(r.compare(body + 4, std::string::npos, *big) == 0) << "body differs";
    for (int i = 0; i < 100 && big.use_count() > 1; ++i) std::this_thread::sleep_for(10ms);
    EXPECT_EQ(big.use_count(), 1) << "the loop still holds the sent bytes";
}

// Media parts are sent from their in-memory file copies with sendfile(), mixed with bytes from
// memory in one body, also sliced for a Range: the client gets exactly the bytes, in order.
TEST(ConnectionLoop, SendsFileChunksAndMemoryChunksInOrder) {
    std::vector<uint8_t> bytes(3 << 20);
    for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(i * 13 + i / 977);
    const auto file = FileCopy::of(bytes);
    ASSERT_TRUE(file) << "memfd_create failed";
    auto owner = std::make_shared<std::vector<uint8_t>>(bytes);
    Loop l;
    l.answer = [&](const Request& req, bool) -> std::variant<Response, Hold> {
        Response r;
        const std::vector<BodyChunk> all = {
            {owner, owner->data(), 1000},
            {file, bytes.data() + 1000, bytes.size() - 2000, file->fd(), 1000},
            {owner, owner->data() + bytes.size() - 1000, 1000}};
        // /split: the file's range as two chunks one after another in it (a segment's parts in
        // its file), sent together.
        const size_t half = 1'500'001;
        const std::vector<BodyChunk> split = {
            {owner, owner->data(), 1000},
            {file, bytes.data() + 1000, half - 1000, file->fd(), 1000},
            {file, bytes.data() + half, bytes.size() - 1000 - half, file->fd(), half},
            {owner, owner->data() + bytes.size() - 1000, 1000}};
        r.chunks = req.path == "/slice"   ? sliceChunks(all, 500, bytes.size() - 1000)
                   : req.path == "/split" ? split
                                          : all;
        return r;
    };
    for (const std::string path : {"/all", "/slice", "/split"}) {
        Client c(l.port);
        ASSERT_TRUE(c.send("GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
        const std::string r = c.read();
        const size_t body = r.find("\r\n\r\n") + 4;
        const size_t from = path == "/slice" ? 500 : 0;
        const size_t n = path == "/slice" ? bytes.size() - 1000 : bytes.size();
        ASSERT_EQ(r.size() - body, n) << path;
        EXPECT_TRUE(std::equal(bytes.begin() + from, bytes.begin() + from + n,
                               reinterpret_cast<const uint8_t*>(r.data() + body)))
            << path << ": body differs";
    }
}

TEST(ConnectionLoop, RefusesOversizedHeadsAndExtraConnections) {
    LoopLimits limits;
    limits.maxConnections = 2;
    limits.maxRequestSize = 1024;
    Loop l(limits);
    {
        Client c(l.port);
        c.send("GET / HTTP/1.1\r\nX: " + std::string(4000, 'a') + "\r\n\r\n");
        EXPECT_EQ(c.read().rfind("HTTP/1.1 431 ", 0), 0u);
    }
    {
        Client c(l.port);
        c.send("GET /" + std::string(900, 'a') + "%zz HTTP/1.1\r\n\r\n");
        EXPECT_EQ(c.read().rfind("HTTP/1.1 400 ", 0), 0u);
    }
    for (int i = 0; i < 100 && l.loop.stats().open > 0; ++i) std::this_thread::sleep_for(10ms);
    Client a(l.port), b(l.port);
    std::this_thread::sleep_for(100ms);
    Client third(l.port);
    const std::string r = third.read();
    EXPECT_EQ(r.rfind("HTTP/1.1 503 ", 0), 0u) << r;
    EXPECT_NE(r.find("Retry-After: 1"), std::string::npos);
    EXPECT_EQ(l.loop.stats().tooLarge, 1u);
    EXPECT_EQ(l.loop.stats().rejected, 1u);
}

TEST(ConnectionLoop, StopClosesIdleConnectionsAndLetsAWriteFinish) {
    auto big = std::make_shared<std::string>(4 << 20, 'x');
    Loop l;
    l.answer = [&](const Request&, bool) -> std::variant<Response, Hold> {
        Response r;
        r.chunks = {{big, reinterpret_cast<const uint8_t*>(big->data()), big->size()}};
        return r;
    };
    Client idle(l.port);
    Client reader(l.port);
    ASSERT_TRUE(reader.send("GET /big HTTP/1.1\r\nHost: x\r\n\r\n"));
    std::this_thread::sleep_for(100ms);
    auto stopped = std::async(std::launch::async, [&] { l.loop.stop(); });
    const std::string r = reader.read();
    EXPECT_EQ(r.size() - r.find("\r\n\r\n") - 4, big->size());
    EXPECT_EQ(stopped.wait_for(3s), std::future_status::ready);
    char byte;
    EXPECT_EQ(::recv(idle.fd(), &byte, 1, 0), 0) << "the idle connection was not closed";
}

}  // namespace
}  // namespace hlsd::test
