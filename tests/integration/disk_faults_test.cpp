// Disk faults: output_dir becomes unwritable or full while hlsd runs. Each test asserts that the
// failure is logged once when it starts and once when it is over (not once per segment), that
// HTTP serves the playlist and segments from memory throughout (PlaylistWatch), and that the
// mirror recovers by itself: a playlist on disk again whose every segment exists, byte for byte
// what HTTP serves.
//
// Tests run as root, where file modes stop nothing. The two that always run break the
// directory in ways root cannot write through: replacing it by a regular file (unwritable), and
// a file-size limit set on the running process with prlimit(2) (full: EFBIG). The third mounts a
// small tmpfs to make it read-only and then really full (ENOSPC); it skips where mounting is not
// permitted.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "integration/fault_tools.h"
#include "support/http_client.h"

namespace hlsd::test {
namespace {

using namespace std::chrono;
namespace fs = std::filesystem;

std::vector<std::string> mirrorArgs(const std::string& dir) {
    return {"--source",       "test", "--width",     "320", "--height",       "240",
            "--segment-time", "1",    "--list-size", "3",   "--segment-wrap", "6",
            "--output-dir",   dir};
}

bool waitUntil(const std::function<bool()>& done, double seconds) {
    auto deadline = Clock::now() + duration<double>(seconds);
    while (!done()) {
        if (Clock::now() > deadline) return false;
        std::this_thread::sleep_for(milliseconds(50));
    }
    return true;
}

// What is wrong with the mirror in `dir`: "" when index.m3u8 parses and every segment it lists
// is there with the bytes HTTP serves for it (while it is still in the window).
std::string mirrorProblems(const std::string& dir, int port) {
    auto p = parseM3u8(readFile(dir + "/index.m3u8"));
    if (!p) return "index.m3u8 missing or incomplete";
    for (const auto& s : p->segments) {
        const std::string path = dir + "/" + s.uri;
        if (!fs::exists(path)) return s.uri + " is listed but missing";
        auto served = httpGet(port, "/live/" + s.uri);
        if (served.status == 200 && served.body != readFile(path)) return s.uri + " differs";
    }
    return "";
}

struct LogCounts {
    size_t failures;
    size_t recoveries;
};
LogCounts mirrorLog(const std::string& log, const std::string& dir) {
    return {countLines(log, "output_dir " + dir + ": cannot"),
            countLines(log, "output_dir " + dir + ": writing again")};
}

void report(const std::string& fault, const std::string& what) {
    std::cout << "[fault] " << fault << ": " << what << std::endl;
}

// hlsd mirroring into `dir`, watched over HTTP, once the first files are on disk.
struct MirroredHlsd {
    explicit MirroredHlsd(const std::string& dir)
        : dir(dir), hlsd(mirrorArgs(dir)), seen(makeTempDir("disk-seen")) {
        ready = hlsd.waitForPort(10);
        if (ready) watch = std::make_unique<PlaylistWatch>(hlsd.port(), seen);
        ready = ready && waitForFile(dir + "/index.m3u8", 10) && watch->waitForMsn(1, 5);
    }
    LogCounts counts() const { return mirrorLog(hlsd.log(), dir); }
    // The fault is in: the `n`th failure is logged (false if not within 5 s), and then new
    // segments keep being listed and served from memory for 3 s.
    [[nodiscard]] bool failedButServing(size_t n) {
        if (!waitUntil([&] { return counts().failures >= n; }, 5)) return false;
        expectServingFor(3);
        return true;
    }
    // The fault ended at `since`: seconds until the `n`th recovery was logged (-1: not within
    // 8 s), after which the mirror on disk must be complete.
    double recoveredSince(size_t n, Clock::time_point since) {
        if (!waitUntil([&] { return counts().recoveries >= n; }, 8)) return -1;
        const double took = secondsSince(since);
        EXPECT_EQ(mirrorProblems(dir, hlsd.port()), "");
        return took;
    }
    // While the fault lasts: new segments keep being listed and served from memory.
    void expectServingFor(double seconds) {
        const long long before = watch->newestMsn();
        std::this_thread::sleep_for(duration<double>(seconds));
        EXPECT_GE(watch->newestMsn(), before + static_cast<long long>(seconds) - 1);
        EXPECT_TRUE(hlsd.running());
    }
    void finish() {
        watch->stop();
        EXPECT_EQ(watch->problems(), std::vector<std::string>{});
        auto r = hlsd.stop();
        EXPECT_EQ(r.exitCode, 0) << r.err;
    }

