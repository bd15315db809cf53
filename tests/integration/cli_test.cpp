// The command line and its errors: exit codes and messages that name the cause.
#include <gtest/gtest.h>

#include <signal.h>

#include <fstream>

#include "integration/hlsd_run.h"

namespace hlsd::test {
namespace {

TEST(Cli, CheckConfigAcceptsTheShippedFile) {
    auto r = run(hlsdArgs({"--check-config", "--config", kSourceDir + "/conf/hlsd.yml"}));
    EXPECT_EQ(r.exitCode, 0) << r.err;
    EXPECT_EQ(r.out, "configuration OK\n");
}

TEST(Cli, BadConfigFileExitsTwoNamingFileLineAndKey) {
    std::string path = makeTempDir("cli") + "/bad.yml";
    std::ofstream(path) << "# comment\nlist_size: 3\nsegment_wrap: 2\n";
    auto r = run(hlsdArgs({"--check-config", "--config", path}));
    EXPECT_EQ(r.exitCode, 2);
    EXPECT_NE(r.err.find(path + ":3: segment_wrap: must be ≥ list_size (3), got 2"),
              std::string::npos)
        << r.err;
}

TEST(Cli, FlagsOverrideTheFileAndAreNamedInErrors) {
    auto r = run(hlsdArgs({"--config", kSourceDir + "/conf/hlsd.yml", "--segment-time", "0"}));
    EXPECT_EQ(r.exitCode, 2);
    EXPECT_NE(r.err.find("command line --segment-time: segment_time: must be > 0"),
              std::string::npos)
        << r.err;
}

TEST(Cli, UnknownFlagExitsTwo) {
    auto r = run(hlsdArgs({"--segmnet-time", "1"}));
    EXPECT_EQ(r.exitCode, 2);
    EXPECT_NE(r.err.find("--segmnet-time"), std::string::npos) << r.err;
}

TEST(Cli, VersionAndHelp) {
    auto r = run(hlsdArgs({"--version"}));
    EXPECT_EQ(r.exitCode, 0);
    EXPECT_EQ(r.out.rfind("hlsd " HLSD_TEST_VERSION, 0), 0u) << r.out;
    r = run(hlsdArgs({"--help"}));
    EXPECT_EQ(r.exitCode, 0);
    for (const char* flag :
         {"--segment-time", "--segment-wrap", "--list-size", "--source", "--output-dir",
          "--no-realtime", "--loop", "--exit-on-eof", "--check-config"}) {
        EXPECT_NE(r.out.find(flag), std::string::npos) << flag;
    }
}

TEST(Cli, NonH264SourceIsRefusedWithExitTwo) {
    for (const char* media : {"mpeg2.ts", "hevc.mp4"}) {
        auto r = run(hlsdArgs({"--source", "file:" + kMedia + "/" + media}), 30);
        EXPECT_EQ(r.exitCode, 2) << media;
        EXPECT_NE(r.err.find("not H.264"), std::string::npos) << r.err;
    }
}

TEST(Cli, MissingFileIsRefusedWithExitTwo) {
    auto r = run(hlsdArgs({"--source", "file:/nonexistent/cam.mp4"}), 30);
    EXPECT_EQ(r.exitCode, 2);
    EXPECT_NE(r.err.find("file /nonexistent/cam.mp4: no such file"), std::string::npos) << r.err;
}

TEST(Cli, UnusableOutputDirIsRefusedWithExitTwo) {
    std::string file = makeTempDir("cli") + "/plainfile";
    std::ofstream(file) << "x";
    auto r = run(hlsdArgs({"--source", "test", "--output-dir", file + "/live"}), 30);
    EXPECT_EQ(r.exitCode, 2);
    EXPECT_NE(r.err.find("output_dir " + file + "/live: cannot create"), std::string::npos)
        << r.err;
}

TEST(Cli, ListCamerasSaysPlainlyThereAreNone) {
    auto r = run(hlsdArgs({"--list-cameras"}), 30);
    EXPECT_EQ(r.exitCode, 0) << r.err;
    EXPECT_EQ(r.out, "no cameras found (libcamera sees none)\n");
}

TEST(Cli, CameraSourceWithoutACameraExitsTwoNamingTheFix) {
    for (const char* spec : {"camera", "camera:1", "camera:/base/soc/i2c0mux/imx708@1a"}) {
        auto r = run(hlsdArgs({"--source", spec}), 30);
        EXPECT_EQ(r.exitCode, 2) << spec;
        EXPECT_NE(r.err.find("no camera found: libcamera sees none"), std::string::npos) << r.err;
        EXPECT_NE(r.err.find("use --source test"), std::string::npos) << r.err;
    }
}

TEST(Cli, AutoFallsBackToTheTestPatternAndSaysWhy) {
    std::string dir = makeTempDir("auto");
    Process p(
        hlsdArgs({"--source", "auto", "--width", "320", "--height", "240", "--output-dir", dir}));
    bool segment = waitForFile(dir + "/index.m3u8", 30);
    p.signal(SIGTERM);
    auto r = p.wait(5);
    EXPECT_TRUE(segment);
    EXPECT_EQ(r.exitCode, 0);
    EXPECT_NE(r.err.find("source auto: no camera found by libcamera; using the test pattern"),
              std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("H.264 encoder libx264 (no hardware encoder at /dev/video11)"),
              std::string::npos)
        << r.err;
}

}  // namespace
}  // namespace hlsd::test
