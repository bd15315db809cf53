// Small H.264 Annex B helpers: NAL unit scanning, parameter sets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace hlsd::h264 {

enum NalType : int { kSlice = 1, kIdr = 5, kSei = 6, kSps = 7, kPps = 8, kAud = 9 };

// The nal_unit_type of each NAL unit in an Annex B buffer, in order.
std::vector<int> nalTypes(const uint8_t* data, size_t size);
inline std::vector<int> nalTypes(const std::vector<uint8_t>& v) {
    return nalTypes(v.data(), v.size());
}
bool contains(const std::vector<int>& types, int type);
// True when the buffer starts with a 00 00 01 or 00 00 00 01 start code.
bool isAnnexB(const uint8_t* data, size_t size);
// The SPS and PPS NAL units of a buffer, each with a 4-byte start code; empty if none.
std::vector<uint8_t> parameterSets(const uint8_t* data, size_t size);
// The access unit with `sets` (parameterSets()) inserted ahead of its first NAL unit, or right
// after its access unit delimiter, which must stay first (H.264 7.4.1.2.3).
std::vector<uint8_t> withParameterSets(const uint8_t* data, size_t size,
                                       const std::vector<uint8_t>& sets);

}  // namespace hlsd::h264
