// Fuzz target: the request path router and the Range parser (src/http/router.cpp), and the
// header line as an Authorization value and as a token (src/auth/credentials.cpp).
//
// Input: "PATH\nRANGE\nSIZE", the last two optional (SIZE: decimal, wrapping at 2^64; 1000
// when absent), so the seeds are readable. Both functions are checked against independent
// oracles written from the documented rules, not from their code:
//  - route(): only the exact names of README "HTTP" route, segment names only when they match
//    [a-z0-9]{1,16}-[0-9]{1,20}\.ts, and a segment's name is a view into the path.
//  - parseRange(): RFC 9110 §14.1.2 single ranges; a 206 range always lies inside the size.
//  - parseBasic(): what it accepts re-encodes (RFC 4648 base64 of "user:password") to the
//    credentials as sent; the user holds no ':'. checkToken(): only a token made for a user
//    (the same bytes) is valid.
#include <cstddef>
#include <cstdint>
#include <regex>
#include <string>
#include <string_view>

#include "auth/credentials.h"
#include "fuzz/fuzz_check.h"
#include "http/router.h"

namespace {

using hlsd::ByteRange;
using hlsd::RangeResult;
using hlsd::RouteKind;

std::string show(std::string_view s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
            out += static_cast<char>(c);
        } else {
            char hex[8];
            std::snprintf(hex, sizeof hex, "\\x%02x", c);
            out += hex;
        }
    }
    return out + "\"";
}

RouteKind expectedKind(std::string_view path) {
    static const std::regex kSegment("/live/[a-z0-9]{1,16}-[0-9]{1,20}\\.(ts|m4s)");
    static const std::regex kPart("/live/[a-z0-9]{1,16}-[0-9]{1,20}\\.[0-9]{1,6}\\.(ts|m4s)");
    static const std::regex kInit("/live/[a-z0-9]{1,16}-[0-9]{1,20}\\.mp4");
    if (path.size() > 256) return RouteKind::NotFound;  // documented limit (kMaxPath)
    if (path == "/live/index.m3u8") return RouteKind::Playlist;
    if (path == "/live/stream.mp4" || path == "/live/stream.ts") return RouteKind::Stream;
    if (path == "/live/stream.mjpg" || path == "/stream") return RouteKind::Mjpeg;
    if (path == "/live/snapshot.jpg" || path == "/snapshot") return RouteKind::Snapshot;
    if (path == "/" || path == "/index.html") return RouteKind::Player;
    if (path == "/player.js" || path == "/mjpeg.js" || path == "/hls.min.js")
        return RouteKind::Asset;
    if (path == "/healthz") return RouteKind::Healthz;
    if (path == "/metrics") return RouteKind::Metrics;
    if (std::regex_match(path.begin(), path.end(), kSegment)) return RouteKind::Segment;
    if (std::regex_match(path.begin(), path.end(), kPart)) return RouteKind::Part;
    if (std::regex_match(path.begin(), path.end(), kInit)) return RouteKind::Init;
    return RouteKind::NotFound;
}

void checkRoute(std::string_view path) {
    const hlsd::Route r = hlsd::route(path);
    const RouteKind expected = expectedKind(path);
    FUZZ_CHECK(r.kind == expected, "route(" + show(path) + ") = " + hlsd::routeLabel(r.kind) +
                                       ", expected " + hlsd::routeLabel(expected));
    const char* label = hlsd::routeLabel(r.kind);
    FUZZ_CHECK(label != nullptr && *label != '\0', "routeLabel");
    switch (r.kind) {
        case RouteKind::Playlist:
            FUZZ_CHECK(r.name == "index.m3u8", show(r.name));
            break;
        case RouteKind::Segment:
        case RouteKind::Part:
        case RouteKind::Init:
        case RouteKind::Stream:
            // The name the store is searched with: exactly what follows /live/, in the path.
            FUZZ_CHECK(r.name.data() == path.data() + 6 && r.name.size() == path.size() - 6,
                       show(path) + " -> " + show(r.name));
            break;
        case RouteKind::Player:
            FUZZ_CHECK(r.name == "index.html", show(r.name));
            break;
        case RouteKind::Asset:
            FUZZ_CHECK(r.name == path.substr(1), show(path) + " -> " + show(r.name));
            break;
        case RouteKind::Healthz:
        case RouteKind::Metrics:
        case RouteKind::Mjpeg:
        case RouteKind::Snapshot:
        case RouteKind::NotFound:
            FUZZ_CHECK(r.name.empty(), show(path) + " -> " + show(r.name));
            break;
    }
}

// A decimal number of at most 19 digits (what a 64-bit size can hold of any length); more
// digits or any other character: not a number (the header is then ignored, a 200).
bool number(std::string_view s, unsigned __int128& out) {
    if (s.empty() || s.size() > 19) return false;
    out = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        out = out * 10 + static_cast<unsigned>(c - '0');
    }
    return true;
}

