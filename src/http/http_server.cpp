// The HTTP stage, wired: the connection loop (sockets), the HLS service (what is answered) and
// the metrics, from HttpOptions.
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <memory>
#include <thread>

#include "hlsd/http.h"
#include "hlsd/log.h"
#include "http/client_address.h"
#include "http/connection_loop.h"
#include "http/hls_service.h"
#include "http/metrics.h"
#include "http/router.h"
#include "http/tls.h"
#include "http/transport.h"

namespace hlsd {
namespace {

// Every open connection is a file descriptor, and refused ones linger up to a second: raise the
// soft limit (1024 under systemd and most shells) toward the hard one, and say if it is short.
void ensureFileLimit(int maxClients) {
    const rlim_t wanted = static_cast<rlim_t>(maxClients) * 2 + 256;
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= wanted) return;
    limit.rlim_cur = std::min(wanted, limit.rlim_max);
    setrlimit(RLIMIT_NOFILE, &limit);
    if (limit.rlim_cur < wanted) {
        logger("http")->warn(
            "max_clients {} wants {} file descriptors, the limit is {} (LimitNOFILE=): "
            "connections beyond it wait in the listen queue",
            maxClients, wanted, limit.rlim_cur);
    }
}

// CPUs this process may run on (systemd's CPUAffinity=, taskset), not all the machine has.
int cpusAvailable() {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
    return std::max(1u, std::thread::hardware_concurrency());
}

bool isWildcard(const std::string& host) {
    return host == "0.0.0.0" || host == "::" || host.empty();
}

LoopLimits limitsOf(const HttpOptions& o) {
    LoopLimits limits;
    limits.maxConnections = o.maxClients;
    limits.maxRequestSize = o.maxRequestSize;
    limits.idleMs = o.timeout * 1000;
    limits.headerMs = o.headerTimeout * 1000;
    limits.ioMs = o.timeout * 1000;
    limits.loops = o.loops > 0 ? o.loops : cpusAvailable();
    return limits;
}

}  // namespace

class HttpServer::Impl {
public:
    Impl(HttpOptions options, const SegmentStore& store)
        : options_(std::move(options)),
          proxies_(TrustedProxies::parse(options_.trustedProxies).value_or(TrustedProxies{})),
          service_(options_, store, metrics_, [this] { return connectionMetrics(); }),
          loop_(
              limitsOf(options_),
              [this](const Request& req, const Peer& peer, bool mayHold) {
                  return service_.respond(req, clientOf(req, peer), mayHold);
              },
              [this](const Request& req, const Response& res, const Peer& peer) {
                  account(req, res, clientOf(req, peer));
              }) {}

    ~Impl() { stop(); }

    int start() {
        auto log = logger("http");
        if (!service_.hasPlayer()) {
            log->warn(
                "player page not found in {} (player_dir): / answers 503; the stream is "
                "served all the same",
                options_.playerDir);
        }
        ensureFileLimit(options_.maxClients);
        if (!options_.tlsCert.empty()) {
            tls_ = std::make_unique<TlsContext>(options_.tlsCert, options_.tlsKey);
            loop_.useTransport([tls = tls_.get()](int fd) { return tls->wrap(fd); });
            logCertificate();
        }
        port_ = loop_.listen(options_.host, options_.port);
        loop_.start();
        const int loops = loop_.loops();
        log->info("serving on {} (player), playlist {}live/index.m3u8; {} event loop{}", url(),
                  url(), loops, loops == 1 ? "" : "s");
        return port_;
    }

    bool reloadTls() {
        if (!tls_) return false;
        try {
            tls_->reload();
        } catch (const std::exception& e) {
            logger("http")->error("SIGHUP: {}; the previous certificate stays in use", e.what());
            return false;
        }
        logger("http")->info("SIGHUP: reloaded; new connections get the {}", tls_->describe());
        logCertificate(false);
        return true;
    }

    void stop() { loop_.stop(); }
    void wake() { loop_.wake(); }

    std::string url() const {
        std::string host = options_.host;
        if (isWildcard(host)) {
            char name[256] = {};
            host = gethostname(name, sizeof name - 1) == 0 && name[0] ? name : "localhost";
        }
        if (host.find(':') != std::string::npos) host = "[" + host + "]";
        return (tls_ ? "https://" : "http://") + host + ":" + std::to_string(port_) + "/";
    }

private:
    // Through a trusted edge, the viewer it names (rate limits, logs, viewers in /metrics).
    Peer clientOf(const Request& req, const Peer& peer) const {
        if (proxies_.empty()) return peer;
        Peer client = peer;
        client.ip = proxies_.clientOf(peer.ip, req.header("x-forwarded-for"));
        return client;
    }

