// libav* error codes as text.
#pragma once

#include <string>

extern "C" {
#include <libavutil/error.h>
}

namespace hlsd {

inline std::string avError(int code) {
    char buf[AV_ERROR_MAX_STRING_SIZE] = {};
    av_strerror(code, buf, sizeof buf);
    return buf;
}

}  // namespace hlsd
