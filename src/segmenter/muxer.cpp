#include "segmenter/muxer.h"

#include <stdexcept>

#include "segmenter/ts_muxer.h"

namespace hlsd {

std::unique_ptr<Muxer> makeMuxer(Container container, const StreamInfo& info) {
    switch (container) {
        case Container::MpegTs:
            return std::make_unique<TsMuxer>(info);
        case Container::Fmp4:
            break;
    }
    throw std::runtime_error("fmp4 muxer not built in");
}

}  // namespace hlsd
