// /live/stream.mjpg: multipart/x-mixed-replace, one JPEG part per picture, as mjpg-streamer
// writes it (each part with Content-Type, Content-Length and X-Timestamp). The connection asks
// for the next picture only once the last is on the socket, and gets the newest there is: a
// slow client skips pictures, never queues them, and holds one picture (shared, not copied).
#pragma once

#include <chrono>
#include <memory>
#include <string_view>
#include <vector>

#include "hlsd/mjpeg.h"
#include "http/response.h"

namespace hlsd {

class MjpegStream final : public BodyStream {
public:
    // `fps` > 0: this client wants at most that many pictures a second.
    MjpegStream(MjpegHub& hub, double fps);
    Status next(std::vector<BodyChunk>& out) override;

private:
    MjpegHub& hub_;
    std::shared_ptr<void> watching_;  // pictures are made while this lives
    WallClock::duration minInterval_{};
    uint64_t sent_ = 0;  // seq of the last picture given (or of the stale one not to give)
    WallClock::time_point sentCapture_{};
    bool waited_ = true;  // since the last picture: asked and found nothing new
};

// The chunks of one picture as a multipart part: head, JPEG, CRLF (all the frame's own bytes).
std::vector<BodyChunk> mjpegPart(const std::shared_ptr<const JpegFrame>& frame);

// ?fps=N of a query, 0 when absent or not a positive number.
double fpsParameter(std::string_view query);

}  // namespace hlsd
