#include "source/camera_source.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>

#include <libcamera/libcamera.h>

#include "hlsd/log.h"

namespace hlsd {
namespace {

// One CameraManager per process (libcamera allows no more), started on first use and stopped
// when the last user lets go.
std::shared_ptr<libcamera::CameraManager> cameraManager() {
    static std::mutex mutex;
    static std::weak_ptr<libcamera::CameraManager> current;
    std::lock_guard lock(mutex);
    if (auto existing = current.lock()) return existing;
    // libcamera logs to stderr in its own format; keep it to errors unless we are debugging
    // (or the user chose with LIBCAMERA_LOG_LEVELS).
    if (!logger("source")->should_log(spdlog::level::debug)) {
        setenv("LIBCAMERA_LOG_LEVELS", "*:ERROR", 0);
    }
    auto manager = std::shared_ptr<libcamera::CameraManager>(new libcamera::CameraManager,
                                                             [](libcamera::CameraManager* m) {
                                                                 m->stop();
                                                                 delete m;
                                                             });
    if (int ret = manager->start(); ret < 0) {
        throw SourceError(std::string("libcamera cannot start: ") + std::strerror(-ret), true);
    }
    current = manager;
    return manager;
}

std::string modelOf(const libcamera::Camera& camera) {
    auto model = camera.properties().get(libcamera::properties::Model);
    // std::string(...): from libcamera 0.6 the property is a std::string_view.
    return model ? std::string(*model) : "unknown model";
}

const std::map<std::string, int> kExposureModes = {{"normal", libcamera::controls::ExposureNormal},
                                                   {"short", libcamera::controls::ExposureShort},
                                                   {"long", libcamera::controls::ExposureLong},
                                                   {"custom", libcamera::controls::ExposureCustom}};

const std::map<std::string, int> kAwbModes = {
    {"auto", libcamera::controls::AwbAuto},
    {"incandescent", libcamera::controls::AwbIncandescent},
    {"tungsten", libcamera::controls::AwbTungsten},
    {"fluorescent", libcamera::controls::AwbFluorescent},
    {"indoor", libcamera::controls::AwbIndoor},
    {"daylight", libcamera::controls::AwbDaylight},
    {"cloudy", libcamera::controls::AwbCloudy},
    {"custom", libcamera::controls::AwbCustom}};

}  // namespace

// A dmabuf-backed buffer mapped into our memory, plane by plane.
struct CameraSource::MappedBuffer {
    std::vector<std::pair<void*, size_t>> maps;  // to munmap
    std::array<const uint8_t*, 3> planes{};
    ~MappedBuffer() {
        for (auto& [addr, len] : maps) munmap(addr, len);
    }
};

std::unique_ptr<CameraSource::MappedBuffer> CameraSource::map(const libcamera::FrameBuffer& buffer,
                                                              unsigned stride, unsigned height) {
    auto mapped = std::make_unique<MappedBuffer>();
    const auto& planes = buffer.planes();
    std::map<int, std::pair<uint8_t*, size_t>> byFd;  // one mapping per dmabuf
    for (const auto& plane : planes) {
        const int fd = plane.fd.get();
        const size_t end = plane.offset + plane.length;
        if (byFd.count(fd) == 0) {
            const off_t size = lseek(fd, 0, SEEK_END);
            const size_t length = size > 0 ? static_cast<size_t>(size) : end;
            void* addr = mmap(nullptr, length, PROT_READ, MAP_SHARED, fd, 0);
            if (addr == MAP_FAILED) {
                throw SourceError(label_ + ": cannot map a capture buffer: " + std::strerror(errno),
                                  false);
            }
            mapped->maps.emplace_back(addr, length);
            byFd[fd] = {static_cast<uint8_t*>(addr), length};
        }
    }
    if (planes.size() >= 3) {
        for (int p = 0; p < 3; ++p)
            mapped->planes[p] = byFd[planes[p].fd.get()].first + planes[p].offset;
    } else {  // one plane holding Y, U, V back to back
        const uint8_t* base = byFd[planes[0].fd.get()].first + planes[0].offset;
        mapped->planes = {base, base + stride * height,
                          base + stride * height + (stride / 2) * (height / 2)};
    }
    return mapped;
}

std::vector<CameraInfo> listCameras() {
    auto manager = cameraManager();
    std::vector<CameraInfo> out;
    int index = 0;
    for (const auto& camera : manager->cameras()) {
        out.push_back({index++, camera->id(), modelOf(*camera)});
    }
    return out;
}

CameraSource::CameraSource(const SourceOptions& options) : options_(options) {}

CameraSource::~CameraSource() {
    close();
}

std::string CameraSource::name() const {
    return label_;
}

void CameraSource::interrupt() {
    interrupter_.trigger();
    queue_.close();
}

std::shared_ptr<libcamera::Camera> CameraSource::select() {
    const auto cameras = manager_->cameras();
    if (cameras.empty()) {
        throw SourceError(
            "no camera found: libcamera sees none (check the ribbon cable and that "
            "`rpicam-hello --list-cameras` lists it), or use --source test",
            true);
    }
    const std::string& sel = options_.camera.selector;
    if (sel.empty()) return cameras.front();
    const bool isIndex = sel.find_first_not_of("0123456789") == std::string::npos;
    if (isIndex) {
        size_t i = std::stoul(sel);
        if (i < cameras.size()) return cameras[i];
    } else {
        for (const auto& c : cameras) {
            if (c->id() == sel) return c;
        }
    }
    std::string ids;
    for (size_t i = 0; i < cameras.size(); ++i)
        ids += " " + std::to_string(i) + "=" + cameras[i]->id();
    throw SourceError(
        "camera:" + sel + " not found; libcamera sees" + ids + " (hlsd --list-cameras)", true);
}

StreamInfo CameraSource::open() {
    try {
        return openOnce();
    } catch (const SourceError& e) {
        // Whatever the second stream broke, the camera must still run: HLS does not need it.
        if (!loresTried_ || e.permanent()) throw;
        logger("camera")->warn(
            "{}: {} (with a second stream for MJPEG); from now on the main "
            "stream alone, MJPEG scales its pictures",
            label_, e.what());
        loresFailed_ = true;
        close();
        return openOnce();
    }
}

StreamInfo CameraSource::openOnce() {
    using namespace libcamera;
    close();
    loresTried_ = false;
    manager_ = cameraManager();
    camera_ = select();
    label_ = "camera " + modelOf(*camera_) + " (" + camera_->id() + ")";
    if (camera_->acquire() < 0) {
        auto id = camera_->id();
        camera_.reset();
        throw SourceError("camera " + id +
                              " is busy: another process (rpicam-vid, another hlsd?) "
                              "holds it; stop that process first",
                          true);
    }
    // MJPEG's pictures from a second, smaller stream of the same captures (what rpicam-apps
    // call lores), where the camera offers one as asked; otherwise from the main stream.
    // Both sides within the main stream, one smaller, neither tiny (the ISP scales down only so
    // far, and older libcamera does not report a size the driver changed).
    const bool wantLores =
        options_.frameTap && !loresFailed_ && options_.loresWidth >= 64 &&
        options_.loresHeight >= 64 && options_.loresWidth <= options_.width &&
        options_.loresHeight <= options_.height &&
        (options_.loresWidth < options_.width || options_.loresHeight < options_.height);
    std::unique_ptr<CameraConfiguration> config;
    if (wantLores) {
        config =
            camera_->generateConfiguration({StreamRole::VideoRecording, StreamRole::Viewfinder});
        if (config && config->size() == 2) {
            StreamConfiguration& lo = config->at(1);
            lo.pixelFormat = formats::YUV420;
            lo.size = Size(static_cast<unsigned>(options_.loresWidth),
                           static_cast<unsigned>(options_.loresHeight));
            lo.bufferCount = 6;
            StreamConfiguration& main = config->at(0);
            main.pixelFormat = formats::YUV420;
            main.size =
                Size(static_cast<unsigned>(options_.width), static_cast<unsigned>(options_.height));
            main.bufferCount = 6;
            if (config->validate() == CameraConfiguration::Invalid ||
                lo.pixelFormat != formats::YUV420 ||
                lo.size != Size(options_.loresWidth, options_.loresHeight) ||
                main.size != Size(options_.width, options_.height) ||
                main.pixelFormat != formats::YUV420) {
                logger("camera")->info(
                    "{} offers no YUV420 {}x{} second stream beside the main one: MJPEG scales "
                    "the main stream's pictures",
                    label_, options_.loresWidth, options_.loresHeight);
                config.reset();
            }
        } else {
            logger("camera")->info(
                "{} has no second stream: MJPEG scales the main stream's "
                "pictures",
                label_);
            config.reset();
        }
    }
    const bool lores = config != nullptr;
    loresTried_ = lores;
    if (!config) config = camera_->generateConfiguration({StreamRole::VideoRecording});
    if (!config || config->size() < 1) {
        throw SourceError(label_ + " cannot record video (no VideoRecording stream)", true);
    }
    StreamConfiguration& sc = config->at(0);
    sc.pixelFormat = formats::YUV420;
    sc.size = Size(static_cast<unsigned>(options_.width), static_cast<unsigned>(options_.height));
    sc.bufferCount = 6;
    const auto status = config->validate();
    if (status == CameraConfiguration::Invalid) {
        throw SourceError(label_ + " rejects YUV420 " + std::to_string(options_.width) + "x" +
                              std::to_string(options_.height),
                          true);
    }
    if (sc.pixelFormat != formats::YUV420 ||
        sc.size.width != static_cast<unsigned>(options_.width) ||
        sc.size.height != static_cast<unsigned>(options_.height)) {
        throw SourceError(label_ + " cannot deliver YUV420 " + std::to_string(options_.width) +
                              "x" + std::to_string(options_.height) +
                              " (nearest it offers: " + sc.pixelFormat.toString() + " " +
                              sc.size.toString() + "); set width/height to a size it supports",
                          true);
    }
    if (camera_->configure(config.get()) < 0) {
        throw SourceError(label_ + ": configuring the stream failed", false);
    }
    stream_ = sc.stream();
    stride_ = sc.stride;
    lores_ = lores ? config->at(1).stream() : nullptr;
    loresStride_ = lores ? config->at(1).stride : 0;

    allocator_ = std::make_unique<FrameBufferAllocator>(camera_);
    if (allocator_->allocate(stream_) < 0 || (lores_ && allocator_->allocate(lores_) < 0)) {
        throw SourceError(label_ + ": cannot allocate capture buffers", false);
    }
    const auto& buffers = allocator_->buffers(stream_);
    const size_t count =
        lores_ ? std::min(buffers.size(), allocator_->buffers(lores_).size()) : buffers.size();
    for (size_t i = 0; i < count; ++i) {
        std::unique_ptr<Request> request = camera_->createRequest(mapped_.size());
        if (!request || request->addBuffer(stream_, buffers[i].get()) < 0) {
            throw SourceError(label_ + ": cannot create capture requests", false);
        }
        mapped_.push_back(map(*buffers[i], stride_, sc.size.height));
        if (lores_) {
            const auto& small = allocator_->buffers(lores_);
            if (request->addBuffer(lores_, small[i].get()) < 0) {
                throw SourceError(label_ + ": cannot create capture requests", false);
            }
            loresMapped_.push_back(map(*small[i], loresStride_, config->at(1).size.height));
        }
        requests_.push_back(std::move(request));
    }

    EncoderOptions eo = encoderOptionsFor(options_);
    FramePathOptions fo;
    if (lores_) {  // MJPEG takes the lores pictures, not the encoder's
        fo.loresTap = eo.frameTap;
        eo.frameTap = nullptr;
    }
    fo.fps = options_.fps;
    fo.hflip = options_.camera.hflip != (options_.camera.rotation == 180);
    fo.vflip = options_.camera.vflip != (options_.camera.rotation == 180);
    path_ = std::make_unique<CameraFramePath>(
        fo, openEncoder(eo, options_.camera.encoder, options_.camera.encoderDevice));

    ControlList controls(camera_->controls());
    const auto& info = camera_->controls();
    const int64_t frameUs = std::llround(1e6 / options_.fps.toDouble());
    if (auto it = info.find(&controls::FrameDurationLimits); it != info.end()) {
        // The sensor's frame-time range (µs): outside it the rate would be silently clamped.
        const int64_t minUs = it->second.min().get<int64_t>();
        const int64_t maxUs = it->second.max().get<int64_t>();
        if (minUs > 0 && maxUs >= minUs && (frameUs < minUs || frameUs > maxUs)) {
            char range[96];
            std::snprintf(range, sizeof range, "%.3g..%.3g fps", 1e6 / maxUs, 1e6 / minUs);
            throw SourceError(label_ + " cannot run at " + std::to_string(options_.fps.toDouble()) +
                                  " fps (it supports " + range + "); set fps within that range",
                              true);
        }
        controls.set(controls::FrameDurationLimits, Span<const int64_t, 2>({frameUs, frameUs}));
    }
    if (info.count(&controls::AeExposureMode)) {
        controls.set(controls::AeExposureMode, kExposureModes.at(options_.camera.exposureMode));
    }
    if (info.count(&controls::AwbMode)) {
        controls.set(controls::AwbMode, kAwbModes.at(options_.camera.awb));
    }
    if (info.count(&controls::Brightness)) {
        controls.set(controls::Brightness, static_cast<float>(options_.camera.brightness));
    }
    camera_->requestCompleted.connect(this, &CameraSource::onRequestCompleted);
    if (int ret = camera_->start(&controls); ret < 0) {
        throw SourceError(label_ + " cannot start: " + std::strerror(-ret), false);
    }
    running_ = true;
    for (auto& request : requests_) camera_->queueRequest(request.get());

    StreamInfo out = path_->streamInfo();
    out.description = label_ + ", YUV420 " + std::to_string(options_.width) + "x" +
                      std::to_string(options_.height) + " stride " + std::to_string(stride_) +
                      (lores_ ? " (+ " + std::to_string(options_.loresWidth) + "x" +
                                    std::to_string(options_.loresHeight) + " for MJPEG)"
                              : std::string()) +
                      " → " + out.description;
    return out;
}

void CameraSource::onRequestCompleted(libcamera::Request* request) {
    // libcamera's thread: queue the frame and return; all work happens on the source thread.
    if (!running_ || request->status() == libcamera::Request::RequestCancelled) return;
    auto* buffer = request->findBuffer(stream_);
    if (!buffer) return;
    // From libcamera 0.5.2 (Raspberry Pi OS: 0.5.1+rpt) the Pi pipeline hands over the frames it
    // used to drop itself: invalid ones (FrameError) and those taken before exposure and white
    // balance settled (FrameStartup). They are not encoded: the buffer goes straight back.
    if (buffer->metadata().status != libcamera::FrameMetadata::FrameSuccess) {
        request->reuse(libcamera::Request::ReuseBuffers);
        camera_->queueRequest(request);
        return;
    }
    const auto& planes = mapped_[request->cookie()]->planes;
    CapturedFrame f;
    f.width = options_.width;
    f.height = options_.height;
    f.planes = {CapturedPlane{planes[0], stride_}, CapturedPlane{planes[1], stride_ / 2},
                CapturedPlane{planes[2], stride_ / 2}};
    if (lores_) {
        auto* small = request->findBuffer(lores_);
        if (small && small->metadata().status == libcamera::FrameMetadata::FrameSuccess) {
            const auto& lp = loresMapped_[request->cookie()]->planes;
            f.loresWidth = options_.loresWidth;
            f.loresHeight = options_.loresHeight;
            f.lores = {CapturedPlane{lp[0], loresStride_}, CapturedPlane{lp[1], loresStride_ / 2},
                       CapturedPlane{lp[2], loresStride_ / 2}};
        }
    }
    f.timestampNs = static_cast<int64_t>(buffer->metadata().timestamp);
    f.release = [this, request] {
        if (!running_) return;
        request->reuse(libcamera::Request::ReuseBuffers);
        camera_->queueRequest(request);
    };
    queue_.push(std::move(f));
}

std::optional<EncodedPacket> CameraSource::read() {
    for (;;) {
        if (auto p = path_->receive()) return p;
        if (interrupter_.triggered()) return std::nullopt;
        auto frame = queue_.pop(kStallTimeout);
        if (interrupter_.triggered()) return std::nullopt;
        if (!frame) {
            throw SourceError(label_ + " delivered no frame for " +
                                  std::to_string(kStallTimeout.count() / 1000) + " s",
                              false);
        }
        path_->process(std::move(*frame));
    }
}

void CameraSource::close() {
    running_ = false;
    if (camera_) {
        camera_->stop();
        camera_->requestCompleted.disconnect(this);
    }
    queue_.clear();
    requests_.clear();
    mapped_.clear();
    loresMapped_.clear();
    lores_ = nullptr;
    allocator_.reset();
    path_.reset();
    if (camera_) camera_->release();
    camera_.reset();
    manager_.reset();
}

}  // namespace hlsd
