// The loops and what they share: the listening socket, wake(), stop() and the figures.
#include "http/connection_loop.h"

#include <netdb.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

#include <csignal>
#include <cstring>
#include <stdexcept>

#include "http/connection.h"

namespace hlsd {

using namespace loop;

ConnectionLoop::ConnectionLoop(LoopLimits limits, Responder responder, Accounter accounter)
    : shared_(std::make_unique<Shared>()) {
    // sendfile() has no MSG_NOSIGNAL: a client that left would kill the process with SIGPIPE
    // instead of failing the call with EPIPE. (Process-wide, as in nginx: nothing here wants it.)
    ::signal(SIGPIPE, SIG_IGN);
    shared_->limits = limits;
    shared_->responder = std::move(responder);
    shared_->accounter = std::move(accounter);
    const int loops = std::max(1, limits.loops);
    for (int i = 0; i < loops; ++i)
        workers_.push_back(std::make_unique<Worker>(*shared_, workers_));
}

ConnectionLoop::~ConnectionLoop() {
    stop();
    workers_.clear();
    if (shared_->listenFd >= 0) ::close(shared_->listenFd);
}

int ConnectionLoop::listen(const std::string& host, int port) {
    const std::string where = host + ":" + std::to_string(port);
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* list = nullptr;
    const std::string service = std::to_string(port);
    if (int e =
            ::getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &list))
        throw std::runtime_error("cannot listen on " + where + ": " + gai_strerror(e));
    std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> owner(list, freeaddrinfo);
    int err = 0;
    for (addrinfo* a = list; a; a = a->ai_next) {
        const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            err = errno;
            continue;
        }
        // Not SO_REUSEPORT: a second hlsd on the same port must fail, not share it silently.
        int yes = 1, no = 0;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
        if (a->ai_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &no, sizeof no);
        if (::bind(fd, a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd, kListenBacklog) == 0) {
            shared_->listenFd = fd;
            break;
        }
        err = errno;
        ::close(fd);
    }
    if (shared_->listenFd < 0)
        throw std::runtime_error("cannot listen on " + where + ": " + std::strerror(err));
    sockaddr_storage bound{};
    socklen_t len = sizeof bound;
    ::getsockname(shared_->listenFd, reinterpret_cast<sockaddr*>(&bound), &len);
    for (auto& w : workers_) w->listen(shared_->listenFd);
    return peerOf(bound).port;
}

void ConnectionLoop::useTransport(TransportMaker wrap) {
    shared_->wrap = std::move(wrap);
}

void ConnectionLoop::start() {
    for (auto& w : workers_) w->start();
}

void ConnectionLoop::wake() {
    for (auto& w : workers_) w->wake();
}

void ConnectionLoop::stop() {
    if (!shared_->stopping.exchange(true) && shared_->listenFd >= 0) {
        // Refuse what the listen queue holds and whatever comes now, at once, rather than
        // accept it into loops that are closing (Linux stops listening on shutdown()).
        ::shutdown(shared_->listenFd, SHUT_RDWR);
    }
    for (auto& w : workers_) w->wake();
    for (auto& w : workers_) w->join();
    if (shared_->listenFd >= 0) {
        ::close(shared_->listenFd);
        shared_->listenFd = -1;
    }
}

ConnectionLoop::Stats ConnectionLoop::stats() const {
    const Shared& s = *shared_;
    Stats out;
    out.open = s.open.load();
    out.idle = s.idle.load();
    out.held = s.held.load();
    out.streams = s.streams.load();
    out.streamBytes = s.streamBytes.load();
    out.rejected = s.rejected.load();
    out.headerTimeouts = s.headerTimeouts.load();
    out.tooLarge = s.tooLarge.load();
    return out;
}

std::vector<int64_t> ConnectionLoop::openPerLoop() const {
    std::vector<int64_t> out;
    for (const auto& w : workers_) out.push_back(w->open());
    return out;
}

ConnectionLoop::Worker::Worker(Shared& shared, std::vector<std::unique_ptr<Worker>>& all)
    : shared_(shared),
      all_(all),
      limits_(shared.limits),
      responder_(shared.responder),
      accounter_(shared.accounter),
      stopping_(shared.stopping),
      open_(shared.open),
      idle_(shared.idle),
      held_(shared.held),
      streams_(shared.streams),
      rejected_(shared.rejected),
      headerTimeouts_(shared.headerTimeouts),
      tooLarge_(shared.tooLarge),
      streamBytes_(shared.streamBytes) {
    epollFd_ = ::epoll_create1(EPOLL_CLOEXEC);
    const int wakeFd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (epollFd_ < 0 || wakeFd < 0) {
        if (wakeFd >= 0) ::close(wakeFd);
        if (epollFd_ >= 0) ::close(epollFd_);
        throw std::runtime_error(std::string("cannot create the HTTP event loop: ") +
                                 std::strerror(errno));
    }
    wakeFd_.store(wakeFd);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = wakeFd;
    ::epoll_ctl(epollFd_, EPOLL_CTL_ADD, wakeFd, &ev);
}

ConnectionLoop::Worker::~Worker() {
    join();
    connections_.clear();
    for (auto& [fd, peer] : inbox_) ::close(fd);
    ::close(epollFd_);
    ::close(wakeFd_.exchange(-1));
}

void ConnectionLoop::Worker::listen(int fd) {
    listenFd_ = fd;
    epoll_event ev{};
    // One loop woken per new connection, not all of them (the thundering herd).
    ev.events = EPOLLIN | EPOLLEXCLUSIVE;
    ev.data.fd = fd;
    ::epoll_ctl(epollFd_, EPOLL_CTL_ADD, fd, &ev);
}

void ConnectionLoop::Worker::start() {
    thread_ = std::thread([this] { run(); });
}

void ConnectionLoop::Worker::join() {
    if (thread_.joinable()) thread_.join();
}

void ConnectionLoop::Worker::wake() {
    storeChanged_.store(true, std::memory_order_release);
    signal();
}

void ConnectionLoop::Worker::adopt(int fd, Peer peer) {
    ++mine_;  // seen by the next hand-off at once
    {
        std::lock_guard lock(inboxMutex_);
        inbox_.emplace_back(fd, std::move(peer));
    }
    signal();
}

void ConnectionLoop::Worker::signal() {
    const int fd = wakeFd_.load(std::memory_order_acquire);
    uint64_t one = 1;
    if (fd >= 0 && ::write(fd, &one, sizeof one) < 0) {
        // Only when the counter is full: the loop is awake then anyway.
    }
}

}  // namespace hlsd
