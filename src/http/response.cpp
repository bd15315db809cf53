#include "http/response.h"

#include <algorithm>

#include "http/cacheable.h"

namespace hlsd {

size_t Response::contentLength() const {
    size_t n = text.size();
    for (const BodyChunk& c : chunks) n += c.size;
    return n;
}

void Response::setText(std::string body, std::string type) {
    text = std::move(body);
    chunks.clear();
    set("Content-Type", std::move(type));
}

const char* reasonPhrase(int status) {
    switch (status) {
        case 200:
            return "OK";
        case 204:
            return "No Content";
        case 206:
            return "Partial Content";
        case 400:
            return "Bad Request";
        case 401:
            return "Unauthorized";
        case 403:
            return "Forbidden";
        case 404:
            return "Not Found";
        case 405:
            return "Method Not Allowed";
        case 408:
            return "Request Timeout";
        case 414:
            return "URI Too Long";
        case 416:
            return "Range Not Satisfiable";
        case 429:
            return "Too Many Requests";
        case 431:
            return "Request Header Fields Too Large";
        case 503:
            return "Service Unavailable";
        default:
            return status < 400 ? "OK" : status < 500 ? "Bad Request" : "Server Error";
    }
}

std::string serializeHead(const Response& r) {
    std::string head;
    head.reserve(256);
    head.append("HTTP/1.1 ").append(std::to_string(r.status)).append(" ");
    head.append(reasonPhrase(r.status)).append("\r\n");
    // Caches take a response's age from Date (RFC 9111 §4.2.3); an origin with a clock sends it.
    head.append("Date: ").append(httpDateNow()).append("\r\n");
    for (const auto& [name, value] : r.headers)
        head.append(name).append(": ").append(value).append("\r\n");
    // A stream's body is delimited by the end of the connection (RFC 9112 §6.3).
    if (!r.stream)
        head.append("Content-Length: ").append(std::to_string(r.contentLength())).append("\r\n");
    head.append(r.close || r.stream ? "Connection: close\r\n\r\n"
                                    : "Connection: keep-alive\r\n\r\n");
    return head;
}

std::vector<BodyChunk> sliceChunks(const std::vector<BodyChunk>& chunks, size_t offset,
                                   size_t length) {
    std::vector<BodyChunk> out;
    for (const BodyChunk& c : chunks) {
        if (length == 0) break;
        if (offset >= c.size) {
            offset -= c.size;
            continue;
        }
        const size_t n = std::min(length, c.size - offset);
        out.push_back({c.owner, c.data + offset, n, c.fd, c.fileOffset + offset});
        offset = 0;
        length -= n;
    }
    return out;
}

}  // namespace hlsd
