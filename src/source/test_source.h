// The test pattern: libavfilter testsrc2 with the capture wall clock drawn in, encoded live.
#pragma once

#include <memory>

#include "hlsd/encoder.h"
#include "hlsd/source.h"
#include "source/pacer.h"

struct AVFilterGraph;
struct AVFilterContext;
struct AVFrame;

namespace hlsd {

class TestSource : public Source {
public:
    explicit TestSource(const SourceOptions& options);
    ~TestSource() override;

    StreamInfo open() override;
    std::optional<EncodedPacket> read() override;
    void close() override;
    void interrupt() override { interrupter_.trigger(); }
    bool isLive() const override { return true; }
    std::string name() const override { return "test pattern"; }

private:
    void buildGraph(bool withClock);

    SourceOptions options_;
    EncoderOptions encoderOptions_;
    Interrupter interrupter_;
    std::unique_ptr<Encoder> encoder_;
    AVFilterGraph* graph_ = nullptr;
    AVFilterContext* sink_ = nullptr;
    AVFrame* frame_ = nullptr;
    int64_t frameIndex_ = 0;
    std::chrono::steady_clock::time_point startSteady_;
    WallClock::time_point startWall_;
    bool warnedLate_ = false;
};

}  // namespace hlsd
