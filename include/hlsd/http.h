// Stage 4: the HTTP origin. Serves the playlist, segments, player page, health and metrics,
// from the SegmentStore only (never from disk).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "hlsd/store.h"

namespace hlsd {
class AccessGate;
class MjpegHub;
}  // namespace hlsd

namespace hlsd {

struct PipelineHealth {
    uint64_t droppedFrames = 0;   // camera frames the source had no room for
    uint64_t droppedPackets = 0;  // packets the segmenter refused (timestamps out of line)
    enum class Mirror { Off, Ok, Failing } mirror = Mirror::Off;  // output_dir
};

struct HttpOptions {
    std::string host = "0.0.0.0";  // "::" for IPv6 (dual stack)
    int port = 8080;               // 0: any free port
    // Access-Control-Allow-Origin: "*", or origins (space or comma separated) echoed with
    // Allow-Credentials; empty: not sent.
    std::string allowOrigin = "*";
    int maxClients = 1024;          // connections open at once; more get 503
    int loops = 1;                  // event threads; 0: one per CPU this process may run on
    size_t maxRequestSize = 16384;  // request line + headers, bytes; more gets 431
    int timeout = 5;                // seconds: keep-alive idle; a write or read that stalls
    int headerTimeout = 10;         // seconds from a request's first byte to its end; then 408
    std::string tlsCert, tlsKey;    // PEM files: HTTPS (TLS 1.2, 1.3) instead of HTTP
    // Addresses and networks whose X-Forwarded-For names the client (validated already).
    std::string trustedProxies;
    std::string playerDir;  // index.html, player.js, hls.min.js; loaded at start
    double segmentTime = 1.0;
    // LL-HLS: a playlist request without _HLS_msn (every player's first, and every reload of a
    // player without LL-HLS) waits for the segment being written once it has a part.
    bool holdPlainPlaylists = true;
    Container container = Container::Fmp4;  // which of /live/stream.mp4 and .ts exists
    // What the rest of the pipeline counts, for /metrics and /healthz; any thread, quick.
    std::function<PipelineHealth()> health;
    // Pictures for /live/stream.mjpg and /live/snapshot.jpg; none: those answer 404.
    MjpegHub* mjpeg = nullptr;
    // Who may watch and read /metrics; none (or one without users): everyone.
    AccessGate* access = nullptr;
};

// Thread-safe. Owns the event threads, which serve every connection.
class HttpServer {
public:
    HttpServer(HttpOptions options, const SegmentStore& store);
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    // Binds and starts serving; returns the bound port. Throws std::runtime_error naming the
    // address and the reason (port in use, no such address, ...).
    int start();
    // Stops accepting, lets in-flight responses finish, joins. Idempotent.
    void stop();
    // "http://127.0.0.1:8080/"
    std::string url() const;
    // The store changed: answer the LL-HLS requests that waited for it. Any thread.
    void wake();
    // Reads tls_cert and tls_key again (a renewed certificate) for new connections; open ones
    // go on. Logs the outcome; false when they could not be loaded (the old pair stays).
    bool reloadTls();

private:
    class Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace hlsd
