// The live stream as one endless HTTP body: /live/stream.ts (MPEG-TS) or /live/stream.mp4 (fMP4:
// the init section, then every fragment). One URL for the tools that take a stream, not a
// playlist (VLC, ffmpeg, go2rtc, Frigate, Home Assistant's generic camera), a part behind live.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "hlsd/segment.h"
#include "hlsd/store.h"
#include "http/response.h"

namespace hlsd {

// A part's bytes, with its memfd copy where it has one (sendfile).
BodyChunk partChunk(const std::shared_ptr<const Part>& p);

// Starts at the newest independent part and then gives each part as the store publishes it.
// A viewer that fell more than a segment behind (a slow link) skips to the newest independent
// part: it sees a jump, never an ever-growing delay, and the connection holds at most what one
// call gave. fMP4 ends (the connection closes) where a new init section begins (the source
// restarted): a fragmented MP4 has one; the client reconnects. MPEG-TS goes on across it.
class LiveStream final : public BodyStream {
public:
    explicit LiveStream(const SegmentStore& store) : store_(store) {}
    Status next(std::vector<BodyChunk>& out) override;
    uint64_t skips() const { return skips_; }  // times it skipped ahead

private:
    bool seekNewest(const std::vector<const Segment*>& segments);

    const SegmentStore& store_;
    bool started_ = false;
    uint64_t msn_ = 0;  // the next part to give: part part_ of segment msn_
    size_t part_ = 0;
    std::shared_ptr<const InitSection> init_;  // fMP4: the one given
    // The snapshot the last Wait was answered from: asked again before the store changed (every
    // wake() asks every waiting stream), the answer is the same, found without a walk.
    std::shared_ptr<const StoreSnapshot> waitedOn_;
    uint64_t skips_ = 0;
};

}  // namespace hlsd
