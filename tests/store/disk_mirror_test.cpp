#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "hlsd/store.h"
#include "support/process.h"

namespace fs = std::filesystem;

namespace hlsd {
namespace {

std::shared_ptr<Segment> makeSegment(uint64_t msn) {
    auto s = std::make_shared<Segment>();
    s->msn = msn;
    s->name = "mir-" + std::to_string(msn) + ".ts";
    s->addPart(std::make_shared<Part>(
        Part{std::vector<uint8_t>(188 * 10, static_cast<uint8_t>(msn)), 1.0, true, nullptr}));
    s->duration = 1.0;
    return s;
}

std::set<std::string> listDir(const std::string& dir) {
    std::set<std::string> names;
    for (const auto& e : fs::directory_iterator(dir)) names.insert(e.path().filename().string());
    return names;
}

TEST(DiskMirror, RemovesOnlyStaleFilesItWouldHaveWritten) {
    std::string dir = test::makeTempDir("mirror");
    for (const char* name :
         {"old123-7.ts", "index.m3u8", ".old123-8.ts.tmp", "notes.txt", "movie.ts"}) {
        std::ofstream(dir + "/" + name) << "x";
    }
    DiskMirror mirror(dir, 3);
    mirror.stop();
    EXPECT_EQ(listDir(dir), (std::set<std::string>{"notes.txt", "movie.ts"}));
}

TEST(DiskMirror, MirrorsTheWindowAndPlaylist) {
    std::string dir = test::makeTempDir("mirror");
    SegmentStore store({3, 2, 1.0});
    DiskMirror mirror(dir, 3);
    store.addObserver([&](auto snap) { mirror.update(std::move(snap)); });
    for (uint64_t i = 0; i < 10; ++i) {
        store.publish(makeSegment(i));
        size_t segments = 0;
        for (const auto& name : listDir(dir))
            segments += name.size() > 3 && name.substr(name.size() - 3) == ".ts";
        EXPECT_LE(segments, 3u);
    }
    mirror.stop();
    EXPECT_EQ(listDir(dir),
              (std::set<std::string>{"index.m3u8", "mir-7.ts", "mir-8.ts", "mir-9.ts"}));
    EXPECT_EQ(test::readFile(dir + "/index.m3u8"), store.snapshot()->playlist);
    EXPECT_EQ(test::readFile(dir + "/mir-9.ts"), std::string(1880, '\x09'));
}

TEST(DiskMirror, UncreatableDirectoryIsNamed) {
    std::string dir = test::makeTempDir("mirror");
    std::ofstream(dir + "/file") << "x";
    try {
        DiskMirror mirror(dir + "/file/sub", 3);
        FAIL();
    } catch (const std::exception& e) {
        EXPECT_NE(std::string(e.what()).find("output_dir " + dir + "/file/sub: cannot create"),
                  std::string::npos)
            << e.what();
    }
}

TEST(DiskMirror, WriteFailureKeepsThePreviousPlaylistAndRecovers) {
    std::string dir = test::makeTempDir("mirror");
    SegmentStore store({3, 2, 1.0});
    DiskMirror mirror(dir, 3);
    store.addObserver([&](auto snap) { mirror.update(std::move(snap)); });
    store.publish(makeSegment(0));
    // Block the next segment's temp name with a directory: its write fails (even as root).
    fs::create_directory(dir + "/.mir-1.ts.tmp");
    store.publish(makeSegment(1));
    for (int i = 0; i < 200 && !fs::exists(dir + "/mir-0.ts"); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    // The playlist on disk never lists a segment that is not there.
    EXPECT_EQ(test::readFile(dir + "/index.m3u8").find("mir-1.ts"), std::string::npos);
    EXPECT_FALSE(fs::exists(dir + "/mir-1.ts"));
    fs::remove(dir + "/.mir-1.ts.tmp");
    store.publish(makeSegment(2));  // space is back: the next update catches up
    mirror.stop();
    EXPECT_TRUE(fs::exists(dir + "/mir-1.ts"));
    EXPECT_TRUE(fs::exists(dir + "/mir-2.ts"));
    EXPECT_EQ(test::readFile(dir + "/index.m3u8"), store.snapshot()->playlist);
}

// Waits until the mirror has written `name` (or gives up after a second).
void waitForName(const std::string& dir, const std::string& name) {
    for (int i = 0; i < 200 && !fs::exists(dir + "/" + name); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

TEST(DiskMirror, RecoveryIsDeclaredOnlyAfterUpdatesInARowSucceed) {
    std::string dir = test::makeTempDir("mirror");
    SegmentStore store({3, 2, 1.0});
    DiskMirror mirror(dir, 3);
    store.addObserver([&](auto snap) { mirror.update(std::move(snap)); });
    store.publish(makeSegment(0));
    waitForName(dir, "mir-0.ts");
    EXPECT_TRUE(mirror.healthy());
    // A disk that fails every other write: unhealthy throughout, not flapping.
    uint64_t msn = 1;
    for (int round = 0; round < 3; ++round, msn += 2) {
        const std::string blocker = dir + "/.mir-" + std::to_string(msn) + ".ts.tmp";
        fs::create_directory(blocker);
        store.publish(makeSegment(msn));
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        EXPECT_FALSE(mirror.healthy()) << round;
        fs::remove(blocker);
        store.publish(makeSegment(msn + 1));
        waitForName(dir, "mir-" + std::to_string(msn + 1) + ".ts");
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        EXPECT_FALSE(mirror.healthy()) << round;  // one good update is not recovery yet
    }
    for (int i = 0; i < 2; ++i) {
        store.publish(makeSegment(msn++));
        waitForName(dir, "mir-" + std::to_string(msn - 1) + ".ts");
    }
    mirror.stop();
    EXPECT_TRUE(mirror.healthy());
}

TEST(DiskMirror, ADirectoryThatWasRemovedIsMadeAgainAndFilled) {
    std::string dir = test::makeTempDir("mirror") + "/live";
    SegmentStore store({3, 2, 1.0});
    DiskMirror mirror(dir, 3);
    store.addObserver([&](auto snap) { mirror.update(std::move(snap)); });
    store.publish(makeSegment(0));
    waitForName(dir, "index.m3u8");
    fs::remove_all(dir);
    std::ofstream(dir) << "in the way";  // the first update after this fails
    store.publish(makeSegment(1));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_FALSE(mirror.healthy());
    fs::remove(dir);
    store.publish(makeSegment(2));
    mirror.stop();
    // Everything the window holds, the segment written before the removal included.
    EXPECT_EQ(listDir(dir),
              (std::set<std::string>{"index.m3u8", "mir-0.ts", "mir-1.ts", "mir-2.ts"}));
    EXPECT_EQ(test::readFile(dir + "/index.m3u8"), store.snapshot()->playlist);
}

}  // namespace
}  // namespace hlsd
