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
    s->data.assign(188 * 10, static_cast<uint8_t>(msn));
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
    store.setObserver([&](auto snap) { mirror.update(std::move(snap)); });
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
    store.setObserver([&](auto snap) { mirror.update(std::move(snap)); });
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

}  // namespace
}  // namespace hlsd
