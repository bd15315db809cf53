// What both in-memory muxers (MPEG-TS, fMP4) share: one libavformat output context with one
// H.264 stream, writing through a custom AVIOContext into a byte buffer the owner takes out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "compat/ffmpeg.h"
#include "hlsd/packet.h"

struct AVDictionary;
struct AVFormatContext;
struct AVIOContext;
struct AVPacket;
struct AVStream;

namespace hlsd {

// Thread-bound. Errors throw std::runtime_error naming the format ("mp4 muxer failed: ...").
class AvOutput {
public:
    // Creates the context for `format` and its stream (time base kTimeBase, the size, frame rate
    // and Annex B extradata of `info`); the header is not written yet.
    AvOutput(const char* format, const StreamInfo& info);
    ~AvOutput();  // writes the trailer if the header was written (its bytes are dropped)
    AvOutput(const AvOutput&) = delete;
    AvOutput& operator=(const AvOutput&) = delete;

    AVFormatContext* context() const { return context_; }
    AVStream* stream() const;
    // Writes the header with `options` (and avoid_negative_ts disabled: our timestamps start at
    // dts 0 per muxer); frees them. Returns how many of them the muxer did not use.
    int writeHeader(AVDictionary* options);
    // One access unit; the muxer only reads the payload, which is not copied.
    void write(const uint8_t* data, size_t size, int64_t pts, int64_t dts, int64_t duration,
               bool keyframe);
    // Every byte muxed since the last take().
    std::vector<uint8_t> take();

private:
    static int onWrite(void* self, av::WriteBuffer data, int size);
    void release();

    const char* format_;
    AVFormatContext* context_ = nullptr;
    AVIOContext* io_ = nullptr;
    AVPacket* packet_ = nullptr;
    bool headerWritten_ = false;
    std::vector<uint8_t> buffer_;
};

}  // namespace hlsd
