// The unit the segmenter produces and the store serves: one segment, made of parts.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "hlsd/packet.h"

namespace hlsd {

enum class Container { MpegTs, Fmp4 };

// The same bytes as a part's, in an anonymous in-memory file (memfd), so that the HTTP stage can
// hand them to the socket with sendfile(): the kernel then references these pages instead of
// copying each response into the socket's buffers. Closed with the last reference.
//
// One file per segment, its parts appended as they are made: a response of several parts is then
// one contiguous range of one file, sent with one sendfile() call where the socket has room.
class FileCopy {
public:
    // Null when memfd is unavailable, or while kMaxLive files exist (a huge window, as a VOD
    // run with segment_wrap 10000 has, would otherwise use up the process's descriptors).
    static std::shared_ptr<FileCopy> create();
    static std::shared_ptr<const FileCopy> of(const std::vector<uint8_t>& bytes);
    ~FileCopy();
    FileCopy(const FileCopy&) = delete;
    FileCopy& operator=(const FileCopy&) = delete;
    // Appends `bytes` (the segmenter's thread only; readers only ever read ranges written
    // before): false when the write failed. `at`: where they begin.
    bool append(const std::vector<uint8_t>& bytes, uint64_t& at);
    int fd() const { return fd_; }
    static constexpr int kMaxLive = 256;

private:
    explicit FileCopy(int fd) : fd_(fd) {}
    int fd_;
    uint64_t size_ = 0;
};

// One partial segment (LL-HLS EXT-X-PART): bytes the muxer produced for a run of access units.
// Immutable once published; shared by the segment it belongs to and by every response sending it.
struct Part {
    std::vector<uint8_t> data;
    double duration = 0.0;                 // seconds
    bool independent = false;              // starts with a keyframe (and, in MPEG-TS, PAT/PMT)
    std::shared_ptr<const FileCopy> file;  // data again, for sendfile(); may be null
    uint64_t fileOffset = 0;               // where in `file` (its segment's) they are
};

// The fMP4 initialization section (EXT-X-MAP) shared by the segments of one muxer.
struct InitSection {
    std::string name;  // "<run>-<msn>.mp4", msn of the first segment using it
    std::vector<uint8_t> data;
};

// Immutable once published (shared as shared_ptr<const Segment>). The segment's bytes are the
// concatenation of its parts' bytes: a part is never copied into its segment. Without
// part_duration a segment is one part.
//
// While a segment is being written the segmenter publishes it incomplete (complete == false)
// after each part, each time as a new Segment sharing the earlier parts.
struct Segment {
    uint64_t msn = 0;                                // media sequence number
    std::string name;                                // "<run>-<msn>.ts" / ".m4s", never reused
    std::vector<std::shared_ptr<const Part>> parts;  // in order
    size_t size = 0;                                 // sum of the parts' sizes
    bool complete = true;                            // false: parts are still being added
    std::shared_ptr<const InitSection> init;         // fMP4 only
    double duration = 0.0;                           // seconds, from timestamps
    WallClock::time_point programDateTime;           // capture time of the first frame
    bool discontinuity = false;                      // first segment after a source restart / jump
    uint64_t discontinuitySequence = 0;              // discontinuities up to and including this one
    double keyframeInterval = 0.0;  // the source's longest GOP seen in this run, seconds
    uint32_t frames = 0;            // access units in the segment

    // A contiguous copy of the bytes (tests, tools); serving and the disk mirror use the parts.
    std::vector<uint8_t> bytes() const {
        std::vector<uint8_t> out;
        out.reserve(size);
        for (const auto& p : parts) out.insert(out.end(), p->data.begin(), p->data.end());
        return out;
    }
    void addPart(std::shared_ptr<const Part> part) {
        size += part->data.size();
        parts.push_back(std::move(part));
    }
};

// "<run>-<msn>.<part>.ts" for part `index` of the segment named "<run>-<msn>.ts".
inline std::string partName(const std::string& segmentName, size_t index) {
    const auto dot = segmentName.rfind('.');
    return segmentName.substr(0, dot) + "." + std::to_string(index) + segmentName.substr(dot);
}

}  // namespace hlsd
