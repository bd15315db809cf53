// One loop's events: accepting, reading request heads, holding, deadlines.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>

#include <sched.h>

#include <algorithm>
#include <cstring>
#include <optional>

#include "http/connection.h"

namespace hlsd {

using namespace loop;
using std::chrono::milliseconds;

void ConnectionLoop::Worker::setState(Connection& c, int state) {
    if (c.counted && c.state == Reading) --idle_;
    if (c.state == Held) --held_;
    c.state = state;
    if (c.counted && state == Reading) ++idle_;
    if (state == Held) ++held_;
}

void ConnectionLoop::Worker::watch(Connection& c, uint32_t wanted) {
    c.wanted = wanted;
    const uint32_t events = c.transport->events(wanted);
    if (c.registered && c.watched == events) return;
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = c.transport->fd();
    ::epoll_ctl(epollFd_, c.registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, ev.data.fd, &ev);
    c.registered = true;
    c.watched = events;
}

void ConnectionLoop::Worker::close(int fd) {
    auto it = connections_.find(fd);
    if (it == connections_.end() || it->second->state == Closed) return;
    Connection& c = *it->second;
    // The counters another thread reads (stats()) drop innermost first: whoever sees open at 0
    // sees no stream and no held request either.
    endStream(c);
    setState(c, Closed);
    if (c.counted) {
        --mine_;
        --open_;
    }
    ::epoll_ctl(epollFd_, EPOLL_CTL_DEL, fd, nullptr);
    c.chunks.clear();  // the store's buffers go back now
    closing_.push_back(fd);
}

void ConnectionLoop::Worker::run() {
    std::vector<epoll_event> events(256);
    auto lastSweep = Clock::now();
    auto busySince = lastSweep;  // when this loop last slept in epoll_wait or yielded
    bool accepting = true;
    Clock::time_point
        stopDeadline;  // set when stopping: responses being written may finish until then
    for (;;) {
        if (stopping_.load() && accepting) {
            accepting = false;
            if (listenFd_ >= 0) ::epoll_ctl(epollFd_, EPOLL_CTL_DEL, listenFd_, nullptr);
            listenFd_ = -1;  // closed by stop() once every loop has let go of it
            drainInbox();    // adopted sockets are closed with the rest
            // Idle and held connections go now; responses being written may finish.
            stopDeadline = Clock::now() + milliseconds(std::min(limits_.ioMs, 2000));
            for (auto& [fd, c] : connections_) {
                if (c->state == Writing) {
                    c->closeAfter = true;
                } else {
                    close(fd);
                }
            }
        }
        if (!accepting &&
            (connections_.size() == closing_.size() || Clock::now() >= stopDeadline)) {
            for (auto& [fd, c] : connections_) close(fd);
            connections_.clear();
            closing_.clear();
            return;
        }
        // Sweep every kSweepMs, sooner for a held request's deadline (nextHoldDue_ may be early,
        // its request since answered: one extra sweep corrects it).
        const Clock::time_point due = std::min(lastSweep + milliseconds(kSweepMs), nextHoldDue_);
        auto left = std::chrono::ceil<milliseconds>(due - Clock::now()).count();
        std::vector<int> again;
        again.swap(again_);
        if (!again.empty()) left = 0;
        const auto waitFrom = Clock::now();
        const int n = ::epoll_wait(epollFd_, events.data(), static_cast<int>(events.size()),
                                   static_cast<int>(std::clamp<int64_t>(left, 0, kSweepMs)));
        if (n <= 0 || Clock::now() - waitFrom > kRested) busySince = Clock::now();
        // New connections first (nginx's accept priority): under load a new viewer would
        // otherwise wait behind every busy connection's turn, twice (accept, then its request).
        for (int i = 0; i < n; ++i) {
            if (listenFd_ >= 0 && events[i].data.fd == listenFd_) accept();
        }
        for (int i = 0; i < n; ++i) {
            const int fd = events[i].data.fd;
            if (fd == listenFd_) {
                continue;
            } else if (fd == wakeFd_.load(std::memory_order_relaxed)) {
                uint64_t count;
                if (::read(fd, &count, sizeof count) < 0) {
                    // EAGAIN: drained already.
                }
                drainInbox();
                if (storeChanged_.exchange(false)) releaseReady();
            } else if (auto it = connections_.find(fd); it != connections_.end()) {
                onEvent(*it->second, events[i].events);
            }
        }
        for (int fd : again) {
            auto it = connections_.find(fd);
            if (it == connections_.end() || it->second->state == Closed) continue;
            // TLS: decrypted bytes epoll cannot report (read once a response is written).
            if (it->second->transport->buffered() && it->second->state != Writing) {
                readFrom(*it->second);
            } else if (it->second->state == Reading) {
                process(*it->second);
            }
        }
        if (Clock::now() >= due) {
            lastSweep = Clock::now();
            sweep();
        }
        if (acceptPausedUntil_ && Clock::now() >= *acceptPausedUntil_) {
            acceptPausedUntil_.reset();
            if (listenFd_ >= 0) listen(listenFd_);
        }
        for (int fd : closing_) connections_.erase(fd);
        // A loop that has had work for kBusyYield without sleeping offers the core to whoever
        // waits for it: loops that always find work would otherwise use whole time slices
        // while the threads sharing their cores (the encoder, a proxy or client on the same
        // machine) wait, and every request behind a descheduled loop waits with them. Measured
        // with wrk on the same 2 cores (bench/RESULTS.md, 2.): playlist p99 at 100 connections
        // 8 ms without, ~2 ms with. Not after every turn that had work, as before: short
        // connections (a TLS handshake each) then gave the core away so often that 2 loops made
        // 25 % fewer connections a second than without yielding (2,750 against 3,400).
        if (n > 0 && Clock::now() - busySince >= kBusyYield) {
            sched_yield();
            busySince = Clock::now();
        }
        closing_.clear();
    }
}

void ConnectionLoop::Worker::accept() {
    // A bounded batch: under a burst of connections the other loops, woken by the ones that
    // arrive meanwhile, accept too, and this loop gets back to the responses it owes.
    for (int batch = 0; batch < kAcceptBatch; ++batch) {
        sockaddr_storage addr{};
        socklen_t len = sizeof addr;
        const int fd = ::accept4(listenFd_, reinterpret_cast<sockaddr*>(&addr), &len,
                                 SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (errno == EMFILE || errno == ENFILE) {
                // Out of descriptors: the listening socket stays readable, and a loop that kept
                // watching it would spin. The queue waits while this loop stops listening a
                // little (other loops, and closing connections, free descriptors meanwhile).
                ::epoll_ctl(epollFd_, EPOLL_CTL_DEL, listenFd_, nullptr);
                acceptPausedUntil_ = Clock::now() + milliseconds(kAcceptPauseMs);
            }
            return;  // EAGAIN; or out of descriptors: the rest wait in the listen queue
        }
        int yes = 1;  // a response's head and body leave at once, never behind a delayed ACK
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
        // Whoever was free accepted; the connection moves to the loop with the fewest only when
        // this one has kHandOffSlack more, so that a burst of viewers (or wrk's) does not all
        // land on the first loop to wake, while short connections (one request each, a TLS
        // handshake each) mostly stay where they were accepted: a hand-off costs the other
        // loop a wake-up, and measured (2 loops, Connection: close, c10) it halved the TLS
        // connections/s when every other connection moved.
        Worker* owner = this;
        for (const auto& w : all_) {
            if (w->open() < owner->open()) owner = w.get();
        }
        if (owner == this || owner->open() + kHandOffSlack >= open()) {
            take(fd, peerOf(addr));
        } else {
            owner->adopt(fd, peerOf(addr));
        }
    }
}

void ConnectionLoop::Worker::drainInbox() {
    std::vector<std::pair<int, Peer>> taken;
    {
        std::lock_guard lock(inboxMutex_);
        taken.swap(inbox_);
    }
    for (auto& [fd, peer] : taken) {
        --mine_;  // counted by adopt() so that the next hand-off sees it; take() counts it again
        if (listenFd_ < 0) {  // stopping: not served
            ::close(fd);
            continue;
        }
        take(fd, std::move(peer));
    }
}

void ConnectionLoop::Worker::take(int fd, Peer peer) {
    auto owned = std::make_unique<Connection>();
    if (shared_.wrap) {
        owned->transport = shared_.wrap(fd);
        if (!owned->transport) {
            ::close(fd);
            return;
        }
    } else {
        owned->transport = std::make_unique<TcpTransport>(fd);
    }
    owned->peer = std::move(peer);
    Connection& c = *owned;
    if (open_.fetch_add(1) >= limits_.maxConnections) {
        --open_;
        ++rejected_;
        c.counted = false;
        // Refused connections linger only while there is room: a flood of them is closed.
        if (connections_.size() >= 2 * static_cast<size_t>(limits_.maxConnections)) return;
        connections_[fd] = std::move(owned);
        respond(c, canned(503, "503 Service Unavailable", "Retry-After", "1"), false);
        return;
    }
    ++mine_;
    connections_[fd] = std::move(owned);
    setState(c, Reading);
    // A TLS handshake has header_timeout to finish, as a request head has (a client that
    // starts one and stalls holds a socket no longer than a slowloris one).
    c.partial = c.transport->handshaking();
    c.deadline = Clock::now() + milliseconds(c.partial ? limits_.headerMs : limits_.idleMs);
    watch(c, EPOLLIN | EPOLLRDHUP);
    readFrom(c);  // the request is often here already: answered now, not a turn later
}

void ConnectionLoop::Worker::onEvent(Connection& c, uint32_t events) {
    if (c.state == Closed) return;
    // A waiting stream whose client reset: HUP/ERR stay reported (level-triggered) while a read
    // may still return 0, so it is closed here, not left to spin the loop until the next part.
    if (c.state == Streaming && (events & (EPOLLHUP | EPOLLERR))) return close(c.transport->fd());
    if (c.state == Writing) {
        flush(c);  // on room (EPOLLOUT), an error, or input TLS needs before it can write
        if (c.state == Reading) process(c);  // the next pipelined request, if any
        return;
    }
    readFrom(c);
}

void ConnectionLoop::Worker::readFrom(Connection& c) {
    char buffer[16384];
    // Reading: no more than the head may still grow by (+1 to see it is too long). Held: what
    // a client pipelines behind a held request stays buffered, to twice that.
    const size_t limit = (c.state == Held ? 2 : 1) * limits_.maxRequestSize + 1;
    // Draining, Streaming: what the client sends now is read and dropped.
    const bool keep = c.state != Draining && c.state != Streaming;
    size_t room = sizeof buffer;
    if (keep) room = std::min(room, limit - std::min(c.pending(), limit - 1));
    const ssize_t n = c.transport->read(buffer, room);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        if (c.partial && c.pending() == 0 && !c.transport->handshaking()) {
            c.partial = false;  // a TLS handshake done, no request yet: idle from now
            c.deadline = Clock::now() + milliseconds(limits_.idleMs);
        }
        return watch(c, c.wanted);  // TLS may wait for the other direction now
    }
    if (n < 0) return close(c.transport->fd());  // reset
    if (n > 0 && c.transport->buffered()) again_.push_back(c.transport->fd());
    if (n == 0) {
        c.eof = true;
        watch(c, 0);  // nothing more to read: no level-triggered EOF events (HUP still comes)
    } else if (keep) {
        c.in.append(buffer, static_cast<size_t>(n));
    }
    switch (c.state) {
        case Draining:
            if (c.eof) close(c.transport->fd());
            return;
        case Streaming:  // an endless body's client that closed has nothing more to take
            if (c.eof) close(c.transport->fd());
            return;
        case Held:  // a client that left is dropped now, not at the deadline
            if (c.eof || c.pending() >= limit) close(c.transport->fd());
            return;
        default:
            process(c);
    }
}

