#include <netdb.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include <httplib.h>

#include "hlsd/http.h"
#include "hlsd/log.h"
#include "http/metrics.h"
#include "http/parking_server.h"
#include "http/router.h"

namespace hlsd {
namespace {

constexpr int kListenBacklog = 4096;  // httplib compiles in 5: bursts of viewers overflow it

struct Asset {
    std::string body;
    std::string type;
};

std::map<std::string, Asset> loadPlayer(const std::string& dir) {
    static const std::pair<const char*, const char*> kFiles[] = {
        {"index.html", "text/html; charset=utf-8"},
        {"player.js", "text/javascript; charset=utf-8"},
        {"hls.min.js", "text/javascript; charset=utf-8"},
    };
    std::map<std::string, Asset> assets;
    for (const auto& [name, type] : kFiles) {
        std::ifstream in(dir + "/" + name, std::ios::binary);
        if (!in) continue;
        std::ostringstream body;
        body << in.rdbuf();
        assets[name] = {body.str(), type};
    }
    return assets;
}

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

bool isWildcard(const std::string& host) {
    return host == "0.0.0.0" || host == "::" || host.empty();
}

}  // namespace

class HttpServer::Impl {
public:
    Impl(HttpOptions options, const SegmentStore& store)
        : options_(std::move(options)),
          store_(store),
          assets_(loadPlayer(options_.playerDir)),
          server_(limitsOf(options_)) {
        // Names are never reused, so a segment may be cached for as long as anyone likes.
        segmentCache_ = "public, max-age=86400, immutable";
        server_.set_tcp_nodelay(true);
        server_.set_read_timeout(options_.timeout, 0);
        server_.set_write_timeout(options_.timeout, 0);
        server_.set_payload_max_length(64 * 1024);
        server_.set_socket_options([this](socket_t fd) {
            // Not httplib's default: SO_REUSEPORT would let a second hlsd share the port
            // silently instead of failing to start.
            int yes = 1;
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
            listenFd_ = fd;
        });
        server_.set_pre_routing_handler(
            [this](const httplib::Request& req, httplib::Response& res) {
                handle(req, res);
                return httplib::Server::HandlerResponse::Handled;
            });
        server_.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
            account(req, res);
        });
        server_.setHoldPolicy([this](std::string_view line) { return holdFor(line); });
    }

    void wake() { server_.wake(); }

    ~Impl() { stop(); }

    int start() {
        auto log = logger("http");
        if (assets_.count("index.html") == 0 || assets_.count("hls.min.js") == 0) {
            log->warn(
                "player page not found in {} (player_dir): / answers 503; the stream is "
                "served all the same",
                options_.playerDir);
        }
        ensureFileLimit(options_.maxClients);
        errno = 0;
        int port = options_.port;
        if (port == 0) {
            port = server_.bind_to_any_port(options_.host);
        } else if (!server_.bind_to_port(options_.host, port)) {
            port = -1;
        }
        if (port < 0) {
            int err = errno;
            throw std::runtime_error("cannot listen on " + options_.host + ":" +
                                     std::to_string(options_.port) + ": " +
                                     (err ? std::strerror(err) : "address not usable"));
        }
        port_ = port;
        ::listen(listenFd_, kListenBacklog);
        server_.startWorkers();
        thread_ = std::thread([this] {
            server_.listen_after_bind();
            listenReturned_ = true;
        });
        log->info("serving on {} (player), playlist {}live/index.m3u8", url(), url());
        return port_;
    }

    void stop() {
        if (!thread_.joinable()) return;
        // httplib 0.11's stop() does nothing until the listen thread has started listening:
        // stopping before that (a source that fails at once) would leave it in accept() forever.
        while (!server_.is_running() && !listenReturned_) {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        server_.stop();  // closes the listening socket: no new connections
        thread_.join();
        // Idle connections are closed; responses being written finish.
        server_.stopWorkers();
    }

    std::string url() const {
        std::string host = options_.host;
        if (isWildcard(host)) {
            char name[256] = {};
            host = gethostname(name, sizeof name - 1) == 0 && name[0] ? name : "localhost";
        }
        if (host.find(':') != std::string::npos) host = "[" + host + "]";
        return "http://" + host + ":" + std::to_string(port_) + "/";
    }

private:
    void handle(const httplib::Request& req, httplib::Response& res) {
        // We answer Range ourselves (segments only, 206/416); keep httplib from re-applying it.
        const_cast<httplib::Request&>(req).ranges.clear();
        if (!options_.allowOrigin.empty()) {
            res.set_header("Access-Control-Allow-Origin", options_.allowOrigin);
        }
        if (req.version == "HTTP/1.1" && !req.has_header("Host")) {
            return error(res, 400, "Bad Request: HTTP/1.1 needs a Host header");
        }
        if (req.method == "OPTIONS") {  // CORS preflight
            res.status = 204;
            res.set_header("Allow", "GET, HEAD, OPTIONS");
            res.set_header("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS");
            res.set_header("Access-Control-Allow-Headers", "Range");
            res.set_header("Access-Control-Max-Age", "86400");
            return;
        }
        if (req.method != "GET" && req.method != "HEAD") {
            res.set_header("Allow", "GET, HEAD, OPTIONS");
            return error(res, 405, "Method Not Allowed");
        }
        const Route r = route(req.path);
        switch (r.kind) {
            case RouteKind::Playlist:
                return playlist(req, res);
            case RouteKind::Segment:
                return segment(req, res, r.name);
            case RouteKind::Part:
                return part(req, res, r.name);
            case RouteKind::Init:
                return init(req, res, r.name);
            case RouteKind::Player:
            case RouteKind::Asset:
                return asset(res, r.name);
            case RouteKind::Healthz:
                return healthz(res);
            case RouteKind::Metrics:
                res.set_header("Cache-Control", "no-store");
                res.set_content(metrics_.render(*store_.snapshot()) + connectionMetrics(),
                                "text/plain; version=0.0.4");
                return;
            case RouteKind::NotFound:
                return error(res, 404, "Not Found");
        }
    }

    std::string connectionMetrics() const {
        const ParkingServer::Stats s = server_.stats();
        std::string out;
        auto metric = [&out](const char* name, const char* type, const char* help, auto value) {
            appendMetricHeader(out, name, type, help);
            out.append(name).append(" ").append(std::to_string(value)).append("\n");
        };
        metric("hlsd_http_connections_open", "gauge", "HTTP connections open", s.open);
        metric("hlsd_http_connections_idle", "gauge",
               "open HTTP connections waiting for a request (no worker held)", s.parked - s.held);
        metric("hlsd_http_requests_waiting", "gauge",
               "LL-HLS requests held until their part exists (blocking reload, preload hint)",
               s.held);
        metric("hlsd_http_connections_rejected_total", "counter",
               "connections refused with 503 at max_clients", s.rejected);
        metric("hlsd_http_header_timeouts_total", "counter",
               "requests whose head did not arrive within header_timeout (408)", s.headerTimeouts);
        metric("hlsd_http_requests_too_large_total", "counter",
               "request heads over max_request_size (431)", s.tooLarge);
        return out;
    }

    static void error(httplib::Response& res, int status, const std::string& text) {
        res.status = status;
        res.set_header("Cache-Control", "no-store");
        res.set_content(text + "\n", "text/plain; charset=utf-8");
    }

    // How long a blocking request may wait: three target durations (RFC 8216bis §6.2.5.2).
    std::chrono::milliseconds blockLimit(const StoreSnapshot& snap) const {
        const double td =
            snap.targetDuration > 0 ? snap.targetDuration : std::ceil(options_.segmentTime);
        return std::chrono::milliseconds(std::lround(3000 * td));
    }

    // Runs for each complete request head (event thread or worker): a blocking playlist reload
    // or a part request that the store cannot answer yet waits, without a worker.
    std::optional<ParkingServer::Hold> holdFor(std::string_view line) const {
        const auto sp = line.find(' ');
        if (sp == std::string_view::npos) return std::nullopt;
        const std::string_view method = line.substr(0, sp);
        if (method != "GET" && method != "HEAD") return std::nullopt;
        std::string_view target = line.substr(sp + 1);
        target = target.substr(0, target.find(' '));
        const auto q = target.find('?');
        const Route r = route(target.substr(0, q));
        auto snap = store_.snapshot();
        if (snap->partTarget <= 0 && !snap->playlist.empty()) return std::nullopt;
        const auto deadline = std::chrono::steady_clock::now() + blockLimit(*snap);
        if (r.kind == RouteKind::Playlist && q != std::string_view::npos) {
            const ReloadQuery rq = parseReloadQuery(target.substr(q + 1));
            std::optional<uint64_t> part;
            if (rq.hasPart) part = rq.part;
            if (!rq.valid || !rq.blocking || snap->reload(rq.msn, part) != ReloadState::Pending)
                return std::nullopt;
            return ParkingServer::Hold{[this, msn = rq.msn, part] {
                                           return store_.snapshot()->reload(msn, part) !=
                                                  ReloadState::Pending;
                                       },
                                       deadline};
        }
        if (r.kind == RouteKind::Part) {
            if (snap->findPart(r.name) || !snap->partPending(r.name)) return std::nullopt;
            return ParkingServer::Hold{[this, name = std::string(r.name)] {
                                           auto now = store_.snapshot();
                                           return now->findPart(name) || !now->partPending(name);
                                       },
                                       deadline};
        }
        return std::nullopt;
    }

    void playlist(const httplib::Request& req, httplib::Response& res) {
        auto snap = store_.snapshot();
        const auto q = req.target.find('?');
        const ReloadQuery rq =
            parseReloadQuery(q == std::string::npos ? std::string_view{}
                                                    : std::string_view(req.target).substr(q + 1));
        const bool lowLatency = snap->partTarget > 0;
        if (lowLatency && !rq.valid) {
            return error(res, 400,
                         "Bad Request: _HLS_msn and _HLS_part take numbers, _HLS_part needs "
                         "_HLS_msn, _HLS_skip takes YES or v2");
        }
        if (lowLatency && rq.blocking) {
            std::optional<uint64_t> part;
            if (rq.hasPart) part = rq.part;
            switch (snap->reload(rq.msn, part)) {
                case ReloadState::TooFar:
                    return error(res, 400,
                                 "Bad Request: _HLS_msn " + std::to_string(rq.msn) +
                                     " is more than two segments past the playlist's last");
                case ReloadState::Pending:  // held for three target durations already
                    res.set_header("Retry-After", "1");
                    return error(res, 503,
                                 "Service Unavailable: that segment or part was not produced "
                                 "within three target durations");
                case ReloadState::Ready:
                    break;
            }
        }
        if (snap->playlist.empty()) {
            res.set_header("Retry-After", "1");
            return error(res, 503, "Service Unavailable: no segment yet");
        }
        metrics_.sawViewer(req.remote_addr + ":" + std::to_string(req.remote_port));
        res.set_header("Cache-Control", "no-cache");
        const bool skip = lowLatency && rq.skip && !snap->playlistSkip.empty();
        res.set_content(skip ? snap->playlistSkip : snap->playlist,
                        "application/vnd.apple.mpegurl");
    }

    // Bytes in pieces (a segment's parts), kept alive by `owner` until the response is written,
    // even if the segment rotates out of the window meanwhile.
    struct Span {
        const uint8_t* data;
        size_t size;
    };
    void media(const httplib::Request& req, httplib::Response& res, std::string_view name,
               std::shared_ptr<const void> owner, std::vector<Span> spans) {
        size_t size = 0;
        for (const Span& s : spans) size += s.size;
        ByteRange range{0, size};
        switch (parseRange(req.get_header_value("Range"), size, range)) {
            case RangeResult::Unsatisfiable:
                res.set_header("Content-Range", "bytes */" + std::to_string(size));
                return error(res, 416, "Range Not Satisfiable");
            case RangeResult::Partial:
                res.status = 206;
                res.set_header("Content-Range",
                               "bytes " + std::to_string(range.offset) + "-" +
                                   std::to_string(range.offset + range.length - 1) + "/" +
                                   std::to_string(size));
                break;
            case RangeResult::Whole:
                res.status = 200;
                break;
        }
        res.set_header("Cache-Control", segmentCache_);
        res.set_header("Accept-Ranges", "bytes");
        res.set_content_provider(
            range.length, mediaType(name),
            [owner = std::move(owner), spans = std::move(spans), base = range.offset](
                size_t offset, size_t length, httplib::DataSink& sink) {
                size_t at = base + offset;  // write from the span holding byte `at`
                for (const Span& s : spans) {
                    if (at >= s.size) {
                        at -= s.size;
                        continue;
                    }
                    return sink.write(reinterpret_cast<const char*>(s.data) + at,
                                      std::min(length, s.size - at));
                }
                return false;
            });
    }

    void segment(const httplib::Request& req, httplib::Response& res, std::string_view name) {
        std::shared_ptr<const Segment> seg = store_.snapshot()->find(name);
        if (!seg) return error(res, 404, "Not Found: segment not in the window");
        std::vector<Span> spans;
        for (const auto& p : seg->parts) spans.push_back({p->data.data(), p->data.size()});
        media(req, res, name, seg, std::move(spans));
    }

    void part(const httplib::Request& req, httplib::Response& res, std::string_view name) {
        auto snap = store_.snapshot();
        std::shared_ptr<const Part> p = snap->findPart(name);
        if (!p) {
            if (!snap->partPending(name))
                return error(res, 404, "Not Found: part not in the window");
            res.set_header("Retry-After", "1");
            return error(res, 503,
                         "Service Unavailable: part not produced within three target durations");
        }
        media(req, res, name, p, {{p->data.data(), p->data.size()}});
    }

    void init(const httplib::Request& req, httplib::Response& res, std::string_view name) {
        std::shared_ptr<const InitSection> i = store_.snapshot()->findInit(name);
        if (!i) return error(res, 404, "Not Found: init section not in the window");
        media(req, res, name, i, {{i->data.data(), i->data.size()}});
    }

    void asset(httplib::Response& res, std::string_view name) {
        auto it = assets_.find(std::string(name));
        if (it == assets_.end()) {
            return error(res, 503,
                         "player page not installed (player_dir " + options_.playerDir + ")");
        }
        res.set_header("Cache-Control", "no-cache");
        res.set_content(it->second.body, it->second.type);
    }

    void healthz(httplib::Response& res) {
        auto snap = store_.snapshot();
        res.set_header("Cache-Control", "no-store");
        if (snap->window.empty()) return error(res, 503, "starting: no segment yet");
        double age =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - snap->lastPublished)
                .count();
        const double limit = std::max(5.0, 3.0 * snap->targetDuration);
        if (age > limit) {
            char text[96];
            std::snprintf(text, sizeof text, "stale: last segment %.1f s ago", age);
            return error(res, 503, text);
        }
        res.set_content("ok\n", "text/plain; charset=utf-8");
    }

    void account(const httplib::Request& req, const httplib::Response& res) {
        uint64_t bytes = 0;
        if (req.method != "HEAD")
            bytes = res.content_provider_ ? res.content_length_ : res.body.size();
        const Route r = route(req.path);
        metrics_.count(r.kind, res.status, bytes);
        logger("http")->debug("{} {} {} {} {} bytes", req.remote_addr, req.method, req.path,
                              res.status, bytes);
    }

    static ServerLimits limitsOf(const HttpOptions& o) {
        ServerLimits limits;
        limits.maxConnections = o.maxClients;
        limits.threads = o.threads;
        limits.maxRequestSize = o.maxRequestSize;
        limits.idleMs = o.timeout * 1000;
        limits.ioMs = o.timeout * 1000;
        limits.headerMs = o.headerTimeout * 1000;
        return limits;
    }

    HttpOptions options_;
    const SegmentStore& store_;
    std::map<std::string, Asset> assets_;
    std::string segmentCache_;
    HttpMetrics metrics_;
    ParkingServer server_;
    socket_t listenFd_ = -1;
    int port_ = 0;
    std::thread thread_;
    std::atomic<bool> listenReturned_{false};
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

std::string HttpServer::url() const {
    return impl_->url();
}

}  // namespace hlsd
