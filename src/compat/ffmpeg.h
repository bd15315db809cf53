// What differs between the FFmpeg versions hlsd builds against (Debian 12: 5.1, libavformat 59;
// Debian 13: 7.1, libavformat 61), read off the declarations themselves, so that no function
// body needs a version check.
#pragma once

#include <cstdint>

extern "C" {
#include <libavformat/avio.h>
}

namespace hlsd::av {

template <typename>
struct WriteCallbackBuffer;
template <typename Buffer>
struct WriteCallbackBuffer<int (*)(void*, Buffer, int)> {
    using type = Buffer;
};
template <typename>
struct SixthParameter;
template <typename R, typename A1, typename A2, typename A3, typename A4, typename A5, typename A6,
          typename A7>
struct SixthParameter<R(A1, A2, A3, A4, A5, A6, A7)> {
    using type = A6;
};

// The buffer avio_alloc_context() hands its write callback: `uint8_t*` up to FFmpeg 6.0,
// `const uint8_t*` from FFmpeg 7 (6.1 with FF_API_AVIO_WRITE_NONCONST off).
using WriteBuffer = WriteCallbackBuffer<SixthParameter<decltype(avio_alloc_context)>::type>::type;

}  // namespace hlsd::av
