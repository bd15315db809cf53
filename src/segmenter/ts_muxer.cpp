#include "segmenter/ts_muxer.h"

extern "C" {
#include <libavformat/avformat.h>
#include <libavutil/opt.h>
}

namespace hlsd {

TsMuxer::TsMuxer(const StreamInfo& info) : output_("mpegts", info) {
    output_.writeHeader(nullptr);
}

void TsMuxer::startPart() {
    av_opt_set(output_.context()->priv_data, "mpegts_flags", "+resend_headers", 0);
}

}  // namespace hlsd
