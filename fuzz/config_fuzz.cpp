// Fuzz target: the YAML configuration loader (src/config/config.cpp), as `hlsd --config FILE`
// and `--check-config` use it: loadConfigFile, then validateConfig and configWarnings.
//
// Input: the file's bytes. Any input must give a Config or a ConfigError whose message starts
// with the file name (config.h: "FILE:LINE: key: message"); any other exception escaping is a
// crash (hlsd would die with std::terminate instead of exit code 2 and one line). A config that
// passes validateConfig must hold what conf/hlsd.yml documents for each checked key.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz/fuzz_check.h"
#include "hlsd/config.h"
#include "hlsd/log.h"

namespace {

bool startsWith(const std::string& s, const std::string& prefix) {
    return s.compare(0, prefix.size(), prefix) == 0;
}

// The file lives in memory (memfd); its /proc path is what loadConfigFile opens.
struct MemoryFile {
    int fd = memfd_create("hlsd-fuzz.yml", 0);
    std::string path = "/proc/self/fd/" + std::to_string(fd);

    void set(const uint8_t* data, size_t size) {
        FUZZ_CHECK(fd >= 0, "memfd_create failed");
        FUZZ_CHECK(ftruncate(fd, 0) == 0, "ftruncate failed");
        size_t done = 0;
        while (done < size) {
            ssize_t n = pwrite(fd, data + done, size - done, static_cast<off_t>(done));
            FUZZ_CHECK(n > 0, "pwrite failed");
            done += static_cast<size_t>(n);
        }
    }
};

void checkValid(const hlsd::Config& c) {
    const std::string got = "segment_time " + std::to_string(c.segmentTime) + ", list_size " +
                            std::to_string(c.listSize) + ", segment_wrap " +
                            std::to_string(c.segmentWrap);
    FUZZ_CHECK(std::isfinite(c.segmentTime) && c.segmentTime > 0 && c.segmentTime <= 60, got);
    FUZZ_CHECK(c.listSize >= 1 && c.listSize <= c.segmentWrap && c.segmentWrap <= 10000, got);
    FUZZ_CHECK(c.partDuration == 0 || (c.partDuration >= 0.05 && c.partDuration <= c.segmentTime),
               "part_duration " + std::to_string(c.partDuration) + ", " + got);
    FUZZ_CHECK(c.keyframeInterval == 0 ||
                   (c.keyframeInterval >= 0.02 && c.keyframeInterval <= c.segmentTime),
               "keyframe_interval " + std::to_string(c.keyframeInterval) + ", " + got);
    const double keyframes = hlsd::effectiveKeyframeInterval(c);
    FUZZ_CHECK(std::isfinite(keyframes) && keyframes > 0 && keyframes <= c.segmentTime,
               "effective keyframe interval " + std::to_string(keyframes) + ", " + got);
    FUZZ_CHECK(c.container == "mpegts" || c.container == "fmp4", c.container);
    FUZZ_CHECK(c.width >= 16 && c.width <= 8192 && c.width % 2 == 0, std::to_string(c.width));
    FUZZ_CHECK(c.height >= 16 && c.height <= 8192 && c.height % 2 == 0, std::to_string(c.height));
    FUZZ_CHECK(std::isfinite(c.fps) && c.fps > 0 && c.fps <= 240, std::to_string(c.fps));
    FUZZ_CHECK(c.bitrate >= 1 && c.bitrate <= 10'000'000'000, std::to_string(c.bitrate));
    FUZZ_CHECK(c.rotation == 0 || c.rotation == 180, std::to_string(c.rotation));
    FUZZ_CHECK(c.brightness >= -1 && c.brightness <= 1, std::to_string(c.brightness));
    FUZZ_CHECK(c.maxClients >= 4 && c.maxClients <= 100000, std::to_string(c.maxClients));
    FUZZ_CHECK(c.maxRequestSize >= 1024 && c.maxRequestSize <= 1048576,
               std::to_string(c.maxRequestSize));
    FUZZ_CHECK(c.httpTimeout >= 1 && c.httpTimeout <= 300, std::to_string(c.httpTimeout));
    FUZZ_CHECK(c.headerTimeout >= 1 && c.headerTimeout <= 300, std::to_string(c.headerTimeout));
    FUZZ_CHECK(!c.source.empty(), "empty source");
    std::string host;
    int port = -1;
    FUZZ_CHECK(
        hlsd::parseListen(c.listen, host, port) && port >= 0 && port <= 65535 && !host.empty(),
        "listen " + c.listen);
    for (const auto& w : hlsd::configWarnings(c)) FUZZ_CHECK(!w.empty(), "empty warning");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static MemoryFile file;
    static const bool quiet = hlsd::setLogLevel("off");
    (void)quiet;
    file.set(data, size);

    hlsd::Config config;
    try {
        hlsd::loadConfigFile(file.path, config);
    } catch (const hlsd::ConfigError& e) {
        FUZZ_CHECK(startsWith(e.what(), file.path + ":"), std::string("message: ") + e.what());
        return 0;
    }
    const auto& keys = hlsd::configKeys();
    for (const auto& [key, origin] : config.origin) {
        FUZZ_CHECK(std::find(keys.begin(), keys.end(), key) != keys.end(), "set key " + key);
        FUZZ_CHECK(startsWith(origin, file.path + ":"), key + " from " + origin);
    }
    try {
        hlsd::validateConfig(config);
    } catch (const hlsd::ConfigError& e) {
        // Blames a key the file set (FILE:LINE) or, for a rule between keys, a default.
        const std::string message = e.what();
        FUZZ_CHECK(startsWith(message, file.path + ":") || startsWith(message, "default: "),
                   "message: " + message);
        return 0;
    }
    checkValid(config);
    return 0;
}
