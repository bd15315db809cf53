#include "support/m3u8.h"

#include <map>
#include <sstream>

namespace hlsd::test {
namespace {

// KEY=VALUE,KEY="VALUE" (quoted values may hold commas); false if malformed.
bool attributes(const std::string& list, std::map<std::string, std::string>& out) {
    size_t i = 0;
    while (i < list.size()) {
        const size_t eq = list.find('=', i);
        if (eq == std::string::npos || eq == i) return false;
        const std::string key = list.substr(i, eq - i);
        std::string value;
        i = eq + 1;
        if (i < list.size() && list[i] == '"') {
            const size_t close = list.find('"', i + 1);
            if (close == std::string::npos) return false;
            value = list.substr(i + 1, close - i - 1);
            i = close + 1;
        } else {
            const size_t comma = list.find(',', i);
            value = list.substr(i, comma == std::string::npos ? std::string::npos : comma - i);
            i = comma == std::string::npos ? list.size() : comma;
        }
        if (out.count(key)) return false;
        out[key] = value;
        if (i < list.size()) {
            if (list[i] != ',') return false;
            ++i;
        }
    }
    return true;
}

}  // namespace

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
    std::string map;
    auto value = [](const std::string& l) { return l.substr(l.find(':') + 1); };
    std::map<std::string, std::string> a;
    auto attrs = [&](const std::string& l) {
        a.clear();
        return attributes(value(l), a);
    };
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        if (line.rfind("#EXT-X-SERVER-CONTROL:", 0) == 0) {
            if (!attrs(line)) return fail("bad attributes: " + line);
            p.canBlockReload = a["CAN-BLOCK-RELOAD"] == "YES";
            if (a.count("PART-HOLD-BACK")) p.partHoldBack = std::stod(a["PART-HOLD-BACK"]);
            if (a.count("CAN-SKIP-UNTIL")) p.canSkipUntil = std::stod(a["CAN-SKIP-UNTIL"]);
        } else if (line.rfind("#EXT-X-PART-INF:", 0) == 0) {
            if (!attrs(line) || !a.count("PART-TARGET")) return fail("bad PART-INF: " + line);
            p.partTarget = std::stod(a["PART-TARGET"]);
        } else if (line.rfind("#EXT-X-PART:", 0) == 0) {
            if (!attrs(line) || !a.count("URI") || !a.count("DURATION"))
                return fail("bad PART: " + line);
            if (haveInf) return fail("PART after EXTINF: " + line);
            pending.parts.push_back(
                {a["URI"], std::stod(a["DURATION"]), a["INDEPENDENT"] == "YES"});
        } else if (line.rfind("#EXT-X-PRELOAD-HINT:", 0) == 0) {
            if (!attrs(line) || a["TYPE"] != "PART" || a["URI"].empty())
                return fail("bad PRELOAD-HINT: " + line);
            p.preloadHint = a["URI"];
        } else if (line.rfind("#EXT-X-SKIP:", 0) == 0) {
            if (!attrs(line) || !a.count("SKIPPED-SEGMENTS")) return fail("bad SKIP: " + line);
            if (!p.segments.empty()) return fail("SKIP after a segment");
            p.skipped = std::stoll(a["SKIPPED-SEGMENTS"]);
        } else if (line.rfind("#EXT-X-MAP:", 0) == 0) {
            if (!attrs(line) || a["URI"].empty()) return fail("bad MAP: " + line);
            map = a["URI"];
        } else if (line.rfind("#EXT-X-VERSION:", 0) == 0) {
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
            pending.map = map;
            p.segments.push_back(pending);
            pending = M3u8Segment{};
            haveInf = false;
        }
    }
    if (haveInf) return fail("EXTINF without a URI at the end");
    pending.map = map;
    p.open = pending;  // parts after the last segment: the one being written
    if (!p.open.parts.empty() && p.partTarget <= 0) return fail("parts without PART-INF");
    if (p.targetDuration < 1) return fail("no EXT-X-TARGETDURATION");
    if (p.mediaSequence < 0) return fail("no EXT-X-MEDIA-SEQUENCE");
    return p;
}

}  // namespace hlsd::test
