#include "http/access_policy.h"

#include <ctime>
#include <memory>

#include "http/metrics.h"

namespace hlsd {
namespace {

Response refuse(Response res, int status, const std::string& text) {
    res.status = status;
    res.set("Cache-Control", "no-store");
    res.setText(text + "\n", "text/plain; charset=utf-8");
    return res;
}

std::string appendToken(std::string_view uri, std::string_view token) {
    std::string out(uri);
    out += uri.find('?') == std::string_view::npos ? "?token=" : "&token=";
    out += token;
    return out;
}

}  // namespace

void setCors(std::string_view allowOrigin, const Request& req, Response& res) {
    if (allowOrigin.empty()) return;
    // hls.js reads Age (how long an edge kept a playlist) to place its first blocking reload.
    if (allowOrigin == "*") {
        res.set("Access-Control-Allow-Origin", "*");
        res.set("Access-Control-Expose-Headers", "Age");
        return;
    }
    res.set("Vary", "Origin");
    const std::string_view origin = req.header("origin");
    if (origin.empty()) return;
    size_t at = 0;
    while (at < allowOrigin.size()) {
        const size_t end = allowOrigin.find_first_of(" ,", at);
        const std::string_view listed = allowOrigin.substr(at, end - at);
        if (!listed.empty() && listed == origin) {
            res.set("Access-Control-Allow-Origin", std::string(origin));
            res.set("Access-Control-Allow-Credentials", "true");
            res.set("Access-Control-Expose-Headers", "Age");
            return;
        }
        if (end == std::string_view::npos) break;
        at = end + 1;
    }
}

unsigned permissionFor(RouteKind kind) {
    switch (kind) {
        case RouteKind::Healthz:  // service probes
        case RouteKind::Asset:    // player.js, mjpeg.js, hls.min.js: public code, no camera in it
            return 0;
        case RouteKind::Metrics:
            return kMetrics;
        default:
            return kView;
    }
}

AccessResult checkAccess(AccessGate& gate, const Request& req, const Peer& peer, const Route& route,
                         bool mayHold, Response res) {
    AccessResult out;
    if (gate.open()) return out;
    const unsigned needed = permissionFor(route.kind);
    AccessGate::Decision d =
        gate.decide(req.header("authorization"), queryValue(req.query, "token"), peer.ip, needed);
    switch (d.kind) {
        case AccessGate::Decision::Allow:
            out.token = std::move(d.token);
            out.expiresUnix = d.expiresUnix;
            return out;
        case AccessGate::Decision::Checking:
            if (mayHold) {
                out.answer = Hold{std::move(d.ready), d.until, true};
            } else {
                res.set("Retry-After", "1");
                out.answer = refuse(std::move(res), 503,
                                    "Service Unavailable: the password check took too long");
            }
            return out;
        case AccessGate::Decision::Unauthenticated:
            res.set("WWW-Authenticate", "Basic realm=\"hlsd\", charset=\"UTF-8\"");
            out.answer = refuse(std::move(res), 401, "Unauthorized: " + d.why);
            return out;
        case AccessGate::Decision::Forbidden:
            out.answer = refuse(std::move(res), 403, "Forbidden: " + d.why);
            return out;
        case AccessGate::Decision::Busy:
            res.set("Retry-After", std::to_string(d.retryAfter));
            out.answer = refuse(std::move(res), 503,
                                "Service Unavailable: too many logins being checked from " +
                                    peer.ip + "; try again");
            return out;
        case AccessGate::Decision::TooMany:
            res.set("Retry-After", std::to_string(d.retryAfter));
            out.answer = refuse(std::move(res), 429,
                                "Too Many Requests: too many failed logins from " + peer.ip +
                                    "; a new password or token is checked again in " +
                                    std::to_string(d.retryAfter) + " s");
            return out;
    }
    return out;
}

namespace {

class EndingStream final : public BodyStream {
public:
    EndingStream(std::shared_ptr<BodyStream> inner, int64_t expiresUnix)
        : inner_(std::move(inner)), expires_(expiresUnix) {}
    Status next(std::vector<BodyChunk>& out) override {
        if (std::time(nullptr) >= expires_) return Status::End;
        return inner_->next(out);
    }

private:
    std::shared_ptr<BodyStream> inner_;
    int64_t expires_;
};

}  // namespace

std::shared_ptr<BodyStream> endingAt(std::shared_ptr<BodyStream> stream, int64_t expiresUnix) {
    if (!stream || expiresUnix <= 0) return stream;
    return std::make_shared<EndingStream>(std::move(stream), expiresUnix);
}

std::string renderAccessMetrics(const AccessGate::Stats& s) {
    std::string out;
    appendMetric(out, "hlsd_auth_unauthenticated_total", "counter",
                 "requests answered 401 (no, wrong or malformed credentials or token)",
                 static_cast<int64_t>(s.unauthenticated));
    appendMetric(out, "hlsd_auth_forbidden_total", "counter",
                 "requests answered 403 (a user without the permission the route needs)",
                 static_cast<int64_t>(s.forbidden));
    appendMetric(out, "hlsd_auth_limited_total", "counter",
                 "requests answered 429 (a new password or token from an address with too many "
                 "failed logins)",
                 static_cast<int64_t>(s.limited));
    appendMetric(out, "hlsd_auth_password_checks_total", "counter",
                 "crypt(3) password checks made (each credential is remembered a while)",
                 static_cast<int64_t>(s.checks));
    return out;
}

std::string withToken(std::string_view playlist, std::string_view token) {
    std::string out;
    out.reserve(playlist.size() + playlist.size() / 4);
    size_t at = 0;
    while (at < playlist.size()) {
        size_t end = playlist.find('\n', at);
        if (end == std::string_view::npos) end = playlist.size();
        std::string_view line = playlist.substr(at, end - at);
        const bool cr = !line.empty() && line.back() == '\r';
        if (cr) line.remove_suffix(1);
        if (!line.empty() && line.front() != '#') {
            out += appendToken(line, token);
        } else {
            // URI="..." attributes (EXT-X-PART, EXT-X-PRELOAD-HINT, EXT-X-MAP, ...).
            size_t from = 0;
            for (size_t u; (u = line.find("URI=\"", from)) != std::string_view::npos;) {
                const size_t open = u + 5;
                const size_t close = line.find('"', open);
                if (close == std::string_view::npos) break;
                out.append(line.substr(from, open - from));
                out += appendToken(line.substr(open, close - open), token);
                from = close;
            }
            out.append(line.substr(from));
        }
        if (cr) out += '\r';
        if (end < playlist.size()) out += '\n';
        at = end + 1;
    }
    return out;
}

}  // namespace hlsd