void ConnectionLoop::Worker::process(Connection& c) {
    for (int burst = 0; burst < kBurst && c.state == Reading; ++burst) {
        if (c.pending() == 0) {
            if (c.eof) return close(c.transport->fd());
            c.compact();
            c.partial = false;
            c.deadline = Clock::now() + milliseconds(limits_.idleMs);
            // TLS may hold the next request, read but not yet given: read it next turn.
            if (c.transport->buffered()) again_.push_back(c.transport->fd());
            return;
        }
        const ParseResult parsed = parseRequest(std::string_view(c.in).substr(c.begin), c.request);
        if (parsed.status == ParseStatus::Incomplete) {
            if (c.pending() > limits_.maxRequestSize) {
                ++tooLarge_;
                return respond(c, canned(431, "431 Request Header Fields Too Large"), false);
            }
            if (c.eof) return close(c.transport->fd());
            if (!c.partial) {
                c.partial = true;
                c.deadline = Clock::now() + milliseconds(limits_.headerMs);
            }
            return;
        }
        if (parsed.status == ParseStatus::Bad)
            return respond(c,
                           canned(parsed.httpStatus, std::string(reasonPhrase(parsed.httpStatus)) +
                                                         ": " + parsed.error),
                           false);
        c.begin += parsed.consumed;
        c.partial = false;
        c.headOnly = c.request.method == "HEAD";
        c.closeAfter = !c.request.keepAlive || c.request.hasBody ||
                       ++c.served >= limits_.maxRequestsPerConnection || stopping_.load();
        auto answer = responder_(c.request, c.peer, true);
        if (auto* hold = std::get_if<Hold>(&answer)) return holdRequest(c, std::move(*hold));
        respond(c, std::move(std::get<Response>(answer)));
    }
    // A burst answered and more buffered: the rest next turn, after the other connections.
    if (c.state == Reading && c.pending() > 0) again_.push_back(c.transport->fd());
}

