// httplib::Server whose idle connections wait in one epoll thread, not in worker threads.
//
// Debian's cpp-httplib 0.11 gives each connection a worker thread for its whole life: it waits
// there for the next keep-alive request (polling every 10 ms), and reads request headers from
// the socket as slowly as the client sends them. Viewers sit idle almost all the time, so a few
// hundred of them, or a few hundred slowloris clients, take every worker and a new viewer is
// never served (bench/RESULTS.md, before this class).
//
// Here a connection is "parked" in one event thread while it has no complete request head: the
// thread reads what arrives (non-blocking) until the head ends ("\r\n\r\n"), then hands the
// connection to a worker. A worker runs httplib's own request parsing, routing and response
// writing over the bytes already buffered, and parks the connection again when it is done. So
// a worker is held only while a response is computed and written, idle viewers cost no thread,
// and a client that trickles its headers is dropped after header_timeout without ever holding
// one. Accepting happens in httplib's listen thread, which only parks the new socket (or, at
// max_connections, answers 503 and closes), so it never waits behind busy workers.
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <unordered_map>

namespace hlsd {

struct ServerLimits {
    int maxConnections = 1024;      // open at once; one more gets 503 + close
    int threads = 32;               // workers: responses computed and written at once
    size_t maxRequestSize = 16384;  // request line + headers; more gets 431 + close
    int idleMs = 5000;              // keep-alive: a connection with no request pending
    int headerMs = 10000;           // from a request's first byte (or accept) to its blank line
    int ioMs = 5000;                // a write (or body read) that makes no progress for this long
    size_t maxRequestsPerConnection = 100000;
};

class ParkingServer : public httplib::Server {
public:
    explicit ParkingServer(ServerLimits limits);
    ~ParkingServer() override;

    // A request that must wait for something (an LL-HLS blocking playlist reload, a part named
    // by a preload hint) waits parked like an idle connection, holding no worker, until
    // ready() or the deadline; then a worker answers it (the handler decides what a request
    // that is still not ready gets). The policy sees each complete request's first line
    // ("GET /path?query HTTP/1.1"), in the event thread or a worker, and must be thread-safe
    // and quick; so must ready(), which runs in the event thread after each wake().
    struct Hold {
        std::function<bool()> ready;
        std::chrono::steady_clock::time_point deadline;
    };
    using HoldPolicy = std::function<std::optional<Hold>(std::string_view requestLine)>;
    void setHoldPolicy(HoldPolicy policy);  // before startWorkers()
    // Something held requests wait for may have happened: check them now. Any thread.
    void wake();

    // The event thread and the workers; before listen_after_bind(). Throws on failure.
    void startWorkers();
    // After stop() and the listen thread's end: closes parked connections, lets responses being
    // written finish, joins every thread. Idempotent.
    void stopWorkers();

    struct Stats {
        int64_t open = 0;       // connections open now
        int64_t parked = 0;     // of which waiting in the event thread
        int64_t held = 0;       // ...with a request that waits (blocking reload)
        uint64_t rejected = 0;  // refused at max_connections (503)
        uint64_t headerTimeouts = 0;
        uint64_t tooLarge = 0;  // request heads over max_request_size (431)
    };
    Stats stats() const;

    struct Connection;  // one client's socket and its unparsed bytes

private:
    bool process_and_close_socket(socket_t sock) override;

    void park(std::unique_ptr<Connection> c);
    std::optional<Hold> holdFor(const Connection& c) const;
    // Keeps a connection whose request waits; from a worker (pipelined requests).
    void hold(std::unique_ptr<Connection> c, Hold h);
    void releaseReady();
    void dispatch(std::unique_ptr<Connection> c);
    void serve(std::unique_ptr<Connection> c);
    void close(std::unique_ptr<Connection> c);
    bool arm(int fd, int op);
    void eventLoop();
    // Reads what the socket has; hands the connection on, or keeps it, or drops it.
    void readable(int fd);
    void expire();

    ServerLimits limits_;
    HoldPolicy holdPolicy_;
    std::unique_ptr<httplib::ThreadPool> workers_;
    int epollFd_ = -1;
    int wakeFd_ = -1;
    std::thread eventThread_;

    mutable std::mutex mutex_;  // guards parked_ and stopping_
    std::unordered_map<int, std::unique_ptr<Connection>> parked_;
    int64_t held_ = 0;  // of parked_
    // No held request is due before this (the earliest deadline, or earlier): the event loop
    // wakes for it, so a request that is never ready is answered at its deadline, not up to a
    // sweep period later.
    std::chrono::steady_clock::time_point nextHoldDue_ =
        std::chrono::steady_clock::time_point::max();
    bool stopping_ = false;

    std::atomic<int64_t> open_{0};
    std::atomic<uint64_t> rejected_{0};
    std::atomic<uint64_t> headerTimeouts_{0};
    std::atomic<uint64_t> tooLarge_{0};
};

}  // namespace hlsd
