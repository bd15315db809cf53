// Integration-test support: run the real hlsd binary and inspect what it wrote with ffprobe.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "support/m3u8.h"
#include "support/process.h"

namespace hlsd::test {

inline const std::string kBinary = HLSD_BINARY;
inline const std::string kMedia = HLSD_TEST_MEDIA;
inline const std::string kSourceDir = HLSD_SOURCE_DIR;

// The binary with `extra`; on a free loopback port unless `extra` says where to listen, so
// tests running side by side never collide on the default :8080; MPEG-TS unless `extra` names
// a container (these tests read .ts segments; the fMP4 ones say so).
inline std::vector<std::string> hlsdArgs(std::vector<std::string> extra) {
    std::vector<std::string> args{kBinary};
    bool listens = false;
    bool container = false;
    for (const auto& a : extra) {
        listens = listens || a == "--listen";
        container = container || a == "--container";
    }
    if (!listens) args.insert(args.end(), {"--listen", "127.0.0.1:0"});
    if (!container) args.insert(args.end(), {"--container", "mpegts"});
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
}

// "segment NAME duration=D" lines of a debug log, in order.
std::vector<std::pair<std::string, double>> loggedSegments(const std::string& log);

struct FrameInfo {
    bool key = false;
    char pictType = '?';
};
// Every video frame ffprobe decodes from a file on its own.
std::vector<FrameInfo> probeFrames(const std::string& path);
// ffmpeg decodes the file with -v error: empty when there was nothing to complain about.
std::string decodeErrors(const std::string& path);
// The .ts files in a directory (hidden temp files excluded).
std::vector<std::string> segmentFiles(const std::string& dir);
// Waits until the debug log of `hlsd` has reported `count` segments (or the deadline).
bool waitForSegments(const Process& hlsd, size_t count, double seconds);
// Waits for hlsd's "serving on http://HOST:PORT/" log line: the port, or 0 if it exited or the
// deadline passed first.
int waitForPort(Process& hlsd, double seconds);
// Waits until `path` exists (or the deadline); true if it does.
bool waitForFile(const std::string& path, double seconds);

// Counts the .ts files of a directory from inotify events (renames in, deletions), in order.
class DirectoryWatch {
public:
    explicit DirectoryWatch(const std::string& dir);
    ~DirectoryWatch();
    // Reads pending events; returns the largest count seen while applying them.
    size_t poll();
    size_t count() const { return count_; }
    bool overflowed() const { return overflowed_; }

private:
    int fd_ = -1;
    size_t count_ = 0;
    bool overflowed_ = false;
};

}  // namespace hlsd::test
