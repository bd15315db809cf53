// Responses that last (BodyStream) in the connection loop: produced piece by piece, a stalled
// reader, a client that leaves while the stream waits, stopping. Raw sockets on 127.0.0.1.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "http/connection_loop.h"
#include "http/loop_fixture.h"

namespace hlsd::test {
namespace {

using namespace std::chrono_literals;

// A body the test produces piece by piece; next() is counted.
struct TestStream : BodyStream {
    std::mutex m;
    std::vector<std::shared_ptr<std::string>> queue;
    bool ended = false;
    std::atomic<int> calls{0};
    Status next(std::vector<BodyChunk>& out) override {
        ++calls;
        std::lock_guard lock(m);
        for (auto& piece : queue)
            out.push_back({piece, reinterpret_cast<const uint8_t*>(piece->data()), piece->size()});
        queue.clear();
        if (!out.empty()) return Status::More;
        return ended ? Status::End : Status::Wait;
    }
    void push(std::string piece, bool end = false) {
        std::lock_guard lock(m);
        queue.push_back(std::make_shared<std::string>(std::move(piece)));
        ended = end;
    }
};

// A responder answering every request with `stream`'s body.
auto streamOf(std::shared_ptr<BodyStream> stream) {
    return [stream](const Request&, bool) -> std::variant<Response, Hold> {
        Response r;
        r.stream = stream;
        return r;
    };
}

// A loop whose every response is `stream`'s body.
struct StreamLoop {
    Loop l;
    std::shared_ptr<TestStream> stream = std::make_shared<TestStream>();
    StreamLoop() { l.answer = streamOf(stream); }
};

// Asks for the stream on `c`: true once its head arrived.
bool startStream(Client& c) {
    return c.send("GET /s HTTP/1.1\r\nHost: x\r\n\r\n") &&
           c.read("\r\n\r\n").find("200 OK") != std::string::npos;
}

// Waits (up to 2 s) until the loop has no connection open.
void waitAllClosed(Loop& l) {
    for (int i = 0; i < 200 && l.loop.stats().open > 0; ++i) std::this_thread::sleep_for(10ms);
}

TEST(ConnectionLoop, StreamsABodyAsItIsProducedAndClosesAtItsEnd) {
    Loop l;
    auto stream = std::make_shared<TestStream>();
    l.answer = streamOf(stream);
    Client c(l.port);
    ASSERT_TRUE(c.send("GET /s HTTP/1.1\r\nHost: x\r\n\r\n"));
    const std::string head = c.read("\r\n\r\n");
    EXPECT_EQ(head.find("Content-Length"), std::string::npos) << head;
    EXPECT_NE(head.find("Connection: close\r\n"), std::string::npos) << head;
    EXPECT_EQ(l.loop.stats().streams, 1);
    stream->push("one;");
    l.loop.wake();
    EXPECT_EQ(c.read("one;"), "one;");
    stream->push("two;");
    stream->push("three;", true);
    l.loop.wake();
    EXPECT_EQ(c.read(), "two;three;");  // then the server closed
    for (int i = 0; i < 100 && l.loop.stats().streams > 0; ++i) std::this_thread::sleep_for(10ms);
    EXPECT_EQ(l.loop.stats().streams, 0);

    Client h(l.port);  // HEAD: the head, no body, and the stream is never asked
    const int calls = stream->calls;
    ASSERT_TRUE(h.send("HEAD /s HTTP/1.1\r\nHost: x\r\n\r\n"));
    const std::string r = h.read();
    ASSERT_GE(r.size(), 4u);
    EXPECT_EQ(r.substr(r.size() - 4), "\r\n\r\n") << r;
    EXPECT_EQ(stream->calls.load(), calls);
}

// A viewer that stops reading: the connection holds what one next() gave, no more (the producer
// is not asked again until it is sent, and what it gave before is let go), and is closed once a
// write made no progress for ioMs. Each call gives bytes of a new owner, so the test can count
// how many calls' bytes are still referenced.
TEST(ConnectionLoop, StalledStreamReaderHoldsOneCallsBytesAndIsClosed) {
    LoopLimits limits;
    limits.ioMs = 500;
    Loop l(limits);
    struct Endless : BodyStream {
        std::mutex m;
        std::vector<std::weak_ptr<std::string>> given;
        Status next(std::vector<BodyChunk>& out) override {
            auto piece = std::make_shared<std::string>(256 << 10, 'x');
            std::lock_guard lock(m);
            given.push_back(piece);
            out.push_back({piece, reinterpret_cast<const uint8_t*>(piece->data()), piece->size()});
            return Status::More;
        }
        size_t calls() {
            std::lock_guard lock(m);
            return given.size();
        }
        size_t alive() {
            std::lock_guard lock(m);
            size_t n = 0;
            for (auto& g : given) n += !g.expired();
            return n;
        }
    };
    auto endless = std::make_shared<Endless>();
    l.answer = streamOf(endless);
    Client c(l.port);
    const int small = 65536;  // the kernel buffers fill sooner
    ::setsockopt(c.fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    ASSERT_TRUE(c.send("GET /s HTTP/1.1\r\nHost: x\r\n\r\n"));
    std::this_thread::sleep_for(300ms);  // the socket is full: the write waits for the reader
    const size_t filled = endless->calls();
    EXPECT_LT(filled, 64u) << "the producer was asked while nothing was being sent";
    EXPECT_EQ(endless->alive(), 1u) << "more than one call's bytes are held for a stalled reader";
    waitAllClosed(l);  // ioMs (0.5 s), then the next sweep
    EXPECT_EQ(l.loop.stats().open, 0) << "a stalled stream reader was never closed";
    EXPECT_EQ(l.loop.stats().streams, 0);
    EXPECT_EQ(endless->calls(), filled);
    EXPECT_EQ(endless->alive(), 0u) << "the closed connection still holds the stream's bytes";
}

// A client that leaves while its stream waits for the producer is closed at once, not at the
// next part (a stalled camera would otherwise keep every abandoned viewer's slot).
TEST(ConnectionLoop, AStreamWhoseClientLeftWhileItWaitsIsClosed) {
    StreamLoop s;
    {
        Client c(s.l.port);
        ASSERT_TRUE(startStream(c));
        EXPECT_EQ(s.l.loop.stats().streams, 1);
    }  // closed without a byte more from the producer
    waitAllClosed(s.l);
    EXPECT_EQ(s.l.loop.stats().open, 0) << "the abandoned stream kept its connection";
    EXPECT_EQ(s.l.loop.stats().streams, 0);
    {  // and one that resets (level-triggered HUP/ERR): closed too
        Client c(s.l.port);
        ASSERT_TRUE(startStream(c));
        linger reset{1, 0};
        ::setsockopt(c.fd(), SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
    }
    s.stream->push("late;");
    s.l.loop.wake();
    waitAllClosed(s.l);
    EXPECT_EQ(s.l.loop.stats().open, 0);
}

TEST(ConnectionLoop, StopEndsAStreamThatWaits) {
    StreamLoop s;
    Client c(s.l.port);
    ASSERT_TRUE(startStream(c));
    auto stopped = std::async(std::launch::async, [&] { s.l.loop.stop(); });
    EXPECT_EQ(stopped.wait_for(3s), std::future_status::ready);
    EXPECT_EQ(c.read(), "");  // closed, nothing more
    s.l.answer = nullptr;     // the responder's copy
    EXPECT_EQ(s.stream.use_count(), 1);
}

}  // namespace
}  // namespace hlsd::test
