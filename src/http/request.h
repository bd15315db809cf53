// HTTP/1.x request heads, parsed from bytes without touching a socket.
//
// hlsd answers GET, HEAD and OPTIONS on exact paths; it never reads a request body. A request
// that announces one (Content-Length > 0, Transfer-Encoding) is answered and its connection
// closed, so a body can never be mistaken for the next request.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hlsd {

struct Request {
    std::string method;
    std::string target;                                        // as sent: path and query
    std::string path;                                          // percent-decoded, without the query
    std::string query;                                         // after '?', not decoded
    int minorVersion = 1;                                      // HTTP/1.<minor>
    std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
    bool keepAlive = true;  // HTTP/1.1 without "Connection: close", or 1.0 with keep-alive
    bool hasBody = false;   // Content-Length > 0 or Transfer-Encoding: answer, then close

    // The first header of that (lower-case) name, or "".
    std::string_view header(std::string_view name) const;
    bool hasHeader(std::string_view name) const;
};

// Without the spaces and tabs HTTP allows around field values and list items (OWS).
std::string_view trim(std::string_view s);
// ASCII lower case: header names, codings, tokens.
std::string lower(std::string_view s);

enum class ParseStatus {
    Incomplete,  // no blank line yet
    Complete,    // `request` filled, `consumed` bytes used
    Bad,         // malformed: answer 400 and close
};

struct ParseResult {
    ParseStatus status = ParseStatus::Incomplete;
    size_t consumed = 0;   // bytes of the head, blank line included
    std::string error;     // what was malformed (for the answer's body)
    int httpStatus = 400;  // what a Bad request is answered with (414: target too long)
};

// Longer targets are answered 414 (RFC 9112 §3: a server decides what it will parse).
inline constexpr size_t kMaxTarget = 8192;

// Finds and parses the first request head in `bytes`. Accepts a lone LF as a line end, as
// RFC 9112 §2.2 allows.
ParseResult parseRequest(std::string_view bytes, Request& request);

// "%2e" → "."; false for a malformed escape. (An encoded NUL decodes: no route has one.)
bool percentDecode(std::string_view in, std::string& out);

}  // namespace hlsd
