#include <algorithm>

#include "hlsd/log.h"
#include "hlsd/source.h"
#include "source/camera_source.h"
#include "source/demux_source.h"
#include "source/fallback_source.h"
#include "source/test_source.h"

namespace hlsd {

SourceKind classifySource(const std::string& spec) {
    if (spec == "auto") return SourceKind::Auto;
    if (spec == "camera" || spec.rfind("camera:", 0) == 0) return SourceKind::Camera;
    if (spec == "test") return SourceKind::Test;
    if (spec == "-") return SourceKind::Stdin;
    if (spec.rfind("file:", 0) == 0) return SourceKind::File;
    auto scheme = spec.find("://");
    bool isUrl = scheme != std::string::npos && scheme > 0 &&
                 std::all_of(spec.begin(), spec.begin() + scheme, [](char c) {
                     return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-';
                 });
    return isUrl ? SourceKind::Url : SourceKind::File;
}

std::unique_ptr<Source> makeSource(const SourceOptions& options) {
    const std::string& spec = options.spec;
    switch (classifySource(spec)) {
        case SourceKind::Auto: {
            auto log = logger("source");
            std::vector<CameraInfo> cameras;
            try {
                cameras = listCameras();
            } catch (const SourceError& e) {
                log->warn("source auto: {}", e.what());
            }
            if (cameras.empty()) {
                log->info("source auto: no camera found by libcamera; using the test pattern");
                return std::make_unique<TestSource>(options);
            }
            log->info("source auto: using camera {} ({}); the test pattern if it cannot be opened",
                      cameras.front().model, cameras.front().id);
            return std::make_unique<FallbackSource>(std::make_unique<CameraSource>(options),
                                                    std::make_unique<TestSource>(options));
        }
        case SourceKind::Camera: {
            SourceOptions o = options;
            if (spec.size() > 7) o.camera.selector = spec.substr(7);
            return std::make_unique<CameraSource>(o);
        }
        case SourceKind::Test:
            return std::make_unique<TestSource>(options);
        case SourceKind::Stdin:
            return std::make_unique<DemuxSource>(DemuxSource::Kind::Stdin, "", options);
        case SourceKind::Url:
            return std::make_unique<DemuxSource>(DemuxSource::Kind::Url, spec, options);
        case SourceKind::File:
            break;
    }
    // file:PATH, or a bare path as with ffmpeg -i.
    std::string path = spec.rfind("file:", 0) == 0 ? spec.substr(5) : spec;
    if (path.empty()) throw SourceError("source file: needs a path, e.g. file:/video.mp4", true);
    return std::make_unique<DemuxSource>(DemuxSource::Kind::File, path, options);
}

}  // namespace hlsd
