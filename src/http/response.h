// HTTP responses as values: status, headers, and a body that is either owned text (playlists,
// errors) or borrowed media bytes (a segment's parts), kept alive by their owners until the
// last byte is on the socket. No socket here: the connection layer writes them.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hlsd {

struct BodyChunk {
    std::shared_ptr<const void> owner;  // keeps `data` (and `fd`) alive: a Part, an asset, ...
    const uint8_t* data = nullptr;
    size_t size = 0;
    int fd = -1;  // the same bytes in a file at `fileOffset`: sent with sendfile()
    uint64_t fileOffset = 0;
};

// A body produced over time (a live stream for hours): sent without Content-Length, and the
// connection closes when it ends. The connection asks for more only once everything given before
// is on the socket, so a slow reader holds one call's chunks (referenced, not copied) and no
// thread; what it misses meanwhile is the stream's choice (skip to the newest, or end).
class BodyStream {
public:
    enum class Status { More, Wait, End };
    virtual ~BodyStream() = default;
    // On the event thread: when what was given is sent, and after each wake() while waiting.
    // More: chunks appended to `out`; Wait: nothing new yet; End: the body is complete.
    virtual Status next(std::vector<BodyChunk>& out) = 0;
};

struct Response {
    int status = 200;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string text;                    // an owned body, or...
    std::vector<BodyChunk> chunks;       // ...borrowed bytes, sent as they are (no copy)
    bool close = false;                  // the connection closes once this is written
    std::shared_ptr<BodyStream> stream;  // the rest of the body, after text and chunks

    void set(std::string name, std::string value) {
        headers.emplace_back(std::move(name), std::move(value));
    }
    size_t contentLength() const;
    void setText(std::string body, std::string type);
};

// "HTTP/1.1 200 OK\r\n" + headers + Content-Length (none for a stream) + Connection + "\r\n".
std::string serializeHead(const Response& response);
const char* reasonPhrase(int status);

// The bytes [offset, offset + length) of `chunks`, as chunks of the same owners.
std::vector<BodyChunk> sliceChunks(const std::vector<BodyChunk>& chunks, size_t offset,
                                   size_t length);

// A request that cannot be answered yet (an LL-HLS blocking reload, a preload-hinted part):
// the connection waits, holding no thread, until ready() or the deadline; then it is answered
// as if it came then (the responder decides what a request still not ready gets).
struct Hold {
    std::function<bool()> ready;  // called on the event thread after each wake(); quick
    std::chrono::steady_clock::time_point deadline;
    // Ready, the request is asked again as new (it may be held again), not answered as is:
    // for a first step such as a password check before an LL-HLS blocking reload.
    bool again = false;
};

}  // namespace hlsd
