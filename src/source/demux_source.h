// H.264 from anything libavformat opens: files, stdin, rtsp://, udp://, tcp://, http://...
// Repackaged, never re-encoded.
#pragma once

#include "hlsd/source.h"
#include "source/pacer.h"

struct AVFormatContext;
struct AVBSFContext;
struct AVCodecParserContext;
struct AVCodecContext;
struct AVPacket;

namespace hlsd {

class DemuxSource : public Source {
public:
    enum class Kind { File, Stdin, Url };

    DemuxSource(Kind kind, std::string location, const SourceOptions& options);
    ~DemuxSource() override;

    StreamInfo open() override;
    std::optional<EncodedPacket> read() override;
    void close() override;
    void interrupt() override { interrupter_.trigger(); }
    bool isLive() const override;
    bool waitsInOpen() const override;
    std::string name() const override;

private:
    void waitForProducer();
    static int interruptCallback(void* self);
    std::optional<EncodedPacket> convert(AVPacket* packet);
    void generateTimestamps(const AVPacket* pkt, EncodedPacket& out);

    Kind kind_;
    std::string location_;
    SourceOptions options_;
    Interrupter interrupter_;
    Pacer pacer_;
    AVFormatContext* format_ = nullptr;
    AVBSFContext* bsf_ = nullptr;
    AVCodecParserContext* parser_ = nullptr;
    AVCodecContext* parserContext_ = nullptr;
    AVPacket* packet_ = nullptr;
    int streamIndex_ = -1;
    int timeBaseNum_ = 1;
    int timeBaseDen_ = 1;
    Rational rate_;          // for generated timestamps and missing durations
    bool generate_ = false;  // the stream carries no timestamps (raw H.264)
    int reorderDelay_ = 0;   // frames between decode and display order
    int64_t frameIndex_ = 0;
    int64_t gopBase_ = 0;
    int64_t lastDts_ = 0;
    bool haveLastDts_ = false;
    bool warnedReorder_ = false;
};

}  // namespace hlsd
