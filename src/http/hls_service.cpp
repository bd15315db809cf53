#include "http/hls_service.h"

#include <cmath>
#include <fstream>
#include <sstream>

#include "hlsd/mjpeg.h"
#include "http/access_policy.h"
#include "http/cacheable.h"
#include "http/live_stream.h"
#include "http/mjpeg_stream.h"

namespace hlsd {
namespace {

// A snapshot is answered at once from a picture made this recently while pictures are being
// made; otherwise it waits for a new one, this long at most.
constexpr auto kCurrentPicture = std::chrono::milliseconds(1000);
constexpr auto kSnapshotWait = std::chrono::milliseconds(5000);

// Names are never reused, so media may be cached for as long as anyone likes.
constexpr const char* kMediaCache = "public, max-age=86400, immutable";
// With users, "public" would let a shared cache give one viewer's media to anyone (RFC 9111
// §3.5): the names are predictable.
constexpr const char* kPrivateMediaCache = "private, max-age=86400, immutable";
constexpr const char* kAllow = "GET, HEAD, OPTIONS";

Response error(Response res, int status, const std::string& text) {
    res.status = status;
    res.set("Cache-Control", "no-store");
    res.setText(text + "\n", "text/plain; charset=utf-8");
    return res;
}

template <typename T>
std::vector<BodyChunk> chunksOf(const std::shared_ptr<const T>& owner, const uint8_t* data,
                                size_t size) {
    return {BodyChunk{owner, data, size}};
}

}  // namespace

std::map<std::string, std::shared_ptr<const Asset>> loadPlayer(const std::string& dir) {
    static const std::pair<const char*, const char*> kFiles[] = {
        {"index.html", "text/html; charset=utf-8"},
        {"player.js", "text/javascript; charset=utf-8"},
        {"mjpeg.js", "text/javascript; charset=utf-8"},
        {"hls.min.js", "text/javascript; charset=utf-8"},
    };
    std::map<std::string, std::shared_ptr<const Asset>> assets;
    for (const auto& [name, type] : kFiles) {
        std::ifstream in(dir + "/" + name, std::ios::binary);
        if (!in) continue;
        std::ostringstream body;
        body << in.rdbuf();
        assets[name] = std::make_shared<const Asset>(Asset{body.str(), type});
    }
    return assets;
}

HlsService::HlsService(const HttpOptions& options, const SegmentStore& store, HttpMetrics& metrics,
                       std::function<std::string()> connectionMetrics)
    : options_(options),
      store_(store),
      metrics_(metrics),
      connectionMetrics_(std::move(connectionMetrics)),
      assets_(loadPlayer(options.playerDir)) {}

std::variant<Response, Hold> HlsService::respond(const Request& req, const Peer& peer,
                                                 bool mayHold) const {
    // Policy: what every request must pass before it is held or routed.
    Response res;
    setCors(options_.allowOrigin, req, res);
    if (req.minorVersion == 1 && !req.hasHeader("host"))
        return error(std::move(res), 400, "Bad Request: HTTP/1.1 needs a Host header");
    if (req.method == "OPTIONS") {  // CORS preflight: browsers send no credentials with it
        res.status = 204;
        res.set("Allow", kAllow);
        res.set("Access-Control-Allow-Methods", kAllow);
        res.set("Access-Control-Allow-Headers", "Range, Authorization");
        res.set("Access-Control-Max-Age", "86400");
        return res;
    }
    if (req.method != "GET" && req.method != "HEAD") {
        res.set("Allow", kAllow);
        return error(std::move(res), 405, "Method Not Allowed");
    }
    const Route r = route(req.path, req.query);
    // Who asks, before anything is held, routed or counted as a viewer.
    std::string token;
    int64_t tokenExpires = 0;
    if (options_.access) {
        AccessResult access = checkAccess(*options_.access, req, peer, r, mayHold, res);
        if (access.answer) return std::move(*access.answer);
        token = std::move(access.token);
        tokenExpires = access.expiresUnix;
    }
    if (mayHold) {
        if (auto hold = holdFor(req, r)) return std::move(*hold);
    }
    switch (r.kind) {
        case RouteKind::Playlist:
            return playlist(req, peer, std::move(res), token);
        case RouteKind::Segment:
            return segment(req, std::move(res), r.name);
        case RouteKind::Part:
            return part(req, std::move(res), r.name);
        case RouteKind::Init:
            return init(req, std::move(res), r.name);
        case RouteKind::Stream:
        case RouteKind::Mjpeg: {
            // A stream lasts for hours: one opened with a token ends when the token does
            // (every other request is checked when it comes).
            Response out = r.kind == RouteKind::Stream ? stream(std::move(res), r.name)
                                                       : mjpeg(req, std::move(res));
            out.stream = endingAt(std::move(out.stream), tokenExpires);
            return out;
        }
        case RouteKind::Snapshot:
            return snapshot(req, std::move(res));
        case RouteKind::Player:
        case RouteKind::Asset:
            return asset(std::move(res), r.name);
        case RouteKind::Healthz:
            return healthz(std::move(res));
        case RouteKind::Metrics:
            return metricsText(std::move(res));
        case RouteKind::NotFound:
            break;
    }
    return error(std::move(res), 404, "Not Found");
}

// How long a blocking request may wait: three target durations (RFC 8216bis §6.2.5.2).
std::chrono::milliseconds HlsService::blockLimit(const StoreSnapshot& snap) const {
    const double td =
        snap.targetDuration > 0 ? snap.targetDuration : std::ceil(options_.segmentTime);
    return std::chrono::milliseconds(std::lround(3000 * td));
}

// A blocking playlist reload or a part request that the store cannot answer yet waits; so does
// a snapshot while no current picture exists (the decoder starts at the newest keyframe).
std::optional<Hold> HlsService::holdFor(const Request& req, const Route& r) const {
    if (r.kind == RouteKind::Snapshot && options_.mjpeg) {
        if (req.method == "HEAD") return std::nullopt;  // the head of the newest: no decoding
        MjpegHub& hub = *options_.mjpeg;
        // Every snapshot keeps pictures coming a while: a dashboard polling snapshots finds
        // them current, not a decoder stopped and started again between its polls.
        hub.want();
        auto f = hub.latest();
        const auto now = std::chrono::steady_clock::now();
        if (f && hub.running() && now - f->madeAt < kCurrentPicture) return std::nullopt;
        return Hold{[&hub, seen = f ? f->seq : 0] {
                        auto n = hub.latest();
                        return n && n->seq > seen;
                    },
                    now + kSnapshotWait};
    }
    if (r.kind != RouteKind::Playlist && r.kind != RouteKind::Part) return std::nullopt;
    auto snap = store_.snapshot();
    if (snap->partTarget <= 0 && !snap->playlist.empty()) return std::nullopt;
    const auto deadline = std::chrono::steady_clock::now() + blockLimit(*snap);
    if (r.kind == RouteKind::Playlist) {
        const ReloadQuery rq = parseReloadQuery(req.query);
        if (rq.valid && !rq.blocking) return holdPlain(req, *snap);
        std::optional<uint64_t> part;
        if (rq.hasPart) part = rq.part;
        if (!rq.valid || !rq.blocking || snap->reload(rq.msn, part) != ReloadState::Pending)
            return std::nullopt;
        return untilReload(rq.msn, part, deadline);
    }
    if (snap->findPart(r.name) || !snap->partPending(r.name)) return std::nullopt;
    return Hold{[this, name = std::string(r.name)] {
                    auto now = store_.snapshot();
                    return now->findPart(name) || !now->partPending(name);
                },
                deadline};
}

// A player without LL-HLS starts three target durations before the end of the newest complete
// segment, so that segment's age when the playlist is sent adds to its latency for good (0 to
// one segment, at random); Video.js with LL-HLS misplaces the live edge while the segment being
// written has parts listed. Answered once that segment completes, the playlist ends with a
// fresh segment and no parts after it: the price is up to one segment more before a player's
// first frame. Not while no part of the open segment exists yet (the newest is that fresh).
std::optional<Hold> HlsService::holdPlain(const Request& req, const StoreSnapshot& snap) const {
    if (!options_.holdPlainPlaylists || req.method != "GET" || snap.ended || snap.window.empty() ||
        !snap.open || snap.open->parts.empty())
        return std::nullopt;
    const auto limit = std::chrono::milliseconds(std::lround(1000 * snap.targetDuration));
    return untilReload(snap.window.back()->msn + 1, std::nullopt,
                       std::chrono::steady_clock::now() + limit);
}

// Held until the store can answer _HLS_msn=msn (&_HLS_part=part), or until `deadline`.
Hold HlsService::untilReload(uint64_t msn, std::optional<uint64_t> part,
                             std::chrono::steady_clock::time_point deadline) const {
    return Hold{
        [this, msn, part] { return store_.snapshot()->reload(msn, part) != ReloadState::Pending; },
        deadline};
}

Response HlsService::playlist(const Request& req, const Peer& peer, Response res,
                              const std::string& token) const {
    auto snap = store_.snapshot();
    const ReloadQuery rq = parseReloadQuery(req.query);
    const bool lowLatency = snap->partTarget > 0;
    if (lowLatency && !rq.valid) {
        return error(std::move(res), 400,
                     "Bad Request: _HLS_msn and _HLS_part take numbers, _HLS_part needs "
                     "_HLS_msn, _HLS_skip takes YES or v2");
    }
    if (lowLatency && rq.blocking) {
        std::optional<uint64_t> part;
        if (rq.hasPart) part = rq.part;
        switch (snap->reload(rq.msn, part)) {
            case ReloadState::TooFar:
                return error(std::move(res), 400,
                             "Bad Request: _HLS_msn " + std::to_string(rq.msn) +
                                 " is more than two segments past the playlist's last");
            case ReloadState::Pending:  // held for three target durations already
                res.set("Retry-After", "1");
                return error(std::move(res), 503,
                             "Service Unavailable: that segment or part was not produced "
                             "within three target durations");
            case ReloadState::Ready:
                break;
        }
    }
    if (snap->playlist.empty()) {
        res.set("Retry-After", "1");
        return error(std::move(res), 503, "Service Unavailable: no segment yet");
    }
    metrics_.sawViewer(peer.ip + ":" + std::to_string(peer.port));
    res.set("Cache-Control", playlistCacheControl(snap->targetDuration, lowLatency && rq.blocking,
                                                  options_.access && !options_.access->open()));
    addVary(res, "Accept-Encoding");
    const bool skip = lowLatency && rq.skip && !snap->playlistSkip.empty();
    const std::string& text = skip ? snap->playlistSkip : snap->playlist;
    res.set("Content-Type", "application/vnd.apple.mpegurl");
    const bool gzip = acceptsGzip(req.header("accept-encoding"));
    if (!token.empty()) {  // a player given a token URL gets it on every URI of the playlist
        res.text = withToken(text, token);
        if (gzip) {
            if (std::string z = gzipped(res.text); !z.empty()) {
                res.text = std::move(z);
                res.set("Content-Encoding", "gzip");
            }
        }
        return res;
    }
    if (gzip) {
        auto forms = gzipPlaylists_.of(snap);
        const std::string& z = skip ? forms->playlistSkip : forms->playlist;
        if (!z.empty()) {
            res.set("Content-Encoding", "gzip");
            res.chunks.push_back({forms, reinterpret_cast<const uint8_t*>(z.data()), z.size()});
            return res;
        }
    }
    // The snapshot owns the rendered text: sent from there, not copied.
    res.chunks.push_back({snap, reinterpret_cast<const uint8_t*>(text.data()), text.size()});
    return res;
}

Response HlsService::media(const Request& req, Response res, std::string_view name,
                           std::vector<BodyChunk> chunks) const {
    size_t size = 0;
    for (const BodyChunk& c : chunks) size += c.size;
    ByteRange range{0, size};
    switch (parseRange(req.header("range"), size, range)) {
        case RangeResult::Unsatisfiable:
            res.set("Content-Range", "bytes */" + std::to_string(size));
            return error(std::move(res), 416, "Range Not Satisfiable");
        case RangeResult::Partial:
            res.status = 206;
            res.set("Content-Range", "bytes " + std::to_string(range.offset) + "-" +
                                         std::to_string(range.offset + range.length - 1) + "/" +
                                         std::to_string(size));
            chunks = sliceChunks(chunks, range.offset, range.length);
            break;
        case RangeResult::Whole:
            break;
    }
    res.set("Content-Type", mediaType(name));
    res.set("Cache-Control",
            options_.access && !options_.access->open() ? kPrivateMediaCache : kMediaCache);
    res.set("Accept-Ranges", "bytes");
    res.chunks = std::move(chunks);
    return res;
}

Response HlsService::segment(const Request& req, Response res, std::string_view name) const {
    std::shared_ptr<const Segment> seg = store_.snapshot()->find(name);
    if (!seg) return error(std::move(res), 404, "Not Found: segment not in the window");
    std::vector<BodyChunk> chunks;  // a segment is its parts, one after another
    for (const auto& p : seg->parts) chunks.push_back(partChunk(p));
    return media(req, std::move(res), name, std::move(chunks));
}

Response HlsService::part(const Request& req, Response res, std::string_view name) const {
    auto snap = store_.snapshot();
    std::shared_ptr<const Part> p = snap->findPart(name);
    if (!p) {
        if (!snap->partPending(name))
            return error(std::move(res), 404, "Not Found: part not in the window");
        res.set("Retry-After", "1");
        return error(std::move(res), 503,
                     "Service Unavailable: part not produced within three target durations");
    }
    return media(req, std::move(res), name, {partChunk(p)});
}

Response HlsService::init(const Request& req, Response res, std::string_view name) const {
    std::shared_ptr<const InitSection> i = store_.snapshot()->findInit(name);
    if (!i) return error(std::move(res), 404, "Not Found: init section not in the window");
    return media(req, std::move(res), name, chunksOf(i, i->data.data(), i->data.size()));
}

Response HlsService::stream(Response res, std::string_view name) const {
    const char* own = options_.container == Container::Fmp4 ? "stream.mp4" : "stream.ts";
    if (name != own)
        return error(std::move(res), 404,
                     std::string("Not Found: this stream's container gives /live/") + own);
    if (store_.snapshot()->ended) return error(std::move(res), 404, "Not Found: the stream ended");
    res.set("Content-Type", mediaType(name));
    res.set("Cache-Control", "no-store");
    res.stream = std::make_shared<LiveStream>(store_);
    return res;
}

Response HlsService::mjpeg(const Request& req, Response res) const {
    if (!options_.mjpeg) return error(std::move(res), 404, "Not Found: MJPEG is off");
    res.set("Content-Type", std::string("multipart/x-mixed-replace; boundary=") + kMjpegBoundary);
    res.set("Cache-Control", "no-store");
    res.stream = std::make_shared<MjpegStream>(*options_.mjpeg, fpsParameter(req.query));
    return res;
}

Response HlsService::snapshot(const Request& req, Response res) const {
    if (!options_.mjpeg) return error(std::move(res), 404, "Not Found: MJPEG is off");
    auto f = options_.mjpeg->latest();
    // Held until a picture came, or kSnapshotWait: none, or an old one, means the source is
    // down (a stale picture would pass for the camera's view). HEAD: the newest one's head.
    const bool stale =
        f && std::chrono::steady_clock::now() - f->madeAt > kSnapshotWait + kCurrentPicture;
    if (!f || (stale && req.method != "HEAD")) {
        res.set("Retry-After", "1");
        return error(std::move(res), 503,
                     "Service Unavailable: no picture from the source yet (is it running?)");
    }
    res.set("Content-Type", "image/jpeg");
    res.set("Cache-Control", "no-store");
    res.set("X-Timestamp", f->timestamp);
    res.chunks = chunksOf(f, f->data.data(), f->data.size());
    return res;
}

Response HlsService::asset(Response res, std::string_view name) const {
    auto it = assets_.find(std::string(name));
    if (it == assets_.end()) {
        return error(std::move(res), 503,
                     "player page not installed (player_dir " + options_.playerDir + ")");
    }
    const auto& a = it->second;
    res.set("Cache-Control", "no-cache");
    res.set("Content-Type", a->type);
    res.chunks = chunksOf(a, reinterpret_cast<const uint8_t*>(a->body.data()), a->body.size());
    return res;
}

PipelineHealth HlsService::pipelineHealth() const {
    return options_.health ? options_.health() : PipelineHealth{};
}

Response HlsService::healthz(Response res) const {
    const HealthVerdict v =
        healthVerdict(*store_.snapshot(), pipelineHealth(), std::chrono::steady_clock::now());
    if (v.status != 200) return error(std::move(res), v.status, v.text);
    res.set("Cache-Control", "no-store");
    res.setText(v.text + "\n", "text/plain; charset=utf-8");
    return res;
}

Response HlsService::metricsText(Response res) const {
    res.set("Cache-Control", "no-store");
    res.setText(metrics_.render(*store_.snapshot()) + connectionMetrics_() +
                    renderPipelineMetrics(pipelineHealth()) +
                    (options_.mjpeg ? renderMjpegMetrics(options_.mjpeg->stats()) : "") +
                    (options_.access && !options_.access->open()
                         ? renderAccessMetrics(options_.access->stats())
                         : ""),
                "text/plain; version=0.0.4");
    return res;
}

}  // namespace hlsd
