#include "support/tls_client.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <unistd.h>

namespace hlsd::test {

TlsConnection::TlsConnection(const std::string& host, int port, const TlsOptions& options,
                             double timeoutSeconds)
    : HttpConnection(host, port, timeoutSeconds) {
    if (fd_ < 0) {
        error_ = "cannot connect";
        return;
    }
    ctx_ = SSL_CTX_new(TLS_client_method());
    if (options.maxVersion) SSL_CTX_set_max_proto_version(ctx_, options.maxVersion);
    if (options.minVersion) {
        SSL_CTX_set_min_proto_version(ctx_, options.minVersion);
        // Debian's OpenSSL refuses TLS 1.1 on its own side at level 2: offer it, so that what
        // is tested is the server's refusal.
        if (options.minVersion < TLS1_2_VERSION) SSL_CTX_set_security_level(ctx_, 0);
    }
    if (!options.caFile.empty()) {
        SSL_CTX_load_verify_locations(ctx_, options.caFile.c_str(), nullptr);
        SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    }
    SSL* ssl = SSL_new(ctx_);
    const std::string name = options.serverName.empty() ? host : options.serverName;
    if (name.find_first_not_of("0123456789.") != std::string::npos) {
        SSL_set_tlsext_host_name(ssl, name.c_str());
        SSL_set1_host(ssl, name.c_str());
    } else {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str());
    }
    SSL_set_fd(ssl, fd_);  // blocking, with the socket's timeouts
    ERR_clear_error();
    if (SSL_connect(ssl) != 1) {
        const unsigned long e = ERR_get_error();
        error_ = e ? ERR_reason_error_string(e) ? ERR_reason_error_string(e) : "error"
                   : "connection closed";
        SSL_free(ssl);
        ERR_clear_error();
        return;
    }
    ssl_ = ssl;
}

TlsConnection::~TlsConnection() {
    SSL_free(ssl_);
    SSL_CTX_free(ctx_);
}

std::string TlsConnection::version() const {
    return ssl_ ? SSL_get_version(ssl_) : "";
}

std::string TlsConnection::peerName() const {
    if (!ssl_) return "";
    X509* cert = SSL_get1_peer_certificate(ssl_);
    if (!cert) return "";
    char name[256] = {};
    X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, name, sizeof name);
    X509_free(cert);
    return name;
}

long TlsConnection::receive(char* buffer, size_t size) {
    if (!ssl_) return -1;
    size_t got = 0;
    ERR_clear_error();
    return SSL_read_ex(ssl_, buffer, size, &got) == 1 ? static_cast<long>(got) : 0;
}

long TlsConnection::transmit(const char* data, size_t size) {
    if (!ssl_) return -1;
    size_t sent = 0;
    ERR_clear_error();
    return SSL_write_ex(ssl_, data, size, &sent) == 1 ? static_cast<long>(sent) : -1;
}

HttpResponse httpsGet(int port, const std::string& path, const TlsOptions& options,
                      const std::string& extraHeaders, const std::string& host) {
    TlsConnection c(host, port, options);
    if (!c.established()) return {};
    return c.get(path, extraHeaders);
}

}  // namespace hlsd::test
