// Who a request is from when it comes through a proxy or a caching edge: the address the edge
// saw (X-Forwarded-For), believed only from the addresses listed in `trusted_proxies`. Access
// control's lockouts, the request log and /metrics then count viewers, not the edge.
#pragma once

#include <netinet/in.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hlsd {

class TrustedProxies {
public:
    // "127.0.0.1 10.0.0.0/8, ::1 fd00::/8": addresses and networks, space or comma separated.
    // nullopt, with `error` naming the bad entry, when one is neither.
    static std::optional<TrustedProxies> parse(std::string_view list, std::string* error = nullptr);

    bool empty() const { return networks_.empty(); }
    bool contains(std::string_view ip) const;  // an IPv4-mapped IPv6 address counts as IPv4
    // The client of a request that `peer` sent with `forwardedFor` (X-Forwarded-For, empty if
    // none): the peer itself unless it is trusted; else the rightmost address of the header
    // that is not a trusted proxy (each proxy appends the address it saw); the peer if the
    // header is missing or malformed.
    std::string clientOf(const std::string& peer, std::string_view forwardedFor) const;

private:
    bool contains(int family, const unsigned char* bytes) const;

    struct Network {
        int family = AF_INET;
        unsigned char bytes[16] = {};
        int prefix = 0;  // bits
    };
    std::vector<Network> networks_;
};

}  // namespace hlsd
