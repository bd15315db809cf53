#include "http/client_address.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

#include "http/request.h"

namespace hlsd {
namespace {

// An address as bytes; an IPv4-mapped IPv6 one as its IPv4 address.
bool toBytes(std::string_view text, int& family, unsigned char out[16]) {
    const std::string s(text);
    in6_addr v6{};
    if (inet_pton(AF_INET, s.c_str(), out) == 1) {
        family = AF_INET;
        return true;
    }
    if (inet_pton(AF_INET6, s.c_str(), &v6) != 1) return false;
    if (IN6_IS_ADDR_V4MAPPED(&v6)) {
        family = AF_INET;
        std::memcpy(out, v6.s6_addr + 12, 4);
    } else {
        family = AF_INET6;
        std::memcpy(out, v6.s6_addr, 16);
    }
    return true;
}

}  // namespace

std::optional<TrustedProxies> TrustedProxies::parse(std::string_view list, std::string* error) {
    TrustedProxies out;
    size_t at = 0;
    while (at < list.size()) {
        const size_t end = std::min(list.find_first_of(" ,\t", at), list.size());
        const std::string_view entry = list.substr(at, end - at);
        at = end + 1;
        if (entry.empty()) continue;
        const size_t slash = entry.find('/');
        Network n;
        const bool address = toBytes(entry.substr(0, slash), n.family, n.bytes);
        const int bits = n.family == AF_INET ? 32 : 128;
        n.prefix = bits;
        bool ok = address;
        if (ok && slash != std::string_view::npos) {
            const std::string_view p = entry.substr(slash + 1);
            const auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), n.prefix);
            ok = ec == std::errc() && ptr == p.data() + p.size() && n.prefix >= 0 &&
                 n.prefix <= bits && !p.empty();
        }
        if (!ok) {
            if (error)
                *error = "\"" + std::string(entry) +
                         "\" is not an address or a network (ADDRESS/PREFIX)";
            return std::nullopt;
        }
        out.networks_.push_back(n);
    }
    return out;
}

bool TrustedProxies::contains(std::string_view ip) const {
    int family = 0;
    unsigned char bytes[16] = {};
    return toBytes(ip, family, bytes) && contains(family, bytes);
}

bool TrustedProxies::contains(int family, const unsigned char* bytes) const {
    for (const Network& n : networks_) {
        if (n.family != family) continue;
        const int whole = n.prefix / 8, rest = n.prefix % 8;
        if (std::memcmp(bytes, n.bytes, static_cast<size_t>(whole)) != 0) continue;
        if (rest) {
            const auto mask = static_cast<unsigned char>(0xff << (8 - rest));
            if ((bytes[whole] & mask) != (n.bytes[whole] & mask)) continue;
        }
        return true;
    }
    return false;
}

std::string TrustedProxies::clientOf(const std::string& peer, std::string_view forwardedFor) const {
    if (forwardedFor.empty() || !contains(peer)) return peer;
    std::string_view rest = forwardedFor;
    std::string client = peer;
    while (!rest.empty()) {
        const size_t comma = rest.rfind(',');
        const std::string_view entry =
            trim(comma == std::string_view::npos ? rest : rest.substr(comma + 1));
        rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(0, comma);
        int family = 0;
        unsigned char bytes[16] = {};
        if (!toBytes(entry, family, bytes)) return peer;  // not an address: believe none of it
        client = std::string(entry);
        if (!contains(family, bytes)) break;
    }
    return client;
}

}  // namespace hlsd
