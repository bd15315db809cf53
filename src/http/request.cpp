#include "http/request.h"

#include <algorithm>
#include <cctype>

namespace hlsd {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

namespace {

bool isTokenChar(char c) {
    if (std::isalnum(static_cast<unsigned char>(c))) return true;
    return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool isToken(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), isTokenChar);
}

bool hasToken(std::string_view list, std::string_view token) {
    while (!list.empty()) {
        const size_t comma = list.find(',');
        if (lower(trim(list.substr(0, comma))) == token) return true;
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
    }
    return false;
}

int hexValue(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

ParseResult bad(std::string why, int status = 400) {
    return {ParseStatus::Bad, 0, std::move(why), status};
}

ParseResult parseRequestLine(std::string_view line, Request& r) {
    const size_t sp1 = line.find(' ');
    const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos)
        return bad("the request line is not METHOD TARGET VERSION");
    const std::string_view method = line.substr(0, sp1);
    std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    const std::string_view version = line.substr(sp2 + 1);
    if (!isToken(method)) return bad("malformed method");
    if (target.size() > kMaxTarget) return bad("the target is longer than 8192 bytes", 414);
    if (version == "HTTP/1.1") {
        r.minorVersion = 1;
    } else if (version == "HTTP/1.0") {
        r.minorVersion = 0;
    } else {
        return bad("unsupported version (HTTP/1.0 and HTTP/1.1 only)");
    }
    for (char c : target) {
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return bad("malformed target");
    }
    // Absolute form (what a client sends to a proxy): the path is what follows the authority.
    if (target.rfind("http://", 0) == 0 || target.rfind("https://", 0) == 0) {
        const size_t slash = target.find('/', target.find("//") + 2);
        target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
    }
    if (target.empty() || (target.front() != '/' && target != "*")) return bad("malformed target");
    r.method = std::string(method);
    r.target = std::string(target);
    const size_t q = target.find('?');
    r.query = q == std::string_view::npos ? std::string() : std::string(target.substr(q + 1));
    if (!percentDecode(target.substr(0, q), r.path)) return bad("malformed escape in the path");
    return {};
}

}  // namespace

std::string_view Request::header(std::string_view name) const {
    for (const auto& [n, v] : headers) {
        if (n == name) return v;
    }
    return {};
}

bool Request::hasHeader(std::string_view name) const {
    return std::any_of(headers.begin(), headers.end(),
                       [&](const auto& h) { return h.first == name; });
}

bool percentDecode(std::string_view in, std::string& out) {
    out.clear();
    out.reserve(in.size());
    for (size_t i = 0; i < in.size(); ++i) {
        if (in[i] != '%') {
            out += in[i];
            continue;
        }
        if (i + 2 >= in.size()) return false;
        const int hi = hexValue(in[i + 1]);
        const int lo = hexValue(in[i + 2]);
        if (hi < 0 || lo < 0) return false;
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
    }
    return true;
}

ParseResult parseRequest(std::string_view bytes, Request& r) {
    size_t pos = 0;
    // RFC 9112 §2.2: empty lines before a request line are ignored.
    while (pos < bytes.size() && (bytes[pos] == '\r' || bytes[pos] == '\n')) ++pos;
    bool first = true;
    r.headers.clear();
    for (;;) {
        const size_t nl = bytes.find('\n', pos);
        if (nl == std::string_view::npos) return {};  // Incomplete
        std::string_view line = bytes.substr(pos, nl - pos);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        pos = nl + 1;
        if (first) {
            if (auto res = parseRequestLine(line, r); res.status == ParseStatus::Bad) return res;
            first = false;
            continue;
        }
        if (line.empty()) break;
        if (line.front() == ' ' || line.front() == '\t') return bad("folded header line");
        const size_t colon = line.find(':');
        if (colon == std::string_view::npos || !isToken(line.substr(0, colon)))
            return bad("malformed header line");
        r.headers.emplace_back(lower(line.substr(0, colon)),
                               std::string(trim(line.substr(colon + 1))));
    }
    const std::string_view connection = r.header("connection");
    r.keepAlive =
        r.minorVersion == 1 ? !hasToken(connection, "close") : hasToken(connection, "keep-alive");
    r.hasBody = r.hasHeader("transfer-encoding");
    if (const std::string_view length = r.header("content-length"); !length.empty()) {
        if (!std::all_of(length.begin(), length.end(), [](char c) { return c >= '0' && c <= '9'; }))
            return bad("malformed Content-Length");
        r.hasBody = r.hasBody || length.find_first_not_of('0') != std::string_view::npos;
    }
    return {ParseStatus::Complete, pos, {}};
}

}  // namespace hlsd
