#include "segmenter/muxer.h"

#include "segmenter/fmp4_muxer.h"
#include "segmenter/ts_muxer.h"

namespace hlsd {

std::unique_ptr<Muxer> makeMuxer(Container container, const StreamInfo& info) {
    switch (container) {
        case Container::Fmp4:
            return std::make_unique<Fmp4Muxer>(info);
        case Container::MpegTs:
            break;
    }
    return std::make_unique<TsMuxer>(info);
}

}  // namespace hlsd
