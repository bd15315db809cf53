#include <algorithm>

#include "hlsd/source.h"
#include "source/demux_source.h"
#include "source/test_source.h"

namespace hlsd {

SourceKind classifySource(const std::string& spec) {
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
