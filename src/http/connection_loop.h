// Every HTTP socket in one event loop (epoll, one thread): accepting, reading request heads,
// holding requests that wait for the store, and writing responses, all non-blocking.
//
// A connection is a small state machine (nginx's model): it reads until a request head is
// complete, asks the responder, and then either writes the response (from memory: playlist
// text, or the store's own part buffers gathered into sendmsg() without a copy) or waits,
// holding nothing but its socket, until wake() finds it ready or its deadline passes. A client
// that reads slowly keeps its unsent bytes referenced, not copied, and is closed when a write
// makes no progress for ioMs. Nothing here blocks, so idle viewers, slowloris clients, held
// LL-HLS requests and slow readers cost a socket each and no thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <variant>
#include <vector>

#include "http/request.h"
#include "http/response.h"

namespace hlsd {

struct LoopLimits {
    int maxConnections = 1024;      // open at once; one more gets 503 + close
    size_t maxRequestSize = 16384;  // request line + headers; more gets 431 + close
    int idleMs = 5000;              // keep-alive: a connection with no request pending
    int headerMs = 10000;           // from a request's first byte to its blank line, then 408
    int ioMs = 5000;                // a write that makes no progress for this long: closed
    size_t maxRequestsPerConnection = 100000;
};

struct Peer {
    std::string ip;
    int port = 0;
};

// Runs on the event thread for each complete request (and again for a held one, with mayHold
// false, once it is ready or due). Quick: it builds a response from memory.
using Responder =
    std::function<std::variant<Response, Hold>(const Request&, const Peer&, bool mayHold)>;
// After each response is queued (for metrics and the request log).
using Accounter = std::function<void(const Request&, const Response&, const Peer&)>;

class ConnectionLoop {
public:
    ConnectionLoop(LoopLimits limits, Responder responder, Accounter accounter);
    ~ConnectionLoop();
    ConnectionLoop(const ConnectionLoop&) = delete;
    ConnectionLoop& operator=(const ConnectionLoop&) = delete;

    // Binds and listens (backlog 4096); returns the port. Throws std::runtime_error naming the
    // address and the reason.
    int listen(const std::string& host, int port);
    void start();  // the event thread
    // Something held requests wait for may have happened. Any thread, lock-free (one eventfd
    // write): the thread that publishes never waits for this one.
    void wake();
    // Stops accepting, closes idle and held connections, lets responses being written finish
    // (at most ioMs), joins. Idempotent.
    void stop();

    struct Stats {
        int64_t open = 0;          // connections open now (refused ones not counted)
        int64_t idle = 0;          // ...waiting for a request
        int64_t held = 0;          // ...with a request that waits (blocking reload)
        int64_t streams = 0;       // ...receiving a body produced over time
        uint64_t streamBytes = 0;  // sent in such bodies, heads included
        uint64_t rejected = 0;
        uint64_t headerTimeouts = 0;
        uint64_t tooLarge = 0;
    };
    Stats stats() const;  // any thread

    struct Connection;

private:
    void run();
    void accept();
    void onEvent(Connection& c, uint32_t events);
    void readFrom(Connection& c);
    void process(Connection& c);  // answers what is buffered, as far as it can
    void respond(Connection& c, Response r, bool account = true);
    void flush(Connection& c);
    void finished(Connection& c);  // a response is out: next request, or close
    bool pull(Connection& c);      // a stream's next chunks; false: it waits, or it ended
    void endStream(Connection& c);
    void releaseReady();
    void sweep();
    void setState(Connection& c, int state);
    void watch(Connection& c, uint32_t events);
    void close(int fd);

    LoopLimits limits_;
    Responder responder_;
    Accounter accounter_;
    int listenFd_ = -1;
    int epollFd_ = -1;
    std::atomic<int> wakeFd_{-1};
    std::atomic<bool> stopping_{false};
    std::thread thread_;
    std::unordered_map<int, std::unique_ptr<Connection>> connections_;  // event thread only
    std::vector<int> again_;    // connections with pipelined requests left after a burst
    std::vector<int> closing_;  // closed at the end of the loop turn (no dangling references)
    std::chrono::steady_clock::time_point nextHoldDue_ =
        std::chrono::steady_clock::time_point::max();

    std::atomic<int64_t> open_{0}, idle_{0}, held_{0}, streams_{0};
    std::atomic<uint64_t> rejected_{0}, headerTimeouts_{0}, tooLarge_{0}, streamBytes_{0};
};

}  // namespace hlsd
