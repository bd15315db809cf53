// What hlsd answers, as functions of a request and the store's snapshot: policy (Host, CORS,
// methods), then the LL-HLS hold decision, then the route's response. No socket here; the
// connection loop calls respond() for each request head, on its thread.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>

#include "hlsd/http.h"
#include "hlsd/store.h"
#include "http/cacheable.h"
#include "http/connection_loop.h"
#include "http/metrics.h"
#include "http/request.h"
#include "http/response.h"
#include "http/router.h"

namespace hlsd {

// The player page's files, read once at start.
struct Asset {
    std::string body;
    std::string type;
};
std::map<std::string, std::shared_ptr<const Asset>> loadPlayer(const std::string& dir);

// Thread-safe for respond() (it reads the store's atomic snapshot); the connection-level
// figures for /metrics come from `connectionMetrics`.
class HlsService {
public:
    HlsService(const HttpOptions& options, const SegmentStore& store, HttpMetrics& metrics,
               std::function<std::string()> connectionMetrics);

    std::variant<Response, Hold> respond(const Request& req, const Peer& peer, bool mayHold) const;
    bool hasPlayer() const { return assets_.count("index.html") && assets_.count("hls.min.js"); }

private:
    std::optional<Hold> holdFor(const Request& req, const Route& r) const;
    std::optional<Hold> holdPlain(const Request& req, const StoreSnapshot& snap) const;
    Hold untilReload(uint64_t msn, std::optional<uint64_t> part,
                     std::chrono::steady_clock::time_point deadline) const;
    Response playlist(const Request& req, const Peer& peer, Response res,
                      const std::string& token) const;
    Response media(const Request& req, Response res, std::string_view name,
                   std::vector<BodyChunk> chunks) const;
    Response segment(const Request& req, Response res, std::string_view name) const;
    Response part(const Request& req, Response res, std::string_view name) const;
    Response init(const Request& req, Response res, std::string_view name) const;
    Response stream(Response res, std::string_view name) const;
    Response mjpeg(const Request& req, Response res) const;
    Response snapshot(const Request& req, Response res) const;
    Response asset(Response res, std::string_view name) const;
    Response healthz(Response res) const;
    Response metricsText(Response res) const;
    PipelineHealth pipelineHealth() const;
    std::chrono::milliseconds blockLimit(const StoreSnapshot& snap) const;

    const HttpOptions& options_;
    const SegmentStore& store_;
    HttpMetrics& metrics_;
    std::function<std::string()> connectionMetrics_;
    std::map<std::string, std::shared_ptr<const Asset>> assets_;
    GzipPlaylists gzipPlaylists_;
};

}  // namespace hlsd
