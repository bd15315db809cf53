#include "integration/hlsd_run.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace hlsd::test {

std::vector<std::pair<std::string, double>> loggedSegments(const std::string& log) {
    std::vector<std::pair<std::string, double>> out;
    static const std::regex line(R"(segment (\S+\.ts) duration=([0-9.]+))");
    for (auto it = std::sregex_iterator(log.begin(), log.end(), line); it != std::sregex_iterator();
         ++it) {
        out.emplace_back((*it)[1], std::stod((*it)[2]));
    }
    return out;
}

std::vector<FrameInfo> probeFrames(const std::string& path) {
    auto r = run({"ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                  "frame=key_frame,pict_type", "-of", "csv=p=0", path},
                 60);
    std::vector<FrameInfo> frames;
    std::istringstream in(r.out);
    std::string line;
    while (std::getline(in, line)) {
        if (line.size() < 3) continue;
        FrameInfo f;
        f.key = line[0] == '1';
        f.pictType = line[2];
        frames.push_back(f);
    }
    return frames;
}

std::string decodeErrors(const std::string& path) {
    auto r = run({"ffmpeg", "-nostdin", "-v", "error", "-i", path, "-f", "null", "-"}, 60);
    if (r.exitCode != 0) return "ffmpeg exit " + std::to_string(r.exitCode) + ": " + r.err;
    return r.err;
}

std::vector<std::string> segmentFiles(const std::string& dir) {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
        std::string name = e.path().filename().string();
        if (name.size() > 3 && name[0] != '.' && name.substr(name.size() - 3) == ".ts") {
            out.push_back(name);
        }
    }
    return out;
}

bool waitForSegments(const Process& hlsd, size_t count, double seconds) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (loggedSegments(hlsd.errSoFar()).size() < count) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return true;
}

int waitForPort(Process& hlsd, double seconds) {
    static const std::regex bound(R"(serving on https?://\S+:(\d+)/)");
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < deadline && hlsd.running()) {
        std::smatch m;
        const std::string err = hlsd.errSoFar();
        if (std::regex_search(err, m, bound)) return std::stoi(m[1]);
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return 0;
}

bool waitForFile(const std::string& path, double seconds) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (!std::filesystem::exists(path)) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return true;
}

DirectoryWatch::DirectoryWatch(const std::string& dir) {
    fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd_ < 0 || inotify_add_watch(fd_, dir.c_str(), IN_MOVED_TO | IN_CREATE | IN_DELETE) < 0) {
        throw std::runtime_error("inotify failed on " + dir);
    }
}

DirectoryWatch::~DirectoryWatch() {
    if (fd_ >= 0) close(fd_);
}

size_t DirectoryWatch::poll() {
    size_t peak = count_;
    alignas(inotify_event) char buf[64 * 1024];
    for (;;) {
        ssize_t n = read(fd_, buf, sizeof buf);
        if (n <= 0) return peak;
        for (char* p = buf; p < buf + n;) {
            auto* e = reinterpret_cast<inotify_event*>(p);
            p += sizeof(inotify_event) + e->len;
            if (e->mask & IN_Q_OVERFLOW) overflowed_ = true;
            if (e->len == 0) continue;
            std::string name(e->name);
            bool segment =
                name.size() > 3 && name[0] != '.' && name.compare(name.size() - 3, 3, ".ts") == 0;
            if (!segment) continue;
            if (e->mask & (IN_MOVED_TO | IN_CREATE)) ++count_;
            if ((e->mask & IN_DELETE) && count_ > 0) --count_;
            peak = std::max(peak, count_);
        }
    }
}

}  // namespace hlsd::test
