// The Raspberry Pi camera (any libcamera camera): YUV 4:2:0 capture → the shared H.264 encoder.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "hlsd/source.h"
#include "source/camera_frames.h"
#include "source/pacer.h"

namespace libcamera {
class Camera;
class CameraManager;
class FrameBuffer;
class FrameBufferAllocator;
class Request;
class Stream;
}  // namespace libcamera

namespace hlsd {

struct CameraInfo {
    int index = 0;
    std::string id;
    std::string model;
};

// What libcamera sees now (empty: no camera).
std::vector<CameraInfo> listCameras();

// Thread-bound like every Source, except interrupt() and the libcamera completion callback,
// which only queues the frame (see FrameQueue).
class CameraSource : public Source {
public:
    explicit CameraSource(const SourceOptions& options);
    ~CameraSource() override;

    StreamInfo open() override;  // with the lores stream, or after it failed without
    std::optional<EncodedPacket> read() override;
    void close() override;
    void interrupt() override;
    bool isLive() const override { return true; }
    std::string name() const override;
    uint64_t droppedFrames() const override { return queue_.dropped(); }

    // A camera that delivers nothing for this long is restarted (a new run: discontinuity).
    static constexpr std::chrono::milliseconds kStallTimeout{2000};

private:
    struct MappedBuffer;
    StreamInfo openOnce();
    void onRequestCompleted(libcamera::Request* request);
    std::shared_ptr<libcamera::Camera> select();
    // Maps a buffer's planes (one mapping per dmabuf); Y, U, V of a YUV420 `stride` × `height`.
    std::unique_ptr<MappedBuffer> map(const libcamera::FrameBuffer& buffer, unsigned stride,
                                      unsigned height);

    SourceOptions options_;
    Interrupter interrupter_;
    FrameQueue queue_{8};
    std::shared_ptr<libcamera::CameraManager> manager_;
    std::shared_ptr<libcamera::Camera> camera_;
    std::unique_ptr<libcamera::FrameBufferAllocator> allocator_;
    libcamera::Stream* stream_ = nullptr;
    libcamera::Stream* lores_ = nullptr;  // the second, smaller stream for MJPEG, if any
    bool loresTried_ = false;             // this open() chose it
    bool loresFailed_ = false;            // it broke an open(): never asked for again
    std::vector<std::unique_ptr<libcamera::Request>> requests_;
    std::vector<std::unique_ptr<MappedBuffer>> mapped_;
    std::vector<std::unique_ptr<MappedBuffer>> loresMapped_;
    std::unique_ptr<CameraFramePath> path_;
    unsigned stride_ = 0;
    unsigned loresStride_ = 0;
    std::atomic<bool> running_{false};
    std::string label_ = "camera";
};

}  // namespace hlsd
