#include "http/parking_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string_view>
#include <vector>

namespace hlsd {

using Clock = std::chrono::steady_clock;

struct ParkingServer::Connection {
    int fd = -1;
    std::string in;  // bytes received and not yet parsed: in[begin, size)
    size_t begin = 0;
    size_t scanned = 0;       // in[begin, scanned) is known to hold no complete head
    size_t served = 0;        // requests answered
    bool eof = false;         // the client half-closed: answer what is buffered, then close
    bool partial = false;     // a request head has begun: the header deadline runs
    bool draining = false;    // answered with an error: discard input until EOF, then close
    bool counted = true;      // counts against max_connections (not a refused one)
    bool registered = false;  // known to epoll (one-shot: re-armed each time it is parked)
    Clock::time_point deadline;
    std::optional<ParkingServer::Hold> hold;  // a complete request waiting for hold->ready()

    size_t pending() const { return in.size() - begin; }

    // A whole request head ("\r\n\r\n", as httplib 0.11 requires) is buffered.
    bool headComplete() {
        const size_t from = std::max(begin, scanned >= 3 ? scanned - 3 : size_t{0});
        if (in.find("\r\n\r\n", from) != std::string::npos) return true;
        scanned = in.size();
        return false;
    }

    std::string_view requestLine() const {
        std::string_view head(in.data() + begin, in.size() - begin);
        return head.substr(0, head.find("\r\n"));
    }

    void compact() {
        if (begin == in.size()) {
            in.clear();
            if (in.capacity() > 4096) in.shrink_to_fit();  // idle viewers keep no big buffers
        } else if (begin > 0) {
            in.erase(0, begin);
        }
        scanned = scanned > begin ? scanned - begin : 0;
        begin = 0;
    }
};

namespace {

constexpr int kExpireEveryMs = 200;
constexpr int kDrainMs = 1000;
constexpr int kBurst = 8;  // pipelined requests answered before yielding the worker
// Response bytes gathered before a send: the head and a small body (a playlist) leave in one
// packet, a large body in the same sendmsg() as its head.
constexpr size_t kCoalesce = 16 * 1024;

// Waits for `events` on fd; false on timeout or error.
bool waitFor(int fd, short events, int timeoutMs) {
    pollfd p{fd, events, 0};
    for (;;) {
        int n = ::poll(&p, 1, timeoutMs);
        if (n < 0 && errno == EINTR) continue;
        return n > 0;
    }
}

void addressOf(const sockaddr_storage& a, std::string& ip, int& port) {
    char text[INET6_ADDRSTRLEN] = {};
    if (a.ss_family == AF_INET) {
        const auto* v4 = reinterpret_cast<const sockaddr_in*>(&a);
        inet_ntop(AF_INET, &v4->sin_addr, text, sizeof text);
        port = ntohs(v4->sin_port);
    } else if (a.ss_family == AF_INET6) {
        const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&a);
        inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof text);
        port = ntohs(v6->sin6_port);
    }
    ip = text;
}

// A whole canned response in one non-blocking send: these go to clients we are dropping.
void sendCanned(int fd, int status, std::string_view reason, std::string_view extraHeaders) {
    const std::string body = std::to_string(status) + " " + std::string(reason) + "\n";
    std::string text = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) +
                       "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: " +
                       std::to_string(body.size()) +
                       "\r\nCache-Control: no-store\r\nConnection: close\r\n" +
                       std::string(extraHeaders) + "\r\n" + body;
    if (::send(fd, text.data(), text.size(), MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
        // Best effort: the connection is being dropped either way.
    }
}

// Answers with an error and closes gracefully: our side is shut, what the client still sends is
// read and discarded (closing with unread input would reset the connection, and the client
// might never see the answer) until it closes too or kDrainMs pass.
void refuse(ParkingServer::Connection& c, int status, std::string_view reason,
            std::string_view extraHeaders) {
    sendCanned(c.fd, status, reason, extraHeaders);
    ::shutdown(c.fd, SHUT_WR);
    c.draining = true;
    c.in.clear();
    c.begin = c.scanned = 0;
    c.deadline = Clock::now() + std::chrono::milliseconds(kDrainMs);
}

