// TLS on the connection loop: OpenSSL over the non-blocking socket itself (no memory BIOs:
// one read() or write() per record, as nginx does).
#include "http/tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/epoll.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <stdexcept>
#include <vector>

namespace hlsd {
namespace {

// This thread's OpenSSL errors as text, the first (the most specific: "no start line" before
// "PEM lib") first; the queue is emptied.
std::string sslReason() {
    std::string out;
    while (unsigned long e = ERR_get_error()) {
        const char* reason = ERR_reason_error_string(e);
        const std::string text = reason ? reason : "error " + std::to_string(e);
        if (out.find(text) == std::string::npos) out += (out.empty() ? "" : ", ") + text;
    }
    return out.empty() ? "unknown error" : out;
}

void readable(const std::string& key, const std::string& path) {
    FILE* f = std::fopen(path.c_str(), "r");
    if (!f) throw std::runtime_error(key + " " + path + ": cannot read: " + std::strerror(errno));
    std::fclose(f);
}

// HTTP/1.1 is all hlsd speaks: a client offering h2 alone proceeds without ALPN (and talks
// HTTP/1.1, as curl and browsers then do).
int selectAlpn(SSL*, const unsigned char** out, unsigned char* outLength, const unsigned char* in,
               unsigned int inLength, void*) {
    static const unsigned char kHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
    unsigned char* chosen = nullptr;
    if (SSL_select_next_proto(&chosen, outLength, kHttp11, sizeof kHttp11, in, inLength) !=
        OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK;
    *out = chosen;
    return SSL_TLSEXT_ERR_OK;
}

constexpr size_t kRecord = 16384;  // a TLS record's plaintext at most

class TlsTransport final : public Transport {
public:
    TlsTransport(int fd, SSL* ssl, std::shared_ptr<TlsStats> stats)
        : fd_(fd), ssl_(ssl), stats_(std::move(stats)) {}
    ~TlsTransport() override {
        SSL_free(ssl_);
        ::close(fd_);
    }
    TlsTransport(const TlsTransport&) = delete;
    TlsTransport& operator=(const TlsTransport&) = delete;

    int fd() const override { return fd_; }

    ssize_t read(char* buffer, size_t size) override {
        if (!sniffed_) {
            if (const ssize_t r = sniff(); r <= 0) return r;
        }
        ERR_clear_error();
        size_t got = 0;
        const int r = SSL_read_ex(ssl_, buffer, size, &got);
        return outcome(r, got, false);
    }

    ssize_t write(const iovec* iov, int count, bool) override {
        // Small pieces (a head and its playlist) become one record; a large one goes as it is.
        // A write that could not finish is asked again with the same bytes by the loop, which
        // is what OpenSSL requires (the buffer may move: ACCEPT_MOVING_WRITE_BUFFER).
        // The staging buffer is the loop thread's, not the connection's (an idle viewer keeps
        // none): a record that could not be sent whole is already encrypted inside OpenSSL.
        thread_local std::vector<char> staged;
        sniffed_ = true;  // written first (a refusal at max_clients): the handshake is OpenSSL's
        const void* from = iov[0].iov_base;
        size_t length = std::min(iov[0].iov_len, kRecord);
        if (count > 1 && iov[0].iov_len < kRecord) {
            staged.clear();
            for (int i = 0; i < count && staged.size() < kRecord; ++i) {
                const size_t take = std::min(iov[i].iov_len, kRecord - staged.size());
                const auto* p = static_cast<const char*>(iov[i].iov_base);
                staged.insert(staged.end(), p, p + take);
            }
            from = staged.data();
            length = staged.size();
        }
        ERR_clear_error();
        size_t done = 0;
        const int r = SSL_write_ex(ssl_, from, length, &done);
        return outcome(r, done, true);
    }

    ssize_t sendFile(int, uint64_t, size_t) override {
        errno = EOPNOTSUPP;  // sendsFiles() is false: the loop sends the bytes from memory
        return -1;
    }

    void shutdownWrite() override {
        if (!handshaking()) {
            ERR_clear_error();
            SSL_shutdown(ssl_);  // close_notify, best effort: the socket is closed either way
        }
        ::shutdown(fd_, SHUT_WR);
    }

    // Decrypted and not yet read (no read-ahead: nothing else waits in OpenSSL's buffer; with
    // it, a handshake took 4 read() calls instead of 11 at no measurable gain in handshakes/s).
    bool buffered() const override { return SSL_pending(ssl_) > 0; }
    uint32_t events(uint32_t wanted) const override {
        if (want_ == 0 || (wanted & (EPOLLIN | EPOLLOUT)) == 0) return wanted;
        // Waiting to write, a half-close (RDHUP) would be reported again and again meanwhile.
        const uint32_t keep = want_ == EPOLLOUT ? 0 : wanted & EPOLLRDHUP;
        return (wanted & ~static_cast<uint32_t>(EPOLLIN | EPOLLOUT | EPOLLRDHUP)) | keep | want_;
    }
    bool handshaking() const override { return !done_; }
    bool sendsFiles() const override { return false; }

private:
    // The first byte of a TLS connection is a handshake record (22). Anything else is not TLS:
    // a browser or curl sent plain HTTP to this port, and is told so before it is closed.
    ssize_t sniff() {
        unsigned char first = 0;
        ssize_t n;
        do {
            n = ::recv(fd_, &first, 1, MSG_PEEK | MSG_DONTWAIT);
        } while (n < 0 && errno == EINTR);
        if (n <= 0) return n;
        sniffed_ = true;
        if (first == 22) return 1;
        if (first >= 'A' && first <= 'Z') {
            ++stats_->plainHttp;
            char discard[16384];
            while (::recv(fd_, discard, sizeof discard, MSG_DONTWAIT) > 0) {
                // read what came, so that closing sends FIN, not a reset that loses the answer
            }
            static const char kAnswer[] =
                "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
                "Content-Length: 44\r\nConnection: close\r\n\r\n"
                "This port speaks HTTPS: use an https:// URL\n";
            if (::send(fd_, kAnswer, sizeof kAnswer - 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
                // best effort: the connection is closed either way
            }
            ::shutdown(fd_, SHUT_WR);
        } else {
            ++stats_->failures;
        }
        errno = EPROTO;
        return -1;
    }

    void established() {
        if (!done_ && SSL_is_init_finished(ssl_)) {
            done_ = true;
            ++stats_->handshakes;
        }
    }

    // An SSL_read_ex/SSL_write_ex result as the Transport contract has it: the bytes moved, or
    // 0 at the peer's end, or -1 with errno (EAGAIN: want_ says for which direction).
    ssize_t outcome(int result, size_t moved, bool writing) {
        if (result == 1) {
            established();
            want_ = 0;
            return static_cast<ssize_t>(moved);
        }
        switch (SSL_get_error(ssl_, result)) {
            case SSL_ERROR_WANT_READ:
                established();
                want_ = EPOLLIN;
                errno = EAGAIN;
                return -1;
            case SSL_ERROR_WANT_WRITE:
                established();
                want_ = EPOLLOUT;
                errno = EAGAIN;
                return -1;
            // close_notify, or an end without it (IGNORE_UNEXPECTED_EOF)
            case SSL_ERROR_ZERO_RETURN:
                if (!done_) ++stats_->failures;  // a client that left during the handshake
                if (!writing) return 0;
                errno = EPIPE;
                return -1;
            case SSL_ERROR_SYSCALL:
                if (errno == 0) errno = ECONNRESET;
                break;
            default:
                errno = EPROTO;
        }
        if (!done_) ++stats_->failures;
        ERR_clear_error();
        return -1;
    }

    int fd_;
    SSL* ssl_;
    std::shared_ptr<TlsStats> stats_;
    bool sniffed_ = false;
    bool done_ = false;  // the handshake finished
    uint32_t want_ = 0;  // the direction OpenSSL waits for; 0: whatever the loop wants
};

}  // namespace

TlsContext::TlsContext(std::string certFile, std::string keyFile)
    : certFile_(std::move(certFile)),
      keyFile_(std::move(keyFile)),
      stats_(std::make_shared<TlsStats>()) {
    reload();
}

TlsContext::~TlsContext() = default;

std::shared_ptr<SSL_CTX> TlsContext::load() const {
    readable("tls_cert", certFile_);
    readable("tls_key", keyFile_);
    ERR_clear_error();
    std::shared_ptr<SSL_CTX> ctx(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
    if (!ctx) throw std::runtime_error("TLS: cannot create a context: " + sslReason());
    SSL_CTX* c = ctx.get();
    SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(c, TLS1_3_VERSION);
    // IGNORE_UNEXPECTED_EOF: browsers close without close_notify; that is an end, not an error.
    SSL_CTX_set_options(c, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                               SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_COMPRESSION);
    // PARTIAL_WRITE: a record at a time, like a short send(). RELEASE_BUFFERS: an idle viewer
    // keeps no 34 KB of buffers (nginx does the same).
    SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                            SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_alpn_select_cb(c, selectAlpn, nullptr);
    // Resumption by session tickets only (stateless, TLS 1.2 and 1.3): OpenSSL's own session
    // cache would be one table behind one lock for every loop, walked whole under that lock
    // every 255 connections (SSL_CTX_flush_sessions), for clients that have tickets anyway.
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
    // An encrypted key would make OpenSSL ask on the terminal; a service has none.
    SSL_CTX_set_default_passwd_cb(c, [](char*, int, int, void*) { return 0; });
    if (SSL_CTX_use_certificate_chain_file(c, certFile_.c_str()) != 1)
        throw std::runtime_error("tls_cert " + certFile_ + ": " + sslReason() +
                                 " (expected PEM: the certificate, then its chain)");
    if (SSL_CTX_use_PrivateKey_file(c, keyFile_.c_str(), SSL_FILETYPE_PEM) != 1) {
        const std::string why = sslReason();
        if (why.find("mismatch") != std::string::npos)
            throw std::runtime_error("tls_key " + keyFile_ + " does not match tls_cert " +
                                     certFile_ + " (" + why + ")");
        throw std::runtime_error("tls_key " + keyFile_ + ": " + why +
                                 " (expected an unencrypted PEM private key)");
    }
    if (SSL_CTX_check_private_key(c) != 1)
        throw std::runtime_error("tls_key " + keyFile_ + " does not match tls_cert " + certFile_ +
                                 ": " + sslReason());
    return ctx;
}

void TlsContext::reload() {
    std::shared_ptr<SSL_CTX> ctx = load();
    X509* cert = SSL_CTX_get0_certificate(ctx.get());
    int64_t expires = 0;
    std::tm tm{};
    if (cert && ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) == 1) expires = timegm(&tm);
    std::string subject;
    if (cert) {
        char name[256] = {};
        X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, name, sizeof name);
        subject = name;
    }
    std::lock_guard lock(mutex_);
    current_ = std::move(ctx);  // open connections hold their own reference (SSL_new)
    expires_ = expires;
    subject_ = subject;
}

std::unique_ptr<Transport> TlsContext::wrap(int fd) {
    std::shared_ptr<SSL_CTX> ctx;
    {
        std::lock_guard lock(mutex_);
        ctx = current_;
    }
    ERR_clear_error();
    SSL* ssl = SSL_new(ctx.get());
    if (!ssl || SSL_set_fd(ssl, fd) != 1) {
        SSL_free(ssl);
        ERR_clear_error();
        return nullptr;  // out of memory: the caller closes the socket
    }
    SSL_set_accept_state(ssl);
    return std::make_unique<TlsTransport>(fd, ssl, stats_);
}

int64_t TlsContext::expires() const {
    std::lock_guard lock(mutex_);
    return expires_;
}

std::string TlsContext::describe() const {
    std::lock_guard lock(mutex_);
    char when[32] = "?";
    const time_t t = static_cast<time_t>(expires_);
    std::tm tm{};
    if (gmtime_r(&t, &tm)) std::strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", &tm);
    return "certificate \"" + subject_ + "\" from " + certFile_ + ", valid until " + when;
}

}  // namespace hlsd
