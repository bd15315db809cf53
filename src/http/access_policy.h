// The policy every request passes before it is held or routed: CORS (which origins, with or
// without credentials) and access (who, with which permission). Pure functions of the request
// and the gate's answer, apart from the gate's own state.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "auth/access_gate.h"
#include "http/connection_loop.h"
#include "http/request.h"
#include "http/response.h"
#include "http/router.h"

namespace hlsd {

// Access-Control-Allow-Origin from `allowOrigin`: "*" as it is (no credentials: a token URL
// still works from any page), or a list of origins ("https://a.example https://b.example"):
// the request's Origin echoed when listed, with Allow-Credentials (Basic auth from that page).
void setCors(std::string_view allowOrigin, const Request& req, Response& res);

// Permission bits a route needs: none for /healthz (service probes) and the page's scripts (so a
// page opened with ?token= loads them), metrics for /metrics, view for everything else
// (unknown paths too: nothing answers before the check).
unsigned permissionFor(RouteKind kind);

struct AccessResult {
    std::optional<std::variant<Response, Hold>> answer;  // set: this is the answer (401, ...)
    std::string token;        // allowed through ?token=: the playlist's URIs carry it on
    int64_t expiresUnix = 0;  // ...and that token expires then (0: never)
};
AccessResult checkAccess(AccessGate& gate, const Request& req, const Peer& peer, const Route& route,
                         bool mayHold, Response res);

// A body produced over time that ends when a token it was opened with expires (checked each
// time the connection asks it for more: within a picture or a part of the moment).
std::shared_ptr<BodyStream> endingAt(std::shared_ptr<BodyStream> stream, int64_t expiresUnix);

// hlsd_auth_* for /metrics.
std::string renderAccessMetrics(const AccessGate::Stats& s);

// The playlist with `?token=T` (or `&token=T`) on every URI: media lines and URI="..."
// attributes (parts, preload hints, init sections), so a player that keeps no cookies and
// sends no header fetches everything with the URL it was given.
std::string withToken(std::string_view playlist, std::string_view token);

}  // namespace hlsd