// httplib's listen thread hands each accepted socket to its task queue; running the task right
// there (it only parks the socket) keeps accepting independent of the workers.
class InlineQueue final : public httplib::TaskQueue {
public:
    void enqueue(std::function<void()> fn) override { fn(); }
    void shutdown() override {}
};

// One connection as an httplib::Stream: reads come from the bytes the event thread buffered
// (a whole head is there), then from the socket (request bodies) with the I/O timeout.
class ConnectionStream final : public httplib::Stream {
public:
    ConnectionStream(ParkingServer::Connection& c, int ioMs) : c_(c), ioMs_(ioMs) {}

    bool is_readable() const override { return c_.pending() > 0 || waitFor(c_.fd, POLLIN, ioMs_); }
    bool is_writable() const override { return waitFor(c_.fd, POLLOUT, ioMs_); }

    ssize_t read(char* ptr, size_t size) override;

    // Gathered, sent by flush() or with the next large write: two sends per response (head,
    // then body) would cost a round trip of delayed ACK per blocking playlist reload.
    ssize_t write(const char* ptr, size_t size) override {
        if (out_.size() + size <= kCoalesce) {
            out_.append(ptr, size);
            return static_cast<ssize_t>(size);
        }
        return send(ptr, size) ? static_cast<ssize_t>(size) : -1;
    }
    bool flush() { return out_.empty() || send(nullptr, 0); }

