#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

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
#include "http/blocking_server.h"
#include "http/metrics.h"
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

bool isWildcard(const std::string& host) {
    return host == "0.0.0.0" || host == "::" || host.empty();
}

}  // namespace

class HttpServer::Impl {
public:
    Impl(HttpOptions options, const SegmentStore& store)
        : options_(std::move(options)), store_(store), assets_(loadPlayer(options_.playerDir)) {
        // Names are never reused, so a segment may be cached for as long as anyone likes.
        segmentCache_ = "public, max-age=86400, immutable";
        // The pool is made in start() (so a failure is reported there); httplib takes ownership.
        server_.new_task_queue = [this] { return pool_.release(); };
        server_.set_tcp_nodelay(true);
        server_.set_keep_alive_max_count(100000);
        server_.set_keep_alive_timeout(options_.timeout);
        server_.setTimeouts(options_.timeout, options_.timeout, options_.timeout);
        server_.setMaxRequestsPerConnection(100000);
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
    }

    ~Impl() {
        stop();
        if (pool_) pool_->shutdown();  // never handed to httplib: its threads must still end
    }

    int start() {
        auto log = logger("http");
        if (assets_.count("index.html") == 0 || assets_.count("hls.min.js") == 0) {
            log->warn(
                "player page not found in {} (player_dir): / answers 503; the stream is "
                "served all the same",
                options_.playerDir);
        }
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
        pool_ = makePool(options_.maxClients);
        thread_ = std::thread([this] { server_.listen_after_bind(); });
        log->info("serving on {} (player), playlist {}live/index.m3u8", url(), url());
        return port_;
    }

    void stop() {
        if (!thread_.joinable()) return;
        server_.stop();
        // httplib's workers wait up to the keep-alive timeout for an idle client's next request
        // before they see the stop. Half-closing our connections' read side wakes them at once
        // (they read end-of-file), while responses being written still go out whole.
        closeReadSides();
        thread_.join();
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
    // Every connected TCP socket of this process whose local port is ours: our clients.
    void closeReadSides() {
        std::error_code ec;
        for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
            int fd = -1;
            const std::string name = entry.path().filename().string();
            if (std::from_chars(name.data(), name.data() + name.size(), fd).ec != std::errc()) {
                continue;
            }
            sockaddr_storage local{}, peer{};
            socklen_t localLen = sizeof local, peerLen = sizeof peer;
            if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &localLen) != 0 ||
                getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peerLen) != 0) {
                continue;
            }
            int localPort = 0;
            if (local.ss_family == AF_INET) {
                localPort = ntohs(reinterpret_cast<sockaddr_in*>(&local)->sin_port);
            } else if (local.ss_family == AF_INET6) {
                localPort = ntohs(reinterpret_cast<sockaddr_in6*>(&local)->sin6_port);
            }
            if (localPort == port_) ::shutdown(fd, SHUT_RD);
        }
    }

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
            case RouteKind::Player:
            case RouteKind::Asset:
                return asset(res, r.name);
            case RouteKind::Healthz:
                return healthz(res);
            case RouteKind::Metrics:
                res.set_header("Cache-Control", "no-store");
                res.set_content(metrics_.render(*store_.snapshot()), "text/plain; version=0.0.4");
                return;
            case RouteKind::NotFound:
                return error(res, 404, "Not Found");
        }
    }

    static void error(httplib::Response& res, int status, const std::string& text) {
        res.status = status;
        res.set_header("Cache-Control", "no-store");
        res.set_content(text + "\n", "text/plain; charset=utf-8");
    }

    void playlist(const httplib::Request& req, httplib::Response& res) {
        auto snap = store_.snapshot();
        if (snap->playlist.empty()) {
            res.set_header("Retry-After", "1");
            return error(res, 503, "Service Unavailable: no segment yet");
        }
        metrics_.sawViewer(req.remote_addr + ":" + std::to_string(req.remote_port));
        res.set_header("Cache-Control", "no-cache");
        res.set_content(snap->playlist, "application/vnd.apple.mpegurl");
    }

    void segment(const httplib::Request& req, httplib::Response& res, std::string_view name) {
        std::shared_ptr<const Segment> seg = store_.snapshot()->find(name);
        if (!seg) return error(res, 404, "Not Found: segment not in the window");
        const size_t size = seg->data.size();
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
        // The shared_ptr keeps the bytes alive even if the segment rotates out mid-transfer.
        res.set_content_provider(
            range.length, "video/mp2t",
            [seg, base = range.offset](size_t offset, size_t length, httplib::DataSink& sink) {
                return sink.write(reinterpret_cast<const char*>(seg->data.data()) + base + offset,
                                  length);
            });
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

    // One worker per connection served at once. Each keeps glibc's default stack (RLIMIT_STACK,
    // 8 MiB of address space): httplib 0.11 parses Range headers with std::regex, whose
    // recursion overflows 4 MiB on an 8 KiB header. A 32-bit process cannot reserve 512 of them.
    static std::unique_ptr<httplib::ThreadPool> makePool(int threads) {
        constexpr int k32BitLimit = 192;
        if (sizeof(void*) == 4 && threads > k32BitLimit) {
            logger("http")->warn(
                "max_clients {} capped at {} on this 32-bit system (each worker "
                "reserves 8 MiB of address space)",
                threads, k32BitLimit);
            threads = k32BitLimit;
        }
        return std::make_unique<httplib::ThreadPool>(static_cast<size_t>(threads));
    }

    HttpOptions options_;
    std::unique_ptr<httplib::ThreadPool> pool_;
    const SegmentStore& store_;
    std::map<std::string, Asset> assets_;
    std::string segmentCache_;
    HttpMetrics metrics_;
    BlockingServer server_;
    socket_t listenFd_ = -1;
    int port_ = 0;
    std::thread thread_;
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

std::string HttpServer::url() const {
    return impl_->url();
}

}  // namespace hlsd
