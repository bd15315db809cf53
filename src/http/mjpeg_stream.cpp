#include "http/mjpeg_stream.h"

#include <charconv>
#include <cstdlib>
#include <string>

#include "http/router.h"

namespace hlsd {
namespace {

constexpr char kCrlf[] = "\r\n";

}  // namespace

std::vector<BodyChunk> mjpegPart(const std::shared_ptr<const JpegFrame>& f) {
    return {
        BodyChunk{f, reinterpret_cast<const uint8_t*>(f->partHead.data()), f->partHead.size()},
        BodyChunk{f, f->data.data(), f->data.size()},
        BodyChunk{nullptr, reinterpret_cast<const uint8_t*>(kCrlf), 2},
    };
}

double fpsParameter(std::string_view query) {
    const std::string value(queryValue(query, "fps"));
    if (value.empty()) return 0;
    char* end = nullptr;
    const double fps = std::strtod(value.c_str(), &end);
    return end && *end == '\0' && fps > 0 && fps < 1000 ? fps : 0;
}

MjpegStream::MjpegStream(MjpegHub& hub, double fps) : hub_(hub) {
    if (fps > 0)
        minInterval_ = std::chrono::duration_cast<WallClock::duration>(
            std::chrono::duration<double>(0.999 / fps));
}

BodyStream::Status MjpegStream::next(std::vector<BodyChunk>& out) {
    if (!watching_) {  // the first call, once the head is sent (a HEAD request never gets here)
        // The hub idle, its newest picture may be minutes old: this viewer starts with one made
        // after it came. Running, the newest is at most a frame old: sent at once.
        if (!hub_.running()) {
            if (auto f = hub_.latest()) sent_ = f->seq;
        }
        watching_ = hub_.watch();
    }
    auto f = hub_.latest();
    if (f && f->captureTime < sentCapture_) sentCapture_ = {};  // the wall clock was set back
    if (!f || f->seq <= sent_ ||
        (minInterval_.count() > 0 && f->captureTime - sentCapture_ < minInterval_)) {
        waited_ = true;
        return Status::Wait;
    }
    // Straight from sending the last one with more than one made meanwhile: this client is
    // slower than the camera, and skipped those (a capped client skips by choice: not counted).
    if (!waited_ && minInterval_.count() == 0 && f->seq > sent_ + 1)
        hub_.countDropped(f->seq - sent_ - 1);
    sent_ = f->seq;
    sentCapture_ = f->captureTime;
    waited_ = false;
    auto part = mjpegPart(f);
    out.insert(out.end(), part.begin(), part.end());
    return Status::More;
}

}  // namespace hlsd