void ConnectionLoop::Worker::holdRequest(Connection& c, Hold hold) {
    c.hold = std::move(hold);
    c.deadline = c.hold->deadline;
    nextHoldDue_ = std::min(nextHoldDue_, c.deadline);
    setState(c, Held);
    wake();  // what it waits for may have come while the responder looked
}

void ConnectionLoop::Worker::releaseReady() {
    for (auto& [fd, c] : connections_) {
        if (c->state == Streaming) {
            if (pull(*c)) flush(*c);
            continue;
        }
        if (c->state != Held || !c->hold->ready()) continue;
        // A hold that was a first step (a password being checked) asks again as if the request
        // came now: it may be held once more, for what it asks (an LL-HLS blocking reload).
        const bool again = c->hold->again;
        auto answer = responder_(c->request, c->peer, again);
        if (auto* r = std::get_if<Response>(&answer)) {
            respond(*c, std::move(*r));
        } else if (auto* hold = std::get_if<Hold>(&answer); hold && again) {
            holdRequest(*c, std::move(*hold));
        } else {
            respond(*c, canned(503, "Service Unavailable", "Retry-After", "1"));
        }
        if (c->state == Reading) process(*c);
    }
}

void ConnectionLoop::Worker::sweep() {
    const auto now = Clock::now();
    nextHoldDue_ = Clock::time_point::max();
    for (auto& [fd, c] : connections_) {
        if (c->state == Held && c->deadline > now)
            nextHoldDue_ = std::min(nextHoldDue_, c->deadline);
        if (c->state == Closed || c->deadline > now) continue;
        switch (c->state) {
            case Held: {  // due: answered now, ready or not
                auto answer = responder_(c->request, c->peer, false);
                auto* r = std::get_if<Response>(&answer);
                respond(*c, r ? std::move(*r) : canned(503, "Service Unavailable"));
                if (c->state == Reading) process(*c);
                break;
            }
            case Reading:
                if (c->partial && c->transport->handshaking()) {  // a TLS handshake stalled
                    ++headerTimeouts_;
                } else if (c->partial) {  // a request begun and never finished: slowloris
                    ++headerTimeouts_;
                    const Response r = canned(408, "408 Request Timeout");
                    const std::string bytes = serializeHead(r) + r.text;
                    iovec iov{const_cast<char*>(bytes.data()), bytes.size()};
                    c->transport->write(&iov, 1);  // best effort: it is closed either way
                }
                close(fd);
                break;
            default:  // a write without progress, or a drain that ran out
                close(fd);
        }
    }
}

}  // namespace hlsd
