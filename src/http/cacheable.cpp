#include "http/cacheable.h"

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "http/request.h"

namespace hlsd {

std::string playlistCacheControl(int targetDuration, bool blocking, bool privateToViewer) {
    if (privateToViewer) return "private, no-cache";
    const int td = std::max(1, targetDuration);
    if (blocking) return "public, max-age=0, s-maxage=" + std::to_string(6 * td);
    return "public, max-age=0, s-maxage=" + std::to_string(std::max(1, td / 2));
}

namespace {

// Whether a coding's parameters ("q=0", "x=1;q=0.000") refuse it.
bool refused(std::string_view params) {
    while (!params.empty()) {
        const size_t semi = params.find(';');
        const std::string_view p = trim(params.substr(0, semi));
        params = semi == std::string_view::npos ? std::string_view{} : params.substr(semi + 1);
        if (p.size() >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
            const std::string_view q = trim(p.substr(2));
            return !q.empty() && q.find_first_not_of("0.") == std::string_view::npos;
        }
    }
    return false;
}

}  // namespace

bool acceptsGzip(std::string_view header) {
    // A coding named outright decides; "*" speaks only for codings not named (RFC 9110 §12.5.3).
    int named = -1, any = -1;
    while (!header.empty()) {
        const size_t comma = header.find(',');
        const std::string_view item = header.substr(0, comma);
        header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);
        const size_t semi = item.find(';');
        const std::string coding = lower(trim(item.substr(0, semi)));
        const bool ok = !refused(semi == std::string_view::npos ? "" : item.substr(semi + 1));
        if (coding == "gzip" || coding == "x-gzip") named = std::max(named, ok ? 1 : 0);
        if (coding == "*") any = ok ? 1 : 0;
    }
    return named >= 0 ? named == 1 : any == 1;
}

std::string gzipped(std::string_view text) {
    z_stream z{};
    // 15 window bits + 16: a gzip header and trailer, not zlib's.
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return {};
    std::string out(deflateBound(&z, text.size()), '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
    z.avail_in = static_cast<uInt>(text.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    const int rc = deflate(&z, Z_FINISH);
    out.resize(z.total_out);
    deflateEnd(&z);
    return rc == Z_STREAM_END ? out : std::string{};
}

void addVary(Response& res, std::string_view name) {
    for (auto& [key, value] : res.headers) {
        if (key == "Vary") {
            value.append(", ").append(name);
            return;
        }
    }
    res.set("Vary", std::string(name));
}

std::shared_ptr<const GzipPlaylists::Forms> GzipPlaylists::of(
    const std::shared_ptr<const StoreSnapshot>& snap) const {
    auto forms = newest_.load();
    if (forms && forms->of == snap) return forms;
    // Two loops may both make them for a new snapshot: the same bytes, once per loop at most.
    auto made = std::make_shared<Forms>();
    made->of = snap;
    made->playlist = gzipped(snap->playlist);
    if (!snap->playlistSkip.empty()) made->playlistSkip = gzipped(snap->playlistSkip);
    newest_.store(made);
    return made;
}

const std::string& httpDateNow() {
    thread_local std::time_t made = 0;
    thread_local std::string date;
    const std::time_t now = std::time(nullptr);
    if (now != made) {
        std::tm tm{};
        gmtime_r(&now, &tm);
        // Not strftime: its names follow the locale, HTTP's are English.
        static const char* const kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
        static const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
        char buf[40];
        const int n = std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT",
                                    kDays[tm.tm_wday], tm.tm_mday, kMonths[tm.tm_mon],
                                    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
        date.assign(buf, n > 0 ? static_cast<size_t>(n) : 0);
        made = now;
    }
    return date;
}

}  // namespace hlsd
