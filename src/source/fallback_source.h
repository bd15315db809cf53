// `--source auto`: the camera, or — if it cannot be opened for a lasting reason (none, busy,
// unsupported size) — the test pattern, with a log line saying why.
#pragma once

#include <memory>

#include "hlsd/source.h"

namespace hlsd {

class FallbackSource : public Source {
public:
    FallbackSource(std::unique_ptr<Source> primary, std::unique_ptr<Source> fallback);

    StreamInfo open() override;
    std::optional<EncodedPacket> read() override { return active_->read(); }
    void close() override { active_->close(); }
    void interrupt() override;
    bool isLive() const override { return active_->isLive(); }
    bool waitsInOpen() const override { return active_->waitsInOpen(); }
    std::string name() const override { return active_->name(); }
    uint64_t droppedFrames() const override {
        return primary_->droppedFrames() + fallback_->droppedFrames();
    }

private:
    std::unique_ptr<Source> primary_;
    std::unique_ptr<Source> fallback_;
    Source* active_;
};

}  // namespace hlsd
