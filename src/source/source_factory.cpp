#include <algorithm>

#include "hlsd/source.h"
#include "source/demux_source.h"
#include "source/test_source.h"

namespace hlsd {

std::unique_ptr<Source> makeSource(const SourceOptions& options) {
    const std::string& spec = options.spec;
    if (spec == "test") return std::make_unique<TestSource>(options);
    if (spec == "-") return std::make_unique<DemuxSource>(DemuxSource::Kind::Stdin, "", options);
    if (spec.rfind("file:", 0) == 0) {
        std::string path = spec.substr(5);
        if (path.empty())
            throw SourceError("source file: needs a path, e.g. file:/video.mp4", true);
        return std::make_unique<DemuxSource>(DemuxSource::Kind::File, path, options);
    }
    auto scheme = spec.find("://");
    bool isUrl = scheme != std::string::npos && scheme > 0 &&
                 std::all_of(spec.begin(), spec.begin() + scheme, [](char c) {
                     return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-';
                 });
    if (isUrl) return std::make_unique<DemuxSource>(DemuxSource::Kind::Url, spec, options);
    // A bare path is a file, as with ffmpeg -i.
    return std::make_unique<DemuxSource>(DemuxSource::Kind::File, spec, options);
}

}  // namespace hlsd
