// What browsers and shared caches (an nginx or Varnish edge, a CDN) may keep of each answer,
// after RFC 8216bis Appendix B.1, and playlists gzipped for clients that accept it: what an
// LL-HLS origin behind caching edges owes them. Media names are never reused, so media lives
// long; playlists live a fraction of a target duration; errors are never stored.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <string_view>

#include "hlsd/store.h"
#include "http/response.h"

namespace hlsd {

// Cache-Control of a playlist. A blocking reload (_HLS_msn) names a state that never changes
// once reached: shared caches keep it 6 target durations. A plain one changes each part or
// segment: shared caches keep it about half a target duration, which in whole seconds (what
// nginx and most CDNs count) is at least 1. Browsers ask again each time (max-age=0): Video.js
// asks for the same blocking state more than once and needs the newest playlist each time
// (with max-age for browsers it played 44 % of the time). With access control the playlist may
// carry a viewer's token: nobody shares it.
std::string playlistCacheControl(int targetDuration, bool blocking, bool privateToViewer);

// Whether Accept-Encoding admits gzip (a "gzip", "x-gzip" or "*" coding without q=0).
bool acceptsGzip(std::string_view acceptEncoding);

// `text` as one gzip member (RFC 1952), or empty if zlib failed.
std::string gzipped(std::string_view text);

// Appends `name` to the response's Vary, as one header (nginx 1.22 reads only one).
void addVary(Response& res, std::string_view name);

// The gzipped forms of one snapshot's playlists, made by the first request that wants them and
// shared by every later one until the store publishes again.
class GzipPlaylists {
public:
    struct Forms {
        std::shared_ptr<const StoreSnapshot> of;
        std::string playlist, playlistSkip;
    };
    std::shared_ptr<const Forms> of(const std::shared_ptr<const StoreSnapshot>& snap) const;

private:
    mutable std::atomic<std::shared_ptr<const Forms>> newest_;
};

// "Sun, 06 Nov 1994 08:49:37 GMT" for now (RFC 9110 §5.6.7), made once a second per thread.
const std::string& httpDateNow();

}  // namespace hlsd
