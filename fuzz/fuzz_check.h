// A check that stays on in release builds: fuzz targets must abort on a broken invariant, so
// libFuzzer (and the corpus replay test) report it as a crash with the input that caused it.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

namespace hlsd::fuzz {

[[noreturn]] inline void checkFailed(const char* file, int line, const char* condition,
                                     const std::string& detail) {
    std::fprintf(stderr, "%s:%d: invariant broken: %s\n  %s\n", file, line, condition,
                 detail.c_str());
    std::fflush(stderr);
    std::abort();
}

}  // namespace hlsd::fuzz

// `detail` (a std::string expression) is only evaluated when the check fails.
#define FUZZ_CHECK(condition, detail)                                                        \
    do {                                                                                     \
        if (!(condition)) hlsd::fuzz::checkFailed(__FILE__, __LINE__, #condition, (detail)); \
    } while (0)
