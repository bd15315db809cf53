#include "support/m3u8.h"

#include <sstream>

namespace hlsd::test {

std::optional<M3u8> parseM3u8(const std::string& text, std::string* error) {
    auto fail = [&](const std::string& why) -> std::optional<M3u8> {
        if (error) *error = why;
        return std::nullopt;
    };
    if (text.empty() || text.back() != '\n') return fail("empty or truncated (no final newline)");
    std::istringstream in(text);
    std::string line;
    if (!std::getline(in, line) || line != "#EXTM3U") return fail("first line is not #EXTM3U");
    M3u8 p;
    M3u8Segment pending;
    bool haveInf = false;
    auto value = [](const std::string& l) { return l.substr(l.find(':') + 1); };
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        if (line.rfind("#EXT-X-VERSION:", 0) == 0) {
            p.version = std::stoi(value(line));
        } else if (line.rfind("#EXT-X-TARGETDURATION:", 0) == 0) {
            p.targetDuration = std::stoi(value(line));
        } else if (line.rfind("#EXT-X-MEDIA-SEQUENCE:", 0) == 0) {
            p.mediaSequence = std::stoll(value(line));
        } else if (line.rfind("#EXT-X-DISCONTINUITY-SEQUENCE:", 0) == 0) {
            p.discontinuitySequence = std::stoll(value(line));
        } else if (line == "#EXT-X-INDEPENDENT-SEGMENTS") {
            p.independentSegments = true;
        } else if (line == "#EXT-X-DISCONTINUITY") {
            pending.discontinuity = true;
        } else if (line.rfind("#EXT-X-PROGRAM-DATE-TIME:", 0) == 0) {
            pending.programDateTime = value(line);
        } else if (line.rfind("#EXTINF:", 0) == 0) {
            std::string v = value(line);
            if (v.empty() || v.back() != ',') return fail("EXTINF without a comma: " + line);
            pending.duration = std::stod(v.substr(0, v.size() - 1));
            haveInf = true;
        } else if (line == "#EXT-X-ENDLIST") {
            p.endList = true;
        } else if (line[0] == '#') {
            return fail("unexpected tag: " + line);
        } else {
            if (!haveInf) return fail("URI without EXTINF: " + line);
            pending.uri = line;
            p.segments.push_back(pending);
            pending = M3u8Segment{};
            haveInf = false;
        }
    }
    if (haveInf) return fail("EXTINF without a URI at the end");
    if (p.targetDuration < 1) return fail("no EXT-X-TARGETDURATION");
    if (p.mediaSequence < 0) return fail("no EXT-X-MEDIA-SEQUENCE");
    return p;
}

}  // namespace hlsd::test
