// The byte stream under one HTTP connection: plain TCP here, TLS in tls.cpp. The loop above
// sees the same calls for both.
#pragma once

#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

namespace hlsd {

// Thread-bound (the event thread). Non-blocking: -1 with errno EAGAIN when the kernel has
// nothing to give or no room to take.
class Transport {
public:
    virtual ~Transport() = default;
    virtual int fd() const = 0;
    // > 0 bytes, 0 at the peer's end of stream, -1 with errno.
    virtual ssize_t read(char* buffer, size_t size) = 0;
    // Gathered: the head and a body's chunks in one call (one packet for a small response).
    // `more`: file data follows at once (sent in the same packets where the kernel can).
    virtual ssize_t write(const iovec* iov, int count, bool more = false) = 0;
    // Bytes of a file: the kernel references its pages instead of copying them.
    virtual ssize_t sendFile(int fd, uint64_t offset, size_t count) = 0;
    virtual void shutdownWrite() = 0;

    // TLS: bytes already decrypted and kept (epoll will not report them).
    virtual bool buffered() const { return false; }
    // The epoll events to wait for when the loop wants `wanted`: TLS may need to read before it
    // can write (or write during a handshake the loop sees as reading).
    virtual uint32_t events(uint32_t wanted) const { return wanted; }
    // A TLS handshake not finished yet: no answer can be written to this client.
    virtual bool handshaking() const { return false; }
    // sendFile() works; otherwise the loop sends a file chunk's bytes from memory.
    virtual bool sendsFiles() const { return true; }
};

class TcpTransport final : public Transport {
public:
    explicit TcpTransport(int fd) : fd_(fd) {}
    ~TcpTransport() override { ::close(fd_); }
    TcpTransport(const TcpTransport&) = delete;
    TcpTransport& operator=(const TcpTransport&) = delete;

    int fd() const override { return fd_; }
    ssize_t read(char* buffer, size_t size) override {
        ssize_t n;
        do {
            n = ::recv(fd_, buffer, size, MSG_DONTWAIT);
        } while (n < 0 && errno == EINTR);
        return n;
    }
    ssize_t write(const iovec* iov, int count, bool more) override {
        msghdr msg{};
        msg.msg_iov = const_cast<iovec*>(iov);
        msg.msg_iovlen = static_cast<size_t>(count);
        ssize_t n;
        do {
            n = ::sendmsg(fd_, &msg, MSG_DONTWAIT | MSG_NOSIGNAL | (more ? MSG_MORE : 0));
        } while (n < 0 && errno == EINTR);
        return n;
    }
    ssize_t sendFile(int fd, uint64_t offset, size_t count) override {
        auto at = static_cast<off_t>(offset);
        ssize_t n;
        do {
            n = ::sendfile(fd_, fd, &at, count);  // the socket is non-blocking: EAGAIN when full
        } while (n < 0 && errno == EINTR);
        return n;
    }
    void shutdownWrite() override { ::shutdown(fd_, SHUT_WR); }

private:
    int fd_;
};

}  // namespace hlsd
