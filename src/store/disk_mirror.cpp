#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <regex>

#include "hlsd/log.h"
#include "hlsd/store.h"

namespace hlsd {
namespace {

const char* const kPlaylistName = "index.m3u8";

// Files this program writes: "<run>-<msn>.ts" (or .m4s, and .mp4 init sections), the
// playlist, and their hidden temp names.
bool isOurs(const std::string& name) {
    static const std::regex pattern(
        R"(^(\.)?([a-z0-9]+-[0-9]+\.(ts|m4s|mp4)|index\.m3u8)(\.tmp)?$)");
    return std::regex_match(name, pattern);
}

bool isInit(const std::string& name) {
    return name.size() > 4 && name.compare(name.size() - 4, 4, ".mp4") == 0;
}

}  // namespace

DiskMirror::DiskMirror(std::filesystem::path dir, size_t maxSegments)
    : dir_(std::move(dir)), maxSegments_(std::max<size_t>(1, maxSegments)) {
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
    if (ec) {
        throw std::runtime_error("output_dir " + dir_.string() +
                                 ": cannot create: " + ec.message());
    }
    // Segments of an earlier run would never be deleted: clear them (only files we name).
    for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
        const std::string name = entry.path().filename().string();
        if (entry.is_regular_file() && isOurs(name)) std::filesystem::remove(entry.path(), ec);
    }
    thread_ = std::thread([this] { run(); });
}

DiskMirror::~DiskMirror() {
    stop();
}

void DiskMirror::update(std::shared_ptr<const StoreSnapshot> snapshot) {
    {
        std::lock_guard lock(mutex_);
        // A new part changes nothing on disk (only whole segments are mirrored): no rewrite of
        // the playlist five times a second on an SD card.
        if (snapshot->produced == queuedProduced_ && snapshot->ended == queuedEnded_) return;
        queuedProduced_ = snapshot->produced;
        queuedEnded_ = snapshot->ended;
        pending_ = std::move(snapshot);
    }
    wake_.notify_one();
}

void DiskMirror::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_one();
    if (thread_.joinable()) thread_.join();
}

void DiskMirror::run() {
    for (;;) {
        std::shared_ptr<const StoreSnapshot> next;
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [this] { return pending_ || stopping_; });
            if (!pending_ && stopping_) return;
            next = std::move(pending_);
        }
        try {
            sync(*next);
        } catch (const std::exception& e) {
            failed(e.what());
        }
    }
}

void DiskMirror::failed(const std::string& what) {
    lastSyncOk_ = false;
    goodSyncs_ = 0;
    ++failures_;
    if (!healthy_) return;
    healthy_ = false;
    logger("store")->error(
        "output_dir {}: {} (serving from memory continues; retrying with each "
        "new segment)",
        dir_.string(), what);
}

void DiskMirror::synced() {
    lastSyncOk_ = true;
    if (healthy_ || ++goodSyncs_ < kRecoveredSyncs) return;
    healthy_ = true;
    logger("store")->info("output_dir {}: writing again ({} failed update(s) before)",
                          dir_.string(), failures_);
    failures_ = 0;
}

// After a failure the directory may have been removed, replaced or emptied: make it exist again
// and believe only what is in it.
void DiskMirror::rescan() {
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
    std::set<std::string> present;
    for (auto it = std::filesystem::directory_iterator(dir_, ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (isOurs(name) && name[0] != '.' && name != kPlaylistName) present.insert(name);
    }
    onDisk_ = std::move(present);
}

bool DiskMirror::writeAtomically(const std::string& name, const std::vector<Bytes>& chunks) {
    const auto finalPath = dir_ / name;
    const auto tempPath = dir_ / ("." + name + ".tmp");
    int fd = ::open(tempPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        failed("cannot write " + tempPath.string() + ": " + std::strerror(errno));
        return false;
    }
    for (const Bytes& chunk : chunks) {
        const auto* p = static_cast<const char*>(chunk.data);
        size_t left = chunk.size;
        while (left > 0) {
            ssize_t n = ::write(fd, p, left);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                int err = errno;
                ::close(fd);
                ::unlink(tempPath.c_str());
                failed("cannot write " + tempPath.string() + ": " + std::strerror(err));
                return false;
            }
            p += n;
            left -= static_cast<size_t>(n);
        }
    }
    if (::close(fd) != 0 || ::rename(tempPath.c_str(), finalPath.c_str()) != 0) {
        int err = errno;
        ::unlink(tempPath.c_str());
        failed("cannot publish " + finalPath.string() + ": " + std::strerror(err));
        return false;
    }
    return true;
}

void DiskMirror::sync(const StoreSnapshot& snapshot) {
    if (!lastSyncOk_) rescan();
    std::set<std::string> wanted;
    std::set<std::string> listed;
    for (size_t i = 0; i < snapshot.window.size(); ++i) {
        const Segment& s = *snapshot.window[i];
        wanted.insert(s.name);
        if (s.init) wanted.insert(s.init->name);
        if (i >= snapshot.window.size() - snapshot.listed) {
            listed.insert(s.name);
            if (s.init) listed.insert(s.init->name);
        }
    }
    auto remove = [&](std::set<std::string>::iterator it) {
        std::error_code ec;
        std::filesystem::remove(dir_ / *it, ec);
        return onDisk_.erase(it);
    };
    auto removeUnwanted = [&](bool includingListed) {
        for (auto it = onDisk_.begin(); it != onDisk_.end();) {
            bool keep = wanted.count(*it) || (!includingListed && inPlaylist_.count(*it));
            it = keep ? std::next(it) : remove(it);
        }
    };
    auto segmentsOnDisk = [&] {
        return static_cast<size_t>(
            std::count_if(onDisk_.begin(), onDisk_.end(), [](auto& n) { return !isInit(n); }));
    };
    auto write = [&](const Segment& segment) {
        if (segment.init && !onDisk_.count(segment.init->name)) {
            if (!writeAtomically(segment.init->name,
                                 {{segment.init->data.data(), segment.init->data.size()}})) {
                return false;
            }
            onDisk_.insert(segment.init->name);
        }
        if (onDisk_.count(segment.name)) return true;
        // Make room: only possible by dropping a segment the old playlist lists.
        for (auto it = onDisk_.begin(); segmentsOnDisk() >= maxSegments_ && it != onDisk_.end();) {
            it = wanted.count(*it) || isInit(*it) ? std::next(it) : remove(it);
        }
        std::vector<Bytes> chunks;
        for (const auto& part : segment.parts)
            chunks.push_back({part->data.data(), part->data.size()});
        if (!writeAtomically(segment.name, chunks)) return false;
        onDisk_.insert(segment.name);
        return true;
    };

    // 1. Segments no playlist on disk lists go first.
    removeUnwanted(false);
    // 2. The segments the new playlist lists, then the playlist: it never names a missing file.
    for (const auto& segment : snapshot.window) {
        if (listed.count(segment->name) && !write(*segment)) return;
    }
    if (snapshot.playlist.empty()) return;
    // Parts are served from memory only: the playlist on disk lists whole segments.
    const std::string& playlist =
        snapshot.plainPlaylist.empty() ? snapshot.playlist : snapshot.plainPlaylist;
    if (!writeAtomically(kPlaylistName, {{playlist.data(), playlist.size()}})) return;
    inPlaylist_ = listed;
    // 3. What the old playlist listed, now out of the window; then the rest of the window.
    removeUnwanted(true);
    for (const auto& segment : snapshot.window) {
        if (!write(*segment)) return;
    }
    synced();
}

}  // namespace hlsd
