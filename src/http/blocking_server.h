// httplib::Server with a keep-alive wait that sleeps in poll(2).
//
// Debian's cpp-httplib 0.11 waits for a keep-alive client's next request in a loop of 10 ms
// select() + 1 ms sleep: ~90 wake-ups a second per connection, whether the viewer is idle or
// not (bench/RESULTS.md: +13.7 % CPU for 100 idle connections, nginx 0 %). hls.js viewers sit
// in that wait almost all the time. This subclass replaces only the per-connection loop; request
// parsing, routing and response writing stay httplib's.
#pragma once

#include <httplib.h>

namespace hlsd {

class BlockingServer : public httplib::Server {
public:
    // The same limits httplib's own loop uses, kept here because its members are private.
    void setTimeouts(int keepAliveSeconds, int readSeconds, int writeSeconds) {
        keepAliveMs_ = keepAliveSeconds * 1000;
        readMs_ = readSeconds * 1000;
        writeMs_ = writeSeconds * 1000;
    }
    void setMaxRequestsPerConnection(size_t n) { maxRequests_ = n; }

private:
    bool process_and_close_socket(socket_t sock) override;

    int keepAliveMs_ = 5000;
    int readMs_ = 5000;
    int writeMs_ = 5000;
    size_t maxRequests_ = 100000;
};

}  // namespace hlsd
