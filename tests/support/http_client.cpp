#include "support/http_client.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <openssl/evp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace hlsd::test {

int connectTcp(const std::string& host, int port, double timeoutSeconds) {
    addrinfo hints{}, *res = nullptr;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res) != 0) return -1;
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (timeoutSeconds > 0) {
        timeval tv{};
        tv.tv_sec = static_cast<time_t>(timeoutSeconds);
        tv.tv_usec = static_cast<suseconds_t>((timeoutSeconds - tv.tv_sec) * 1e6);
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    }
    if (connect(fd, res->ai_addr, res->ai_addrlen) != 0) {
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

HttpConnection::HttpConnection(const std::string& host, int port, double timeoutSeconds)
    : fd_(connectTcp(host, port, timeoutSeconds)) {}

HttpConnection::~HttpConnection() {
    if (fd_ >= 0) close(fd_);
}

bool HttpConnection::sendRaw(const std::string& bytes) {
    size_t sent = 0;
    while (sent < bytes.size()) {
        const long n = transmit(bytes.data() + sent, bytes.size() - sent);
        if (n <= 0) return false;
        sent += static_cast<size_t>(n);
    }
    return true;
}

long HttpConnection::receive(char* buffer, size_t size) {
    return recv(fd_, buffer, size, 0);
}

long HttpConnection::transmit(const char* data, size_t size) {
    return send(fd_, data, size, MSG_NOSIGNAL);
}

long HttpConnection::readSome(std::string& out) {
    if (!buffer_.empty()) {
        out.swap(buffer_);
        buffer_.clear();
        return static_cast<long>(out.size());
    }
    char buf[65536];
    const long n = receive(buf, sizeof buf);
    out.assign(buf, static_cast<size_t>(std::max(0L, n)));
    return std::max(0L, n);
}

bool HttpConnection::fill() {
    if (eof_ || fd_ < 0) return false;
    char buf[65536];
    const long n = receive(buf, sizeof buf);
    if (n <= 0) {
        eof_ = true;
        return false;
    }
    buffer_.append(buf, static_cast<size_t>(n));
    return true;
}

HttpResponse HttpConnection::readResponse(bool head) {
    HttpResponse r;
    size_t end;
    while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
        if (!fill()) {
            r.closed = true;
            return r;
        }
    }
    std::string head_ = buffer_.substr(0, end);
    buffer_.erase(0, end + 4);
    size_t lineEnd = head_.find("\r\n");
    r.statusLine = head_.substr(0, lineEnd);
    if (r.statusLine.rfind("HTTP/1.", 0) == 0 && r.statusLine.size() >= 12) {
        r.status = std::atoi(r.statusLine.c_str() + 9);
    }
    size_t pos = lineEnd == std::string::npos ? head_.size() : lineEnd + 2;
    while (pos < head_.size()) {
        size_t next = head_.find("\r\n", pos);
        if (next == std::string::npos) next = head_.size();
        std::string line = head_.substr(pos, next - pos);
        auto colon = line.find(':');
        if (colon != std::string::npos) {
            std::string name = line.substr(0, colon);
            std::transform(name.begin(), name.end(), name.begin(), ::tolower);
            size_t v = colon + 1;
            while (v < line.size() && line[v] == ' ') ++v;
            r.headers[name] = line.substr(v);
        }
        pos = next + 2;
    }
    if (!head) {
        auto cl = r.headers.find("content-length");
        if (cl != r.headers.end()) {
            size_t want = std::stoul(cl->second);
            while (buffer_.size() < want && fill()) {
            }
            r.body = buffer_.substr(0, std::min(want, buffer_.size()));
            buffer_.erase(0, r.body.size());
        } else {
            while (fill()) {
            }
            r.body.swap(buffer_);
        }
    }
    r.closed = r.header("connection") == "close";
    return r;
}

HttpResponse HttpConnection::get(const std::string& path, const std::string& extraHeaders,
                                 const std::string& method) {
    if (!sendRaw(method + " " + path + " HTTP/1.1\r\nHost: test\r\n" + extraHeaders + "\r\n")) {
        return {};
    }
    return readResponse(method == "HEAD");
}

HttpResponse httpGet(int port, const std::string& path, const std::string& extraHeaders,
                     const std::string& method, const std::string& host) {
    HttpConnection c(host, port);
    if (!c.connected()) return {};
    return c.get(path, extraHeaders, method);
}

std::string basicCredentials(const std::string& user, const std::string& password) {
    const std::string in = user + ":" + password;
    std::string encoded(4 * ((in.size() + 2) / 3) + 1, '\0');  // + the NUL OpenSSL writes
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()),
                                  reinterpret_cast<const unsigned char*>(in.data()),
                                  static_cast<int>(in.size()));
    encoded.resize(static_cast<size_t>(n));
    return "Basic " + encoded;
}

}  // namespace hlsd::test
