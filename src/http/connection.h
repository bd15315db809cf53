// The connection loop's own pieces, shared by its two files (connection_loop.cpp: events,
// reading, holding, deadlines; connection_io.cpp: the listening socket and the write path).
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
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
    uint32_t watched = 0;
    bool registered = false;  // known to epoll

    size_t pending() const { return in.size() - begin; }
    void compact() {
        in.erase(0, begin);
        begin = 0;
        if (in.empty() && in.capacity() > 4096) in.shrink_to_fit();  // idle viewers keep none
    }
};

}  // namespace hlsd
