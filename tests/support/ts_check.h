// Test support: structural checks of an MPEG-TS segment's bytes.
#pragma once

#include <cstddef>
#include <cstdint>

namespace hlsd::test {

// A whole number of 188-byte packets, each with its sync byte, and the PAT (PID 0) and
// PMT before the first packet of any other PID but SDT: the segment can be joined alone.
inline bool isSelfContainedTs(const uint8_t* d, size_t n) {
    if (n == 0 || n % 188 != 0) return false;
    bool pat = false, pmt = false;
    for (size_t off = 0; off < n; off += 188) {
        if (d[off] != 0x47) return false;
        const int pid = ((d[off + 1] & 0x1f) << 8) | d[off + 2];
        if (pid == 0) {
            pat = true;
        } else if (pid == 0x1000) {  // FFmpeg's PMT PID
            pmt = pat;
        } else if (pid != 0x11) {  // SDT may come first
            return pat && pmt;
        }
    }
    return false;
}

}  // namespace hlsd::test
