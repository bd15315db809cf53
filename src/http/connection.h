// The connection loop's own pieces, shared by its files (connection_loop.cpp: the loops and the
// listening socket; connection_events.cpp: one loop's events, reading, holding, deadlines;
// connection_io.cpp: the write path).
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "http/connection_loop.h"
#include "http/transport.h"

namespace hlsd::loop {

using Clock = std::chrono::steady_clock;

// Streaming: a stream's body waits for its producer (like Held, woken by wake()).
enum State { New, Reading, Held, Writing, Streaming, Draining, Closed };

inline constexpr int kListenBacklog = 4096;
inline constexpr int kSweepMs = 200;
inline constexpr int kDrainMs = 1000;  // an answered-and-refused client may still send; then closed
inline constexpr int kBurst = 16;      // pipelined requests answered before other connections' turn
inline constexpr int kMaxIov = 64;
inline constexpr size_t kPage = 4096;       // sendfile() from a page boundary (see flush())
inline constexpr int kAcceptBatch = 16;     // connections accepted per turn of one loop
inline constexpr int kAcceptPauseMs = 100;  // no descriptor left: accepting waits this long
inline constexpr int kHandOffSlack = 2;     // connections more than another loop before moving
// A loop busy this long without sleeping yields (run()); a wait longer than kRested slept.
inline constexpr auto kBusyYield = std::chrono::milliseconds(1);
inline constexpr auto kRested = std::chrono::microseconds(50);

Peer peerOf(const sockaddr_storage& a);

// A short text answer that closes the connection (refusals, timeouts).
Response canned(int status, const std::string& text, const std::string& extraName = {},
                const std::string& extraValue = {});

}  // namespace hlsd::loop

namespace hlsd {

struct ConnectionLoop::Connection {
    std::unique_ptr<Transport> transport;
    Peer peer;
    int state = loop::New;
    std::string in;  // received, not yet parsed: in[begin, size)
    size_t begin = 0;
    bool partial = false;  // a request head has begun: the header deadline runs
    bool eof = false;      // the client half-closed: answer what is buffered, then close
    bool counted = true;   // counts against maxConnections (a refused one does not)
    bool closeAfter = false;
    bool headOnly = false;  // HEAD: the head alone
    size_t served = 0;
    Request request;  // the one being answered or held
    std::optional<Hold> hold;
    std::string head, text;  // the response being written: head, then text or chunks
    std::vector<BodyChunk> chunks;
    std::shared_ptr<BodyStream> stream;  // a body produced over time: asked for more when sent
    bool streamed = false;               // this response's bytes count as stream bytes
    size_t headSent = 0, textSent = 0, chunk = 0, chunkSent = 0;
    loop::Clock::time_point deadline;
    uint32_t wanted = 0;      // the events this connection waits for...
    uint32_t watched = 0;     // ...and what epoll watches for it (TLS may differ: events())
    bool registered = false;  // known to epoll

    size_t pending() const { return in.size() - begin; }
    void compact() {
        in.erase(0, begin);
        begin = 0;
        if (in.empty() && in.capacity() > 4096) in.shrink_to_fit();  // idle viewers keep none
    }
};

// What every loop shares: the settings, the listening socket and the figures stats() reads.
struct ConnectionLoop::Shared {
    LoopLimits limits;
    Responder responder;
    Accounter accounter;
    TransportMaker wrap;  // none: plain TCP
    int listenFd = -1;
    std::atomic<bool> stopping{false};
    std::atomic<int64_t> open{0}, idle{0}, held{0}, streams{0};
    std::atomic<uint64_t> rejected{0}, headerTimeouts{0}, tooLarge{0}, streamBytes{0};
};

// One event thread and the connections it owns. Another thread only ever calls wake() and
// adopt(), both without waiting for this one.
class ConnectionLoop::Worker {
public:
    Worker(Shared& shared, std::vector<std::unique_ptr<Worker>>& all);
    ~Worker();
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;

    void listen(int fd);  // watch the shared listening socket (EPOLLEXCLUSIVE)
    void start();
    void join();
    void wake();  // the store changed: held requests and waiting streams look again
    // Takes over a socket another loop accepted (its request is read on this thread).
    void adopt(int fd, Peer peer);
    int64_t open() const { return mine_.load(std::memory_order_relaxed); }

private:
    void run();
    void accept();
    void take(int fd, Peer peer);  // a new connection, on this thread
    void drainInbox();
    void onEvent(Connection& c, uint32_t events);
    void readFrom(Connection& c);
    void process(Connection& c);  // answers what is buffered, as far as it can
    void respond(Connection& c, Response r, bool account = true);
    void flush(Connection& c);
    void finished(Connection& c);  // a response is out: next request, or close
    bool pull(Connection& c);      // a stream's next chunks; false: it waits, or it ended
    void endStream(Connection& c);
    void holdRequest(Connection& c, Hold hold);  // waits, holding no thread, until ready or due
    void releaseReady();
    void sweep();
    void setState(Connection& c, int state);
    void watch(Connection& c, uint32_t events);
    void close(int fd);
    void signal();  // the eventfd

    Shared& shared_;
    std::vector<std::unique_ptr<Worker>>& all_;  // every loop, for the hand-off
    const LoopLimits& limits_;
    const Responder& responder_;
    const Accounter& accounter_;
    const std::atomic<bool>& stopping_;
    std::atomic<int64_t>&open_, &idle_, &held_, &streams_;
    std::atomic<uint64_t>&rejected_, &headerTimeouts_, &tooLarge_, &streamBytes_;
    int listenFd_ = -1;  // this loop's view: -1 once it stopped accepting
    int epollFd_ = -1;
    std::atomic<int> wakeFd_{-1};
    std::atomic<bool> storeChanged_{false};  // wake() asked for; an adopt() alone walks nothing
    std::atomic<int64_t> mine_{0};           // connections this loop owns (balancing)
    std::mutex inboxMutex_;
    std::vector<std::pair<int, Peer>> inbox_;  // adopted sockets not yet taken
    std::thread thread_;
    std::unordered_map<int, std::unique_ptr<Connection>> connections_;  // this thread only
    std::vector<int> again_;    // connections with pipelined requests left after a burst
    std::vector<int> closing_;  // closed at the end of the loop turn (no dangling references)
    loop::Clock::time_point nextHoldDue_ = loop::Clock::time_point::max();
    std::optional<loop::Clock::time_point> acceptPausedUntil_;  // out of descriptors (EMFILE)
};

}  // namespace hlsd
