// TLS for the connection loop: the server's certificate and key (reloadable while connections
// stay open), and a Transport that speaks TLS over a non-blocking socket on the same event loop
// as plain connections. OpenSSL 3; TLS 1.2 and 1.3 only.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "http/transport.h"

typedef struct ssl_ctx_st SSL_CTX;

namespace hlsd {

struct TlsStats {
    std::atomic<uint64_t> handshakes{0};  // completed
    std::atomic<uint64_t> failures{0};    // handshakes that failed (bad client, wrong protocol)
    std::atomic<uint64_t> plainHttp{0};   // plain HTTP sent to the TLS port (answered 400, closed)
};

class TlsContext {
public:
    // Loads the certificate (PEM, leaf first, then its chain) and the matching key. Throws
    // std::runtime_error naming the file and OpenSSL's reason.
    TlsContext(std::string certFile, std::string keyFile);
    ~TlsContext();
    TlsContext(const TlsContext&) = delete;
    TlsContext& operator=(const TlsContext&) = delete;

    // Reads both files again (a renewed certificate): new connections use them, open ones keep
    // theirs. On failure throws as above and keeps the previous pair. Any thread.
    void reload();
    // A TLS connection over an accepted socket (then owned by it); null when OpenSSL cannot make
    // one (the socket stays the caller's). Any thread.
    std::unique_ptr<Transport> wrap(int fd);

    const TlsStats& stats() const { return *stats_; }
    // The certificate's notAfter, seconds since the epoch; and a one-line description for logs.
    int64_t expires() const;
    std::string describe() const;

private:
    std::shared_ptr<SSL_CTX> load() const;

    std::string certFile_, keyFile_;
    std::shared_ptr<TlsStats> stats_;  // outlives the context: open transports count into it
    mutable std::mutex mutex_;
    std::shared_ptr<SSL_CTX> current_;
    int64_t expires_ = 0;
    std::string subject_;
};

}  // namespace hlsd
