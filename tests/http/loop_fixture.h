// What the connection-loop tests share: a raw client socket and a loop on a free port whose
// responder the test sets.
#pragma once

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <string>
#include <variant>

#include "http/connection_loop.h"
#include "support/http_client.h"

namespace hlsd::test {

class Client {
public:
    explicit Client(int port) : fd_(test::connectTcp("127.0.0.1", port, 10)) {}
    ~Client() {
        if (fd_ >= 0) ::close(fd_);
    }
    bool send(const std::string& s) {
        return ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size());
    }
    // Everything until the server closes, or `until` appears, or the receive timeout.
    std::string read(const std::string& until = {}, size_t chunk = 65536) {
        std::string out;
        std::string buf(chunk, '\0');
        for (ssize_t n; (n = ::recv(fd_, buf.data(), buf.size(), 0)) > 0;) {
            out.append(buf.data(), static_cast<size_t>(n));
            if (!until.empty() && out.find(until) != std::string::npos) break;
        }
        return out;
    }
    int fd() const { return fd_; }

private:
    int fd_ = -1;
};

inline Response text(std::string body) {
    Response r;
    r.setText(std::move(body), "text/plain");
    return r;
}

// A loop on a free port whose responder the test sets.
struct Loop {
    std::function<std::variant<Response, Hold>(const Request&, bool)> answer =
        [](const Request& req, bool) { return text("path " + req.path); };
    std::atomic<int> accounted{0};
    ConnectionLoop loop;
    int port;

    explicit Loop(LoopLimits limits = {})
        : loop(
              limits,
              [this](const Request& req, const Peer&, bool mayHold) {
                  return answer(req, mayHold);
              },
              [this](const Request&, const Response&, const Peer&) { ++accounted; }),
          port(loop.listen("127.0.0.1", 0)) {
        loop.start();
    }
};

}  // namespace hlsd::test