    void get_remote_ip_and_port(std::string& ip, int& port) const override {
        sockaddr_storage a{};
        socklen_t len = sizeof a;
        if (getpeername(c_.fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
            addressOf(a, ip, port);
        }
    }
    void get_local_ip_and_port(std::string& ip, int& port) const override {
        sockaddr_storage a{};
        socklen_t len = sizeof a;
        if (getsockname(c_.fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
            addressOf(a, ip, port);
        }
    }
    socket_t socket() const override { return c_.fd; }

private:
    // Sends out_ and then [ptr, ptr + size), all of it, or fails after ioMs without progress.
    bool send(const char* ptr, size_t size) {
        iovec iov[2] = {{out_.data(), out_.size()}, {const_cast<char*>(ptr), size}};
        msghdr msg{};
        msg.msg_iov = out_.empty() ? iov + 1 : iov;
        msg.msg_iovlen = out_.empty() ? 1 : 2;
        size_t left = out_.size() + size;
        while (left > 0) {
            if (!waitFor(c_.fd, POLLOUT, ioMs_)) return false;
            ssize_t n = ::sendmsg(c_.fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
            if (n <= 0) return false;
            left -= static_cast<size_t>(n);
            for (auto done = static_cast<size_t>(n); done > 0;) {  // skip what was sent
                const size_t step = std::min(done, msg.msg_iov->iov_len);
                msg.msg_iov->iov_base = static_cast<char*>(msg.msg_iov->iov_base) + step;
                msg.msg_iov->iov_len -= step;
                done -= step;
                if (msg.msg_iov->iov_len == 0 && msg.msg_iovlen > 1) {
                    ++msg.msg_iov;
                    --msg.msg_iovlen;
                }
            }
        }
        out_.clear();
        return true;
    }

    ParkingServer::Connection& c_;
    int ioMs_;
    std::string out_;
};

ssize_t ConnectionStream::read(char* ptr, size_t size) {
    if (c_.pending() == 0) {
        if (!flush()) return -1;  // e.g. "100 Continue" before a body
        c_.compact();
        if (c_.eof || !waitFor(c_.fd, POLLIN, ioMs_)) return -1;
        char chunk[4096];
        ssize_t n;
        do {
            n = ::recv(c_.fd, chunk, sizeof chunk, 0);
        } while (n < 0 && errno == EINTR);
        if (n <= 0) {
            c_.eof = true;
            return n;
        }
        c_.in.append(chunk, static_cast<size_t>(n));
    }
    const size_t n = std::min(size, c_.pending());
    std::memcpy(ptr, c_.in.data() + c_.begin, n);
    c_.begin += n;
    return static_cast<ssize_t>(n);
}

}  // namespace

ParkingServer::ParkingServer(ServerLimits limits) : limits_(limits) {
    new_task_queue = [] { return new InlineQueue; };
}

ParkingServer::~ParkingServer() {
    stopWorkers();
}

void ParkingServer::startWorkers() {
    epollFd_ = ::epoll_create1(EPOLL_CLOEXEC);
    wakeFd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (epollFd_ < 0 || wakeFd_ < 0) {
        throw std::runtime_error(std::string("cannot create the HTTP event loop: ") +
                                 std::strerror(errno));
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = wakeFd_;
    ::epoll_ctl(epollFd_, EPOLL_CTL_ADD, wakeFd_, &ev);
    workers_ = std::make_unique<httplib::ThreadPool>(static_cast<size_t>(limits_.threads));
    eventThread_ = std::thread([this] { eventLoop(); });
}

void ParkingServer::stopWorkers() {
    {
        std::lock_guard lock(mutex_);
        if (stopping_ || !eventThread_.joinable()) return;
        stopping_ = true;
    }
    uint64_t one = 1;
    if (::write(wakeFd_, &one, sizeof one) < 0) {
        // Cannot happen (an eventfd counter far from overflow); the loop also wakes every 200 ms.
    }
    eventThread_.join();
    {
        std::lock_guard lock(mutex_);
        for (auto& [fd, c] : parked_) {
            ::close(fd);
            if (c->counted) --open_;
        }
        parked_.clear();
        held_ = 0;
    }
    // Requests being answered finish (their connections are closed instead of parked).
    workers_->shutdown();
    ::close(epollFd_);
    ::close(wakeFd_);
}

void ParkingServer::setHoldPolicy(HoldPolicy policy) {
    holdPolicy_ = std::move(policy);
}

void ParkingServer::wake() {
    // Under the lock: the store may still publish (and wake us) while stopWorkers() closes it.
    std::lock_guard lock(mutex_);
    uint64_t one = 1;
    if (!stopping_ && wakeFd_ >= 0 && ::write(wakeFd_, &one, sizeof one) < 0) {
        // Only when the counter is full: the loop is awake then anyway.
    }
}

std::optional<ParkingServer::Hold> ParkingServer::holdFor(const Connection& c) const {
    if (!holdPolicy_) return std::nullopt;
    return holdPolicy_(c.requestLine());
}

ParkingServer::Stats ParkingServer::stats() const {
    Stats s;
    {
        std::lock_guard lock(mutex_);
        s.parked = static_cast<int64_t>(parked_.size());
        s.held = held_;
    }
    s.open = open_.load();
    s.rejected = rejected_.load();
    s.headerTimeouts = headerTimeouts_.load();
    s.tooLarge = tooLarge_.load();
    return s;
}

bool ParkingServer::process_and_close_socket(socket_t sock) {
    auto c = std::make_unique<Connection>();
    c->fd = sock;
    if (open_.load() >= limits_.maxConnections) {
        ++rejected_;
        c->counted = false;
        refuse(*c, 503, "Service Unavailable", "Retry-After: 1\r\n");
    } else {
        ++open_;
    }
    park(std::move(c));
    return true;
}

void ParkingServer::park(std::unique_ptr<Connection> c) {
    c->compact();
    if (c->hold) {
        c->deadline = c->hold->deadline;  // answered then, ready or not
    } else if (!c->draining) {            // (a refused one keeps the deadline refuse() gave it)
        c->partial = c->pending() > 0;    // part of the next request is here already
        c->deadline = Clock::now() +
                      std::chrono::milliseconds(c->partial ? limits_.headerMs : limits_.idleMs);
    }
    std::unique_lock lock(mutex_);
    // Refused connections linger only while there is room: a flood of them is just closed.
    const bool room =
        c->counted || parked_.size() < 2 * static_cast<size_t>(limits_.maxConnections);
    if (stopping_ || !room) {
        lock.unlock();
        return close(std::move(c));
    }
    const int fd = c->fd;
    const int op = c->registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    const bool held = c->hold.has_value();
    c->registered = true;
    if (held) {
        ++held_;
        nextHoldDue_ = std::min(nextHoldDue_, c->deadline);
    }
    parked_[fd] = std::move(c);
    if (!arm(fd, op)) {  // (a held one is armed to notice the client leaving)
        auto failed = std::move(parked_[fd]);
        parked_.erase(fd);
        if (held) --held_;
        lock.unlock();
        close(std::move(failed));
    }
}

bool ParkingServer::arm(int fd, int op) {
    // One-shot: once an event is reported the descriptor stays quiet until it is parked again,
    // so a connection being served needs no EPOLL_CTL_DEL.
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT;
    ev.data.fd = fd;
    return ::epoll_ctl(epollFd_, op, fd, &ev) == 0;
}

void ParkingServer::close(std::unique_ptr<Connection> c) {
    ::close(c->fd);
    if (c->counted) --open_;
}

void ParkingServer::serve(std::unique_ptr<Connection> c) {
    ConnectionStream stream(*c, limits_.ioMs);
    for (int burst = 0;; ++burst) {
        bool closed = false;
        const bool last = ++c->served >= limits_.maxRequestsPerConnection;
        const bool ok = process_request(stream, last, closed, nullptr);
        if (!stream.flush() || !ok || closed || last) return close(std::move(c));
        if (!c->headComplete()) break;
        if (auto h = holdFor(*c)) return hold(std::move(c), std::move(*h));
        if (burst + 1 == kBurst) {  // more pipelined requests: let other connections go first
            return dispatch(std::move(c));
        }
    }
    if (c->eof) return close(std::move(c));
    park(std::move(c));
}

void ParkingServer::hold(std::unique_ptr<Connection> c, Hold h) {
    c->hold = std::move(h);
    park(std::move(c));
    wake();  // what it waits for may have come while the policy looked
}

void ParkingServer::dispatch(std::unique_ptr<Connection> c) {
    c->hold.reset();
    Connection* raw = c.release();
    workers_->enqueue([this, raw] { serve(std::unique_ptr<Connection>(raw)); });
}

void ParkingServer::releaseReady() {
    std::vector<std::unique_ptr<Connection>> ready;
    {
        std::lock_guard lock(mutex_);
        if (held_ == 0) return;
        for (auto it = parked_.begin(); it != parked_.end();) {
            if (!it->second->hold || !it->second->hold->ready()) {
                ++it;
                continue;
            }
            ready.push_back(std::move(it->second));
            it = parked_.erase(it);
            --held_;
        }
    }
    for (auto& c : ready) dispatch(std::move(c));
}

void ParkingServer::eventLoop() {
    std::vector<epoll_event> events(256);
    auto lastExpiry = Clock::now();
    for (;;) {
        // Sweep idle connections every kExpireEveryMs; wake sooner for a held request's deadline.
        // (nextHoldDue_ may be early, its request since answered: one extra sweep corrects it.)
        Clock::time_point holdDue;
        {
            std::lock_guard lock(mutex_);
            holdDue = nextHoldDue_;
        }
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(holdDue - Clock::now());
        const int timeoutMs = static_cast<int>(
            std::clamp<int64_t>(left.count(), 0, static_cast<int64_t>(kExpireEveryMs)));
        const int n =
            ::epoll_wait(epollFd_, events.data(), static_cast<int>(events.size()), timeoutMs);
        {
            std::lock_guard lock(mutex_);
            if (stopping_) return;
        }
        for (int i = 0; i < n; ++i) {
            if (events[i].data.fd != wakeFd_) {
                readable(events[i].data.fd);
                continue;
            }
            uint64_t count;
            if (::read(wakeFd_, &count, sizeof count) < 0) {
                // EAGAIN: another event already drained it.
            }
            releaseReady();
        }
        const auto now = Clock::now();
        if (now >= holdDue || now - lastExpiry >= std::chrono::milliseconds(kExpireEveryMs)) {
            lastExpiry = now;
            expire();
        }
    }
}

void ParkingServer::readable(int fd) {
    std::unique_ptr<Connection> done;   // to close
    std::unique_ptr<Connection> ready;  // to serve
    {
        std::lock_guard lock(mutex_);
        auto it = parked_.find(fd);
        if (it == parked_.end()) return;
        Connection& c = *it->second;
        // Read no more than the head may still grow by (+1 to see it is too long).
        char chunk[16384];
        const size_t room =
            c.draining ? sizeof chunk
                       : std::min(sizeof chunk, limits_.maxRequestSize + 1 -
                                                    std::min(c.pending(), limits_.maxRequestSize));
        ssize_t n = ::recv(fd, chunk, room, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            arm(fd, EPOLL_CTL_MOD);
            return;
        }
        if (n <= 0) c.eof = true;
        if (n > 0 && !c.draining) c.in.append(chunk, static_cast<size_t>(n));

        if (c.hold) {
            // Waiting to be answered: more pipelined input stays buffered (to the size limit);
            // a client that left is dropped now, not at the deadline.
            if (!c.eof && c.pending() <= 2 * limits_.maxRequestSize) {
                arm(fd, EPOLL_CTL_MOD);
                return;
            }
            --held_;
        } else if (c.draining) {
            if (!c.eof) {
                arm(fd, EPOLL_CTL_MOD);
                return;
            }
        } else if (c.pending() > 0 && c.headComplete()) {
            if (auto h = holdFor(c)) {
                c.hold = std::move(h);
                c.deadline = c.hold->deadline;
                ++held_;
                nextHoldDue_ = std::min(nextHoldDue_, c.deadline);
                arm(fd, EPOLL_CTL_MOD);
                return;
            }
            ready = std::move(it->second);
            parked_.erase(it);
        } else if (c.pending() > limits_.maxRequestSize) {
            ++tooLarge_;
            refuse(c, 431, "Request Header Fields Too Large", "");
            arm(fd, EPOLL_CTL_MOD);
            return;
        } else if (!c.eof) {
            if (!c.partial) {
                c.partial = true;
                c.deadline = Clock::now() + std::chrono::milliseconds(limits_.headerMs);
            }
            arm(fd, EPOLL_CTL_MOD);
            return;
        }
        if (!ready) {  // end of file without a whole request, or the drain ended
            done = std::move(it->second);
            parked_.erase(it);
        }
    }
    if (done) return close(std::move(done));
    dispatch(std::move(ready));
}

void ParkingServer::expire() {
    std::vector<std::unique_ptr<Connection>> expired;
    std::vector<std::unique_ptr<Connection>> due;  // held requests: answered now, not ready
    const auto now = Clock::now();
    {
        std::lock_guard lock(mutex_);
        nextHoldDue_ = Clock::time_point::max();
        for (auto it = parked_.begin(); it != parked_.end();) {
            if (it->second->deadline > now) {
                if (it->second->hold) nextHoldDue_ = std::min(nextHoldDue_, it->second->deadline);
                ++it;
                continue;
            }
            if (it->second->hold) {
                --held_;
                due.push_back(std::move(it->second));
            } else {
                expired.push_back(std::move(it->second));
            }
            it = parked_.erase(it);
        }
    }
    for (auto& c : due) dispatch(std::move(c));
    for (auto& c : expired) {
        if (c->partial && !c->draining) {  // a request begun and never finished: slowloris
            ++headerTimeouts_;
            sendCanned(c->fd, 408, "Request Timeout", "");
        }
        close(std::move(c));
    }
}

}  // namespace hlsd
