// Every HTTP socket in event loops (epoll, one thread each, `loops` of them sharing the
// listening socket): accepting, reading request heads, holding requests that wait for the store,
// and writing responses, all non-blocking.
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
    // Event threads. Each owns the connections it was given for their whole life; whichever is
    // free accepts (EPOLLEXCLUSIVE), and hands the socket to the one with the fewest.
    int loops = 1;
};

struct Peer {
    std::string ip;
    int port = 0;
};

// Runs on an event thread for each complete request (and again for a held one, with mayHold
// false, once it is ready or due). Quick: it builds a response from memory.
using Responder =
    std::function<std::variant<Response, Hold>(const Request&, const Peer&, bool mayHold)>;
// After each response is queued (for metrics and the request log).
using Accounter = std::function<void(const Request&, const Response&, const Peer&)>;

class Transport;
// What an accepted socket is spoken over (TLS); null: the socket is closed unanswered.
using TransportMaker = std::function<std::unique_ptr<Transport>(int fd)>;

class ConnectionLoop {
public:
    ConnectionLoop(LoopLimits limits, Responder responder, Accounter accounter);
    ~ConnectionLoop();
    ConnectionLoop(const ConnectionLoop&) = delete;
    ConnectionLoop& operator=(const ConnectionLoop&) = delete;

    // Binds and listens (backlog 4096); returns the port. Throws std::runtime_error naming the
    // address and the reason.
    int listen(const std::string& host, int port);
    // Every connection accepted from now on is spoken over what `wrap` makes (before start()).
    void useTransport(TransportMaker wrap);
    void start();  // the event threads
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
    Stats stats() const;                       // any thread
    std::vector<int64_t> openPerLoop() const;  // any thread; how the connections are spread
    int loops() const { return static_cast<int>(workers_.size()); }

    struct Connection;
    struct Shared;
    class Worker;

private:
    std::unique_ptr<Shared> shared_;
    std::vector<std::unique_ptr<Worker>> workers_;
};

}  // namespace hlsd
