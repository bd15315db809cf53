#include "http/blocking_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace hlsd {
namespace {

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

// One connection's socket as an httplib::Stream, with a read buffer that lives as long as the
// connection (httplib reads request lines a byte at a time, and pipelined requests must survive
// from one request to the next).
class ConnectionStream final : public httplib::Stream {
public:
    ConnectionStream(int fd, int readMs, int writeMs)
        : fd_(fd), readMs_(readMs), writeMs_(writeMs) {}

    bool buffered() const { return begin_ < end_; }
    bool is_readable() const override { return buffered() || waitFor(fd_, POLLIN, readMs_); }
    bool is_writable() const override { return waitFor(fd_, POLLOUT, writeMs_); }

    ssize_t read(char* ptr, size_t size) override {
        if (!buffered()) {
            if (!waitFor(fd_, POLLIN, readMs_)) return -1;
            ssize_t n;
            do {
                n = ::recv(fd_, buffer_, sizeof buffer_, 0);
            } while (n < 0 && errno == EINTR);
            if (n <= 0) return n;
            begin_ = 0;
            end_ = static_cast<size_t>(n);
        }
        size_t n = std::min(size, end_ - begin_);
        std::memcpy(ptr, buffer_ + begin_, n);
        begin_ += n;
        return static_cast<ssize_t>(n);
    }

    ssize_t write(const char* ptr, size_t size) override {
        if (!is_writable()) return -1;
        ssize_t n;
        do {
            n = ::send(fd_, ptr, size, MSG_NOSIGNAL);
        } while (n < 0 && errno == EINTR);
        return n;
    }

    void get_remote_ip_and_port(std::string& ip, int& port) const override {
        sockaddr_storage a{};
        socklen_t len = sizeof a;
        if (getpeername(fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0) addressOf(a, ip, port);
    }
    void get_local_ip_and_port(std::string& ip, int& port) const override {
        sockaddr_storage a{};
        socklen_t len = sizeof a;
        if (getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0) addressOf(a, ip, port);
    }
    socket_t socket() const override { return fd_; }

private:
    int fd_;
    int readMs_;
    int writeMs_;
    char buffer_[4096];
    size_t begin_ = 0;
    size_t end_ = 0;
};

}  // namespace

bool BlockingServer::process_and_close_socket(socket_t sock) {
    ConnectionStream stream(sock, readMs_, writeMs_);
    for (size_t left = maxRequests_; left > 0 && is_running(); --left) {
        // Sleep until the client sends (or the keep-alive timeout, or stop(): it half-closes
        // our connections, which wakes this with end-of-file).
        if (!stream.buffered() && !waitFor(sock, POLLIN, keepAliveMs_)) break;
        bool closed = false;
        if (!process_request(stream, left == 1, closed, nullptr) || closed) break;
    }
    ::shutdown(sock, SHUT_RDWR);
    ::close(sock);
    return true;
}

}  // namespace hlsd