void checkRange(std::string_view header, size_t size) {
    ByteRange out{12345, 67890};
    const RangeResult got = hlsd::parseRange(header, size, out);
    const std::string what = "parseRange(" + show(header) + ", " + std::to_string(size) + ")";

    // The oracle: "bytes=" then exactly one of "first-", "first-last" or "-suffix".
    RangeResult want = RangeResult::Whole;
    unsigned __int128 offset = 0, length = 0;
    constexpr std::string_view kUnit = "bytes=";
    if (header.substr(0, kUnit.size()) == kUnit) {
        std::string_view spec = header.substr(kUnit.size());
        size_t dash = spec.find('-');
        if (dash != std::string_view::npos) {
            std::string_view a = spec.substr(0, dash), b = spec.substr(dash + 1);
            unsigned __int128 first = 0, last = 0;
            if (a.empty()) {
                if (number(b, last)) {  // the last `last` bytes
                    if (last == 0 || size == 0) {
                        want = RangeResult::Unsatisfiable;
                    } else {
                        want = RangeResult::Partial;
                        length = last < size ? last : size;
                        offset = size - length;
                    }
                }
            } else if (number(a, first)) {
                bool open = b.empty();
                if (open || (number(b, last) && last >= first)) {
                    if (first >= size) {
                        want = RangeResult::Unsatisfiable;
                    } else {
                        unsigned __int128 end = open || last >= size ? size - 1 : last;
                        want = RangeResult::Partial;
                        offset = first;
                        length = end - first + 1;
                    }
                }
            }
        }
    }
    FUZZ_CHECK(got == want, what + " = " + std::to_string(static_cast<int>(got)) + ", expected " +
                                std::to_string(static_cast<int>(want)));
    if (got == RangeResult::Partial) {
        FUZZ_CHECK(out.length >= 1 && out.offset < size && out.length <= size - out.offset,
                   what + " outside the body: " + std::to_string(out.offset) + "+" +
                       std::to_string(out.length));
        FUZZ_CHECK(out.offset == offset && out.length == length,
                   what + " = " + std::to_string(out.offset) + "+" + std::to_string(out.length));
    }
}

}  // namespace

std::string base64(std::string_view in) {
    static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    for (size_t i = 0; i < in.size(); i += 3) {
        uint32_t n = static_cast<uint32_t>(static_cast<uint8_t>(in[i])) << 16;
        if (i + 1 < in.size()) n |= static_cast<uint32_t>(static_cast<uint8_t>(in[i + 1])) << 8;
        if (i + 2 < in.size()) n |= static_cast<uint8_t>(in[i + 2]);
        out += k[(n >> 18) & 63];
        out += k[(n >> 12) & 63];
        out += i + 1 < in.size() ? k[(n >> 6) & 63] : '=';
        out += i + 2 < in.size() ? k[n & 63] : '=';
    }
    return out;
}

void checkCredentials(std::string_view header) {
    if (auto basic = hlsd::parseBasic(header)) {
        FUZZ_CHECK(basic->first.find(':') == std::string::npos, "user with ':' " + show(header));
        std::string_view sent = header.substr(5);
        while (!sent.empty() && sent.front() == ' ') sent.remove_prefix(1);
        while (!sent.empty() && sent.back() == ' ') sent.remove_suffix(1);
        FUZZ_CHECK(base64(basic->first + ":" + basic->second) == sent,
                   "parseBasic accepted a non-canonical " + show(header));
    }
    // One user with a fixed (SHA-512) hash: HMACs only, no crypt(3) here.
    static const std::vector<hlsd::User> users{
        {"alice",
         "$6$rounds=1000$salt$Cn6p4t7ZxDVB0iE0Y8bq3J4p1r2s5t6u7v8w9x0y1z2A3B4C5D6E7F8G9H0I"
         "1J2K3L4M5N6O7P8Q9R0S1T2U3V",
         hlsd::kView}};
    const hlsd::User* who = nullptr;
    if (hlsd::checkToken(header, users, 0, &who) == hlsd::TokenCheck::Valid) {
        const size_t dot = header.find('.');
        int64_t expires = 0;
        for (char c : header.substr(dot + 1, header.find('.', dot + 1) - dot - 1))
            expires = expires * 10 + (c - '0');
        FUZZ_CHECK(who && hlsd::makeToken(*who, expires) == header,
                   "checkToken accepted " + show(header));
    }
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    size_t nl = in.find('\n');
    std::string_view path = in.substr(0, nl);
    std::string_view rest = nl == std::string_view::npos ? "" : in.substr(nl + 1);
    size_t nl2 = rest.find('\n');
    std::string_view header = rest.substr(0, nl2);
    std::string_view sizeText = nl2 == std::string_view::npos ? "" : rest.substr(nl2 + 1);
    size_t body = 1000;
    if (!sizeText.empty()) {
        body = 0;
        for (char c : sizeText) {
            if (c < '0' || c > '9') break;
            body = body * 10 + static_cast<size_t>(c - '0');  // wraps: any 64-bit size
        }
    }

    checkRoute(path);
    checkRange(header, body);
    checkCredentials(header);
    return 0;
}