    void logCertificate(bool describe = true) {
        auto log = logger("http");
        if (describe) log->info("TLS 1.2/1.3 with the {}", tls_->describe());
        const int64_t left = tls_->expires() - static_cast<int64_t>(std::time(nullptr));
        if (left <= 0) {
            log->error("the certificate has expired: browsers refuse it; renew it and send SIGHUP");
        } else if (left < 14 * 86400) {
            log->warn("the certificate expires in {} day(s): renew it and send SIGHUP",
                      left / 86400);
        }
    }

    void account(const Request& req, const Response& res, const Peer& peer) {
        const uint64_t bytes = req.method == "HEAD" ? 0 : res.contentLength();
        metrics_.count(route(req.path, req.query).kind, res.status, bytes);
        logger("http")->debug("{} {} {} {} {} bytes", peer.ip, req.method, req.path, res.status,
                              bytes);
    }

    std::string connectionMetrics() const {
        const ConnectionLoop::Stats s = loop_.stats();
        std::string out;
        appendMetric(out, "hlsd_http_connections_open", "gauge", "HTTP connections open", s.open);
        appendMetric(out, "hlsd_http_connections_idle", "gauge",
                     "open HTTP connections waiting for a request", s.idle);
        appendMetric(out, "hlsd_http_requests_waiting", "gauge",
                     "requests held until what they ask for exists (LL-HLS blocking reload, "
                     "preload hint, a playlist until its segment completes; a snapshot waiting "
                     "for a picture)",
                     s.held);
        appendMetric(out, "hlsd_http_streams_open", "gauge",
                     "connections receiving /live/stream.* (a body without end)", s.streams);
        appendMetric(out, "hlsd_http_stream_sent_bytes_total", "counter",
                     "bytes sent to /live/stream.* viewers (hlsd_http_sent_bytes_total counts "
                     "responses of known length)",
                     static_cast<int64_t>(s.streamBytes));
        appendMetric(out, "hlsd_http_connections_rejected_total", "counter",
                     "connections refused with 503 at max_clients",
                     static_cast<int64_t>(s.rejected));
        appendMetric(
            out, "hlsd_http_header_timeouts_total", "counter",
            "request heads not complete within header_timeout (408), and TLS handshakes (closed)",
            static_cast<int64_t>(s.headerTimeouts));
        appendMetric(out, "hlsd_http_requests_too_large_total", "counter",
                     "request heads over max_request_size (431)", static_cast<int64_t>(s.tooLarge));
        if (tls_) {
            const TlsStats& t = tls_->stats();
            appendMetric(out, "hlsd_tls_handshakes_total", "counter", "TLS handshakes completed",
                         static_cast<int64_t>(t.handshakes.load()));
            appendMetric(out, "hlsd_tls_handshake_failures_total", "counter",
                         "TLS handshakes that failed (protocol, version, a client that left)",
                         static_cast<int64_t>(t.failures.load()));
            appendMetric(out, "hlsd_tls_plain_http_total", "counter",
                         "plain HTTP requests sent to the TLS port (answered 400, closed)",
                         static_cast<int64_t>(t.plainHttp.load()));
            appendMetric(out, "hlsd_tls_certificate_expiry_seconds", "gauge",
                         "the certificate's notAfter, seconds since the epoch", tls_->expires());
        }
        return out;
    }

    HttpOptions options_;
    TrustedProxies proxies_;
    std::unique_ptr<TlsContext> tls_;  // before loop_: its connections hold transports of it
    HttpMetrics metrics_;
    HlsService service_;
    ConnectionLoop loop_;
    int port_ = 0;
};

HttpServer::HttpServer(HttpOptions options, const SegmentStore& store)
    : impl_(std::make_unique<Impl>(std::move(options), store)) {}

HttpServer::~HttpServer() {
    impl_->stop();
}

int HttpServer::start() {
    return impl_->start();
}

void HttpServer::stop() {
    impl_->stop();
}

void HttpServer::wake() {
    impl_->wake();
}

bool HttpServer::reloadTls() {
    return impl_->reloadTls();
}

std::string HttpServer::url() const {
    return impl_->url();
}

}  // namespace hlsd
