#include "hlsd/playlist.h"

#include <cstdio>
#include <ctime>

namespace hlsd {

std::string formatProgramDateTime(WallClock::time_point t) {
    using namespace std::chrono;
    auto ms = duration_cast<milliseconds>(t.time_since_epoch()).count();
    std::time_t secs = static_cast<std::time_t>(ms / 1000);
    int millis = static_cast<int>(ms % 1000);
    if (millis < 0) {
        millis += 1000;
        --secs;
    }
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
    return buf;
}

size_t firstWithParts(const std::vector<PlaylistEntry>& entries, int targetDuration, bool hinted) {
    size_t first = entries.size();
    size_t listed = 0;  // entries with parts, the trailing one a parser sees included
    if (first > 0 && !entries.back().complete) {
        --first;  // the segment being written: listed only through its parts
        ++listed;
    } else if (hinted) {
        ++listed;  // the hint alone: a parser's trailing segment, with one (hinted) part
    }
    double fromEnd = 0;  // the start of entries[first], seconds before the end
    for (size_t i = first; i < entries.size(); ++i) fromEnd += entries[i].duration;
    while (first > 0 && listed < kPartSegments) {
        const double start = fromEnd + entries[first - 1].duration;  // its start, from the end
        if (start > kPartSpan * targetDuration + 1e-6) break;
        fromEnd = start;
        --first;
        ++listed;
    }
    return first;
}

std::string Playlist::render() const {
    std::string out;
    out.reserve(256 + entries.size() * (96 + 64 * (partTarget > 0 ? 6 : 0)));
    char line[160];
    auto add = [&out, &line](const char* format, auto... args) {
        std::snprintf(line, sizeof line, format, args...);
        out += line;
    };
    out += "#EXTM3U\n";
    add("#EXT-X-VERSION:%d\n", version);
    add("#EXT-X-TARGETDURATION:%d\n", targetDuration);
    if (partTarget > 0) {
        add("#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=%.1f,PART-HOLD-BACK=%.3f\n",
            canSkipUntil, 3 * partTarget);
        add("#EXT-X-PART-INF:PART-TARGET=%.3f\n", partTarget);
    }
    add("#EXT-X-MEDIA-SEQUENCE:%llu\n", static_cast<unsigned long long>(mediaSequence));
    add("#EXT-X-DISCONTINUITY-SEQUENCE:%llu\n",
        static_cast<unsigned long long>(discontinuitySequence));
    out += "#EXT-X-INDEPENDENT-SEGMENTS\n";
    if (skipped > 0) add("#EXT-X-SKIP:SKIPPED-SEGMENTS=%zu\n", skipped);
    const std::string* map = nullptr;
    for (size_t i = skipped; i < entries.size(); ++i) {
        const PlaylistEntry& e = entries[i];
        if (e.discontinuity) out += "#EXT-X-DISCONTINUITY\n";
        if (!e.map.empty() && (!map || *map != e.map)) {
            out += "#EXT-X-MAP:URI=\"" + e.map + "\"\n";
            map = &e.map;
        }
        out += "#EXT-X-PROGRAM-DATE-TIME:" + formatProgramDateTime(e.programDateTime) + "\n";
        for (const auto& p : e.parts) {
            add("#EXT-X-PART:DURATION=%.3f,URI=\"", p.duration);
            out += p.uri;
            out += p.independent ? "\",INDEPENDENT=YES\n" : "\"\n";
        }
        if (!e.complete) continue;
        add("#EXTINF:%.3f,\n", e.duration);
        out += e.uri;
        out += '\n';
    }
    if (!preloadHint.empty()) out += "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"" + preloadHint + "\"\n";
    if (endList) out += "#EXT-X-ENDLIST\n";
    return out;
}

}  // namespace hlsd
