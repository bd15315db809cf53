#include "source/h264.h"

#include <algorithm>

namespace hlsd::h264 {
namespace {

struct NalSpan {
    size_t begin;  // first byte after the start code
    size_t end;    // one past the last byte
};

// Start-code delimited NAL units of an Annex B buffer.
std::vector<NalSpan> split(const uint8_t* d, size_t n) {
    std::vector<NalSpan> out;
    size_t i = 0;
    auto nextStart = [&](size_t from, size_t& codeLen) -> size_t {
        for (size_t k = from; k + 3 <= n; ++k) {
            if (d[k] == 0 && d[k + 1] == 0 && d[k + 2] == 1) {
                codeLen = (k > from && d[k - 1] == 0) ? 4 : 3;
                return k;
            }
        }
        return n;
    };
    size_t codeLen = 0;
    size_t k = nextStart(0, codeLen);
    while (k < n) {
        i = k + 3;
        size_t nextLen = 0;
        size_t next = nextStart(i, nextLen);
        size_t end = next;
        // Trailing zero of a 4-byte start code belongs to the next one.
        if (next < n && nextLen == 4) end = next - 1;
        if (end > i) out.push_back({i, end});
        k = next;
    }
    return out;
}

}  // namespace

std::vector<int> nalTypes(const uint8_t* data, size_t size) {
    std::vector<int> types;
    for (const auto& nal : split(data, size)) types.push_back(data[nal.begin] & 0x1f);
    return types;
}

bool contains(const std::vector<int>& types, int type) {
    return std::find(types.begin(), types.end(), type) != types.end();
}

bool isAnnexB(const uint8_t* data, size_t size) {
    if (size >= 3 && data[0] == 0 && data[1] == 0 && data[2] == 1) return true;
    return size >= 4 && data[0] == 0 && data[1] == 0 && data[2] == 0 && data[3] == 1;
}

std::vector<uint8_t> parameterSets(const uint8_t* data, size_t size) {
    std::vector<uint8_t> out;
    for (const auto& nal : split(data, size)) {
        int type = data[nal.begin] & 0x1f;
        if (type != kSps && type != kPps) continue;
        static const uint8_t kStart[] = {0, 0, 0, 1};
        out.insert(out.end(), kStart, kStart + 4);
        out.insert(out.end(), data + nal.begin, data + nal.end);
    }
    return out;
}

std::vector<uint8_t> withParameterSets(const uint8_t* data, size_t size,
                                       const std::vector<uint8_t>& sets) {
    const auto nals = split(data, size);
    const size_t at = !nals.empty() && (data[nals[0].begin] & 0x1f) == kAud ? nals[0].end : 0;
    std::vector<uint8_t> out;
    out.reserve(size + sets.size());
    out.insert(out.end(), data, data + at);
    out.insert(out.end(), sets.begin(), sets.end());
    out.insert(out.end(), data + at, data + size);
    return out;
}

}  // namespace hlsd::h264