    std::string dir;
    LiveHlsd hlsd;
    std::string seen;
    std::unique_ptr<PlaylistWatch> watch;
    bool ready = false;
};

TEST(DiskFaults, OutputDirReplacedByAFileThenGone) {
    const std::string base = makeTempDir("disk-replaced");
    const std::string dir = base + "/live";
    MirroredHlsd m(dir);
    ASSERT_TRUE(m.ready) << m.hlsd.log();

    // Unwritable, even for root: the directory is moved away and a regular file takes its name.
    fs::rename(dir, base + "/live.moved");
    std::ofstream(dir) << "not a directory\n";
    ASSERT_TRUE(m.failedButServing(1)) << m.hlsd.log();
    EXPECT_EQ(m.counts().failures, 1u) << m.hlsd.log();
    EXPECT_EQ(m.counts().recoveries, 0u);
    // Monitors see it: /healthz fails naming output_dir, /metrics has the mirror at 0.
    auto health = httpGet(m.hlsd.port(), "/healthz");
    EXPECT_EQ(health.status, 503);
    EXPECT_EQ(health.body.rfind("output_dir failing", 0), 0u) << health.body;
    EXPECT_NE(httpGet(m.hlsd.port(), "/metrics").body.find("hlsd_disk_mirror_healthy 0\n"),
              std::string::npos);

    // The file goes away: the mirror makes the directory again and fills it.
    const auto back = Clock::now();
    fs::remove(dir);
    const double recovered = m.recoveredSince(1, back);
    ASSERT_GE(recovered, 0) << m.hlsd.log();
    EXPECT_EQ(httpGet(m.hlsd.port(), "/healthz").status, 200);
    EXPECT_NE(httpGet(m.hlsd.port(), "/metrics").body.find("hlsd_disk_mirror_healthy 1\n"),
              std::string::npos);
    EXPECT_LE(segmentFiles(dir).size(), 6u);
    m.finish();
    EXPECT_EQ(m.counts().failures, 1u);
    EXPECT_EQ(m.counts().recoveries, 1u);
    report("output_dir replaced by a file, then removed",
           "1 error line (ENOTDIR), 1 recovery line " + std::to_string(recovered) +
               " s after the file went; HTTP kept serving");
}

TEST(DiskFaults, FileSizeLimitThenLifted) {
    const std::string dir = makeTempDir("disk-fsize") + "/live";
    MirroredHlsd m(dir);
    ASSERT_TRUE(m.ready) << m.hlsd.log();

    // A 4 KiB file-size limit on the running process: every segment write fails with EFBIG
    // (the process ignores SIGXFSZ, or it would die of it).
    rlimit old{};
    ASSERT_EQ(prlimit(m.hlsd.pid(), RLIMIT_FSIZE, nullptr, &old), 0) << std::strerror(errno);
    rlimit small{4096, old.rlim_max};
    ASSERT_EQ(prlimit(m.hlsd.pid(), RLIMIT_FSIZE, &small, nullptr), 0) << std::strerror(errno);
    ASSERT_TRUE(m.failedButServing(1)) << m.hlsd.log();
    EXPECT_EQ(m.counts().failures, 1u) << m.hlsd.log();
    EXPECT_EQ(countLines(m.hlsd.log(), "File too large"), 1u) << m.hlsd.log();

    const auto back = Clock::now();
    ASSERT_EQ(prlimit(m.hlsd.pid(), RLIMIT_FSIZE, &old, nullptr), 0) << std::strerror(errno);
    const double recovered = m.recoveredSince(1, back);
    ASSERT_GE(recovered, 0) << m.hlsd.log();
    m.finish();
    EXPECT_EQ(m.counts().failures, 1u);
    EXPECT_EQ(m.counts().recoveries, 1u);
    report("file-size limit 4 KiB (EFBIG), then lifted",
           "1 error line, 1 recovery line " + std::to_string(recovered) +
               " s after the limit was lifted; HTTP kept serving");
}

// A tmpfs mounted for the test, unmounted (lazily) whatever happens.
struct Tmpfs {
    explicit Tmpfs(const std::string& where) : dir(where) {
        fs::create_directories(dir);
        mounted = ::mount("tmpfs", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "size=4m") == 0;
        error = mounted ? 0 : errno;
    }
    ~Tmpfs() {
        if (mounted) ::umount2(dir.c_str(), MNT_DETACH);
    }
    bool remount(bool readOnly) {
        unsigned long flags = MS_REMOUNT | MS_NOSUID | MS_NODEV | (readOnly ? MS_RDONLY : 0);
        return ::mount("tmpfs", dir.c_str(), "tmpfs", flags, "size=4m") == 0;
    }
    std::string dir;
    bool mounted = false;
    int error = 0;
};

// Takes every free byte of the file system holding `path`, and keeps taking what gets freed,
// as another process filling the disk would, until stopped; then deletes its file.
class DiskHog {
public:
    explicit DiskHog(std::string path) : path_(std::move(path)) {
        thread_ = std::thread([this] {
            int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
            static const std::string chunk(4096, 'x');
            while (fd >= 0 && !stop_) {
                while (::write(fd, chunk.data(), chunk.size()) > 0) {
                }
                full_ = true;
                std::this_thread::sleep_for(milliseconds(5));
            }
            if (fd >= 0) ::close(fd);
            ::unlink(path_.c_str());
        });
    }
    ~DiskHog() { stop(); }
    void stop() {
        stop_ = true;
        if (thread_.joinable()) thread_.join();
    }
    bool full() const { return full_; }

private:
    std::string path_;
    std::atomic<bool> stop_{false};
    std::atomic<bool> full_{false};
    std::thread thread_;
};

TEST(DiskFaults, TmpfsReadOnlyThenFull) {
    const std::string base = makeTempDir("disk-tmpfs");
    Tmpfs tmpfs(base + "/live");
    if (!tmpfs.mounted) {
        GTEST_SKIP() << "mount -t tmpfs not permitted here (" << std::strerror(tmpfs.error)
                     << "; needs CAP_SYS_ADMIN): the read-only and disk-full cases are not run. "
                        "DiskFaults.OutputDirReplacedByAFileThenGone and "
                        "DiskFaults.FileSizeLimitThenLifted cover the same paths.";
    }
    const std::string dir = tmpfs.dir;
    MirroredHlsd m(dir);
    ASSERT_TRUE(m.ready) << m.hlsd.log();

    // Read-only (EROFS), then writable again.
    ASSERT_TRUE(tmpfs.remount(true)) << std::strerror(errno);
    ASSERT_TRUE(m.failedButServing(1)) << m.hlsd.log();
    auto back = Clock::now();
    ASSERT_TRUE(tmpfs.remount(false)) << std::strerror(errno);
    const double afterReadOnly = m.recoveredSince(1, back);
    ASSERT_GE(afterReadOnly, 0) << m.hlsd.log();
    EXPECT_EQ(m.counts().failures, 1u) << m.hlsd.log();
    EXPECT_EQ(countLines(m.hlsd.log(), "Read-only file system"), 1u);

    // Full (ENOSPC): another writer takes all the space, then frees it.
    {
        DiskHog hog(dir + "/filler");
        ASSERT_TRUE(waitUntil([&] { return hog.full(); }, 5));
        ASSERT_TRUE(m.failedButServing(2)) << m.hlsd.log();
        back = Clock::now();
    }
    const double afterFull = m.recoveredSince(2, back);
    ASSERT_GE(afterFull, 0) << m.hlsd.log();
    m.finish();
    EXPECT_EQ(m.counts().failures, 2u) << m.hlsd.log();
    EXPECT_EQ(m.counts().recoveries, 2u);
    EXPECT_EQ(countLines(m.hlsd.log(), "No space left on device"), 1u);
    report("tmpfs read-only, then writable",
           "1 error line (EROFS), 1 recovery line " + std::to_string(afterReadOnly) + " s after");
    report("tmpfs full (ENOSPC), then freed", "1 error line, 1 recovery line " +
                                                  std::to_string(afterFull) +
                                                  " s after; HTTP kept serving throughout");
}

}  // namespace
}  // namespace hlsd::test
