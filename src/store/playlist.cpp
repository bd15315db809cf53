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

std::string Playlist::render() const {
    std::string out;
    out.reserve(160 + entries.size() * 96);
    char line[128];
    out += "#EXTM3U\n";
    std::snprintf(line, sizeof line, "#EXT-X-VERSION:%d\n", version);
    out += line;
    std::snprintf(line, sizeof line, "#EXT-X-TARGETDURATION:%d\n", targetDuration);
    out += line;
    std::snprintf(line, sizeof line, "#EXT-X-MEDIA-SEQUENCE:%llu\n",
                  static_cast<unsigned long long>(mediaSequence));
    out += line;
    std::snprintf(line, sizeof line, "#EXT-X-DISCONTINUITY-SEQUENCE:%llu\n",
                  static_cast<unsigned long long>(discontinuitySequence));
    out += line;
    out += "#EXT-X-INDEPENDENT-SEGMENTS\n";
    for (const auto& e : entries) {
        if (e.discontinuity) out += "#EXT-X-DISCONTINUITY\n";
        out += "#EXT-X-PROGRAM-DATE-TIME:" + formatProgramDateTime(e.programDateTime) + "\n";
        std::snprintf(line, sizeof line, "#EXTINF:%.3f,\n", e.duration);
        out += line;
        out += e.uri;
        out += '\n';
    }
    if (endList) out += "#EXT-X-ENDLIST\n";
    return out;
}

}  // namespace hlsd
