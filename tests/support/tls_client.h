// Test support: the raw HTTP/1.1 client of http_client.h over TLS (OpenSSL), verifying the
// server's chain against a test CA, so tests see exactly what an HTTPS server sent.
#pragma once

#include <string>
#include <utility>

#include "support/http_client.h"

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;

namespace hlsd::test {

struct TlsOptions {
    TlsOptions(std::string ca = "", int max = 0, int min = 0)
        : caFile(std::move(ca)), maxVersion(max), minVersion(min) {}
    std::string caFile;      // the root to trust; empty: no verification
    int maxVersion = 0;      // e.g. TLS1_2_VERSION; 0: the newest
    int minVersion = 0;      // below TLS 1.2 the client also lowers its own security level
    std::string serverName;  // SNI and the name to verify; empty: the host
};

class TlsConnection : public HttpConnection {
public:
    TlsConnection(const std::string& host, int port, const TlsOptions& options,
                  double timeoutSeconds = 5);
    ~TlsConnection() override;

    bool established() const { return ssl_ != nullptr; }
    const std::string& error() const { return error_; }  // why the handshake failed
    std::string version() const;                         // "TLSv1.3"
    std::string peerName() const;                        // the certificate's CN

protected:
    long receive(char* buffer, size_t size) override;
    long transmit(const char* data, size_t size) override;

private:
    SSL_CTX* ctx_ = nullptr;
    SSL* ssl_ = nullptr;
    std::string error_;
};

// One request on a fresh TLS connection; status 0 when the handshake or the request failed.
HttpResponse httpsGet(int port, const std::string& path, const TlsOptions& options,
                      const std::string& extraHeaders = "", const std::string& host = "127.0.0.1");

}  // namespace hlsd::test
