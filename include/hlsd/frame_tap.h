// Raw pictures a source has before it encodes them (the camera, the test pattern), offered to
// MJPEG so that it need not decode the H.264 again.
#pragma once

#include "hlsd/packet.h"

struct AVFrame;

namespace hlsd {

class FrameTap {
public:
    virtual ~FrameTap() = default;
    // Checked for every frame before it is offered: cheap (an atomic load).
    virtual bool wantsFrames() const = 0;
    // On the source thread, just before the frame is encoded; takes a reference (no copy of
    // a reference-counted frame) and returns at once.
    virtual void offer(const AVFrame& frame, WallClock::time_point captureTime) = 0;
};

}  // namespace hlsd
