#include "hlsd/config.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <regex>

#include "support/process.h"

namespace hlsd {
namespace {

const std::string kShipped = std::string(HLSD_SOURCE_DIR) + "/conf/hlsd.yml";

std::string writeYaml(const std::string& text) {
    static int counter = 0;
    std::string path = test::makeTempDir("cfg") + "/c" + std::to_string(counter++) + ".yml";
    std::ofstream(path) << text;
    return path;
}

// Loads and validates YAML text from a fresh file: the file's path and the error ("" if none).
struct Loaded {
    std::string path;
    std::string error;
    Config config;
};

Loaded load(const std::string& yaml) {
    Loaded out{writeYaml(yaml), "", {}};
    try {
        loadConfigFile(out.path, out.config);
        validateConfig(out.config);
    } catch (const ConfigError& e) {
        out.error = e.what();
    }
    return out;
}

// What validateConfig says of `c` ("" if nothing).
std::string validationError(const Config& c) {
    try {
        validateConfig(c);
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "";
}

// Expects loading `yaml` to fail with exactly "<its path>" + `suffix`.
void expectError(const std::string& yaml, const std::string& suffix) {
    Loaded r = load(yaml);
    EXPECT_EQ(r.error, r.path + suffix) << yaml;
}

TEST(Config, ShippedFileLoadsAndValidates) {
    Config c;
    ASSERT_NO_THROW(loadConfigFile(kShipped, c));
    ASSERT_NO_THROW(validateConfig(c));
    EXPECT_EQ(c.source, "auto");
    EXPECT_DOUBLE_EQ(c.segmentTime, 1.0);
    EXPECT_EQ(c.segmentWrap, 11);
    EXPECT_EQ(c.listSize, 5);
    EXPECT_EQ(c.bitrate, 2'000'000);
}

TEST(Config, ShippedFileDocumentsEveryKeyWithAComment) {
    std::string text = test::readFile(kShipped);
    for (const auto& key : configKeys()) {
        // The key at the start of a line, preceded by a comment line.
        std::regex documented("#[^\n]*\n" + key + ":");
        EXPECT_TRUE(std::regex_search(text, documented)) << key << " lacks a comment above it";
    }
}

TEST(Config, ShippedDefaultsEqualBuiltInDefaults) {
    Config fromFile;
    loadConfigFile(kShipped, fromFile);
    Config builtIn;
    EXPECT_EQ(fromFile.source, builtIn.source);
    EXPECT_EQ(fromFile.segmentWrap, builtIn.segmentWrap);
    EXPECT_EQ(fromFile.listSize, builtIn.listSize);
    EXPECT_DOUBLE_EQ(fromFile.partDuration, builtIn.partDuration);
    EXPECT_DOUBLE_EQ(fromFile.keyframeInterval, builtIn.keyframeInterval);
    EXPECT_EQ(fromFile.container, builtIn.container);
    EXPECT_EQ(fromFile.width, builtIn.width);
    EXPECT_EQ(fromFile.logLevel, builtIn.logLevel);
    EXPECT_EQ(fromFile.maxClients, builtIn.maxClients);
    EXPECT_EQ(fromFile.maxRequestSize, builtIn.maxRequestSize);
    EXPECT_EQ(fromFile.httpTimeout, builtIn.httpTimeout);
    EXPECT_EQ(fromFile.headerTimeout, builtIn.headerTimeout);
}

TEST(Config, HttpLimitsHaveSafeBounds) {
    Loaded ok = load("max_clients: 64\nmax_request_size: 4096\nheader_timeout: 3\n");
    EXPECT_EQ(ok.error, "");
    EXPECT_EQ(ok.config.maxClients, 64);
    EXPECT_EQ(ok.config.maxRequestSize, 4096);
    EXPECT_EQ(ok.config.headerTimeout, 3);
    expectError("max_clients: 2\n", ":1: max_clients: must be 4..100000, got 2");
    expectError("max_request_size: 100\n",
                ":1: max_request_size: must be 1024..1048576 bytes, got 100");
    expectError("header_timeout: 0\n", ":1: header_timeout: must be 1..300 seconds, got 0");
}

TEST(Config, LowLatencyKeys) {
    Loaded ok = load("part_duration: 0.25\ncontainer: fmp4\n");
    EXPECT_EQ(ok.error, "");
    EXPECT_DOUBLE_EQ(ok.config.partDuration, 0.25);
    EXPECT_EQ(ok.config.container, "fmp4");
    EXPECT_EQ(load("part_duration: 0\n").error, "");  // plain HLS
    expectError("part_duration: 0.01\n",
                ":1: part_duration: must be 0 (no LL-HLS parts) or 0.05..segment_time (1) "
                "seconds, got 0.01");
    expectError("segment_time: 0.5\npart_duration: 0.6\n",
                ":2: part_duration: must be 0 (no LL-HLS parts) or 0.05..segment_time (0.5) "
                "seconds, got 0.6");
    expectError("container: mp4\n", ":1: container: expected mpegts or fmp4, got \"mp4\"");
    EXPECT_TRUE(Config{}.holdPlainPlaylists);
    EXPECT_FALSE(load("hold_plain_playlists: false\n").config.holdPlainPlaylists);
    expectError("hold_plain_playlists: sometimes\n",
                ":1: hold_plain_playlists: expected true or false, got \"sometimes\"");
}

// keyframe_interval: 0 (auto) or 0.02..segment_time, like part_duration's bounds.
TEST(Config, KeyframeIntervalBounds) {
    Loaded ok = load("keyframe_interval: 0.5\n");
    EXPECT_EQ(ok.error, "");
    EXPECT_DOUBLE_EQ(ok.config.keyframeInterval, 0.5);
    EXPECT_EQ(load("keyframe_interval: 0\n").error, "");     // auto
    EXPECT_EQ(load("keyframe_interval: 0.02\n").error, "");  // the bounds themselves
    EXPECT_EQ(load("keyframe_interval: 1\n").error, "");
    EXPECT_EQ(load("segment_time: 2\nkeyframe_interval: 2\n").error, "");
    expectError("keyframe_interval: 0.01\n",
                ":1: keyframe_interval: must be 0 (auto) or 0.02..segment_time (1) seconds, got "
                "0.01");
    expectError("keyframe_interval: -0.2\n",
                ":1: keyframe_interval: must be 0 (auto) or 0.02..segment_time (1) seconds, got "
                "-0.2");
    expectError("segment_time: 0.5\nkeyframe_interval: 0.6\n",
                ":2: keyframe_interval: must be 0 (auto) or 0.02..segment_time (0.5) seconds, "
                "got 0.6");
    expectError("keyframe_interval: 1.5\n",
                ":1: keyframe_interval: must be 0 (auto) or 0.02..segment_time (1) seconds, got "
                "1.5");
    expectError("keyframe_interval: often\n",
                ":1: keyframe_interval: expected a number, got \"often\"");
    Config c;
    setConfigValue(c, "keyframe_interval", "3", "command line --keyframe-interval");
    EXPECT_EQ(validationError(c),
              "command line --keyframe-interval: keyframe_interval: must be 0 (auto) or "
              "0.02..segment_time (1) seconds, got 3");
}

// The interval hlsd's own encoder uses: keyframe_interval if set, else one keyframe per part,
// else one per segment.
TEST(Config, EffectiveKeyframeInterval) {
    Config c;
    EXPECT_DOUBLE_EQ(c.keyframeInterval, 0.0);            // auto by default...
    EXPECT_DOUBLE_EQ(effectiveKeyframeInterval(c), 0.2);  // ...one per default part
    c.partDuration = 0.25;
    EXPECT_DOUBLE_EQ(effectiveKeyframeInterval(c), 0.25);
    c.partDuration = 0;  // no parts: one per segment
    c.segmentTime = 2;
    EXPECT_DOUBLE_EQ(effectiveKeyframeInterval(c), 2.0);
    c.keyframeInterval = 0.5;  // set: wins either way
    EXPECT_DOUBLE_EQ(effectiveKeyframeInterval(c), 0.5);
    c.partDuration = 0.2;
    EXPECT_DOUBLE_EQ(effectiveKeyframeInterval(c), 0.5);
    EXPECT_DOUBLE_EQ(effectiveKeyframeInterval(load("keyframe_interval: 1\n").config), 1.0);
    EXPECT_DOUBLE_EQ(effectiveKeyframeInterval(load("segment_time: 2\npart_duration: 0\n").config),
                     2.0);
    Config shipped;
    loadConfigFile(kShipped, shipped);
    EXPECT_DOUBLE_EQ(shipped.keyframeInterval, 0.0);
    EXPECT_DOUBLE_EQ(effectiveKeyframeInterval(shipped), shipped.partDuration);
}

// A keyframe interval longer than the parts, with LL-HLS on: parts without a keyframe.
TEST(Config, KeyframeIntervalLongerThanAPartIsWarned) {
    auto keyframeWarnings = [](const Config& c) {
        std::vector<std::string> out;
        for (const auto& w : configWarnings(c))
            if (w.find("keyframe_interval") != std::string::npos) out.push_back(w);
        return out;
    };
    Config c;
    EXPECT_TRUE(keyframeWarnings(c).empty());  // auto: one per part
    c.keyframeInterval = 0.2;                  // equal to part_duration
    EXPECT_TRUE(keyframeWarnings(c).empty());
    c.keyframeInterval = 0.1;  // shorter
    EXPECT_TRUE(keyframeWarnings(c).empty());
    c.keyframeInterval = 0.5;
    auto w = keyframeWarnings(c);
    ASSERT_EQ(w.size(), 1u);
    EXPECT_EQ(w[0].rfind("keyframe_interval 0.5 is longer than part_duration 0.2: ", 0), 0u)
        << w[0];
    c.partDuration = 0;  // no LL-HLS: nothing to warn about
    EXPECT_TRUE(keyframeWarnings(c).empty());
    c.partDuration = 0.5;
    EXPECT_TRUE(keyframeWarnings(c).empty());
    // The defaults otherwise follow RFC 8216 §6.2.2 (see WarningsFollowRfc8216Section6_2_2).
    EXPECT_TRUE(configWarnings(Config{}).empty());
}

TEST(Config, DefaultContainerIsFmp4) {
    EXPECT_EQ(Config{}.container, "fmp4");
    EXPECT_EQ(load("").config.container, "fmp4");
    Config shipped;
    loadConfigFile(kShipped, shipped);
    EXPECT_EQ(shipped.container, "fmp4");
    EXPECT_EQ(load("container: mpegts\n").config.container, "mpegts");
}

TEST(Config, WrapBelowListSizeNamesFileLineAndKey) {
    expectError("segment_time: 1\nsegment_wrap: 2\nlist_size: 3\n",
                ":2: segment_wrap: must be ≥ list_size (3), got 2: the playlist cannot list "
                "segments not kept");
}

TEST(Config, NonPositiveSegmentTimeIsRefused) {
    expectError("list_size: 1\nsegment_time: 0\n",
                ":2: segment_time: must be > 0 and ≤ 60 seconds, got 0");
    expectError("segment_time: -1\n", ":1: segment_time: must be > 0 and ≤ 60 seconds, got -1");
}

TEST(Config, UnknownKeyIsRefusedWithItsLine) {
    expectError("source: test\n\nsegment_tme: 1\n", ":3: unknown key \"segment_tme\"");
}

TEST(Config, BadValuesNameKeyAndValue) {
    expectError("segment_time: fast\n", ":1: segment_time: expected a number, got \"fast\"");
    expectError("list_size: 2.5\n", ":1: list_size: expected a whole number, got \"2.5\"");
    expectError("loop: maybe\n", ":1: loop: expected true or false, got \"maybe\"");
    expectError("bitrate: 2Mbps\n",
                ":1: bitrate: expected bits per second like 2000000, 2000k or 2M, got "
                "\"2Mbps\"");
    expectError("log_level: loud\n",
                ":1: log_level: expected one of trace, debug, info, warn, error, critical, off, "
                "got \"loud\"");
    expectError("width: [1, 2]\n", ":1: width: expected a single value, not a list or mapping");
    expectError("width: 1279\n", ":1: width: must be even, 16..8192, got 1279");
    expectError("fps: 0\n", ":1: fps: must be > 0 and ≤ 240, got 0");
    expectError("source:\n", ":1: source: has no value");
}

TEST(Config, BadYamlNamesTheLine) {
    Loaded r = load("source: test\nsegment_time: [1\n");
    EXPECT_EQ(r.error.rfind(r.path + ":", 0), 0u) << r.error;
    EXPECT_NE(r.error.find("invalid YAML"), std::string::npos) << r.error;
}

TEST(Config, TopLevelMustBeAMapping) {
    expectError("- a\n- b\n", ":1: expected a mapping of key: value at the top level");
}

// Found by fuzz/config_fuzz.cpp: a list or mapping as a key escaped as yaml-cpp's exception.
TEST(Config, KeyMustBeAName) {
    expectError("source: test\n? [segment_time]\n: 1\n",
                ":2: expected a key name, not a list or mapping");
    expectError("{a: b}: c\n", ":1: expected a key name, not a list or mapping");
    expectError("~: 1\n", ":1: unknown key \"null\"");
}

TEST(Config, UnreadableFileIsNamed) {
    Config c;
    try {
        loadConfigFile("/nonexistent/hlsd.yml", c);
        FAIL() << "no error";
    } catch (const ConfigError& e) {
        EXPECT_EQ(std::string(e.what()),
                  "/nonexistent/hlsd.yml: cannot read config file: No such file or directory");
    }
}

// http_threads sized the worker pool of the server before the event loop: a configuration that
// still has it loads, with a warning naming where it is.
TEST(Config, RetiredHttpThreadsLoadsWithAWarning) {
    Loaded old = load("max_clients: 64\nhttp_threads: 4\n");
    EXPECT_EQ(old.error, "");
    const auto w = configWarnings(old.config);
    ASSERT_EQ(w.size(), 1u);
    EXPECT_NE(w[0].find(":2: http_threads is no longer used"), std::string::npos) << w[0];
}

TEST(Config, MjpegKeys) {
    const Config c = load("mjpeg_quality: 60\nmjpeg_width: 640\nmjpeg_fps: 10\n").config;
    EXPECT_EQ(c.mjpegQuality, 60);
    EXPECT_EQ(c.mjpegWidth, 640);
    EXPECT_EQ(c.mjpegHeight, 0);
    EXPECT_DOUBLE_EQ(c.mjpegFps, 10);
    expectError("mjpeg_quality: 0\n", ":1: mjpeg_quality: must be 1..100, got 0");
    expectError("mjpeg_width: 641\n",
                ":1: mjpeg_width: must be 0 (the source's) or even, 16..8192, got 641");
    expectError("mjpeg_height: 8\n",
                ":1: mjpeg_height: must be 0 (the source's) or even, 16..8192, got 8");
    expectError("mjpeg_fps: 0.1\n", ":1: mjpeg_fps: must be 0 (every frame) or 0.5..240, got 0.1");
}

TEST(Config, HttpLoopsIsACountOrZeroForOnePerCpu) {
    EXPECT_EQ(load("http_loops: 3\n").config.httpLoops, 3);
    EXPECT_EQ(load("").config.httpLoops, 0);
    expectError("http_loops: -1\n", ":1: http_loops: must be 0 (one per CPU) .. 64, got -1");
    expectError("http_loops: 65\n", ":1: http_loops: must be 0 (one per CPU) .. 64, got 65");
}

TEST(Config, EmptyFileMeansDefaults) {
    EXPECT_EQ(load("").error, "");
    EXPECT_EQ(load("# only comments\n").error, "");
    EXPECT_EQ(load("output_dir:\n").error, "");  // empty: memory only
}

TEST(Config, CommandLineOriginIsNamed) {
    Config c;
    setConfigValue(c, "list_size", "12", "command line --list-size");
    EXPECT_EQ(validationError(c),
              "command line --list-size: list_size: must be ≤ segment_wrap (11), got 12: the "
              "playlist cannot list segments not kept");
    setConfigValue(c, "segment_wrap", "4", "command line --segment-wrap");
    EXPECT_EQ(validationError(c).rfind("command line --segment-wrap: segment_wrap:", 0), 0u);
}

TEST(Config, LoopWithExitOnEofIsRefused) {
    expectError("source: file:a.mp4\nloop: true\nexit_on_eof: true\n",
                ":3: exit_on_eof: cannot be combined with loop: a looping source never ends");
}

TEST(Config, CameraKeys) {
    expectError("rotation: 90\n",
                ":1: rotation: must be 0 or 180 (sensors cannot rotate by 90), got 90");
    expectError("encoder: nvenc\n",
                ":1: encoder: expected one of auto, v4l2m2m, x264, got \"nvenc\"");
    expectError("profile: extended\n",
                ":1: profile: expected one of baseline, main, high, got \"extended\"");
    expectError("awb: sunny\n",
                ":1: awb: expected one of auto, incandescent, tungsten, fluorescent, indoor, "
                "daylight, cloudy, custom, got \"sunny\"");
    expectError("brightness: 2\n", ":1: brightness: must be -1..1, got 2");
    Loaded ok = load("source: camera:1\nrotation: 180\nhflip: yes\nencoder: x264\n");
    EXPECT_EQ(ok.error, "");
}

TEST(Config, LoopIsForFiles) {
    expectError("source: test\nloop: true\n",
                ":2: loop: only repeats a file source, and source is \"test\"");
    expectError("source: \"-\"\nloop: true\n",
                ":2: loop: only repeats a file source, and source is \"-\"");
    expectError("source: rtsp://cam/s\nloop: yes\n",
                ":2: loop: only repeats a file source, and source is \"rtsp://cam/s\"");
    EXPECT_EQ(load("source: file:/a.mp4\nloop: true\n").error, "");
    EXPECT_EQ(load("source: /videos/a.mp4\nloop: true\n").error, "");
}

TEST(Config, WarningsFollowRfc8216Section6_2_2) {
    Config c;  // defaults: list_size 5, wrap 11 = 2 × 5 + 1 → nothing to warn about
    EXPECT_TRUE(configWarnings(c).empty());
    c.listSize = 2;
    c.segmentWrap = 5;
    auto w = configWarnings(c);
    ASSERT_EQ(w.size(), 1u);
    EXPECT_NE(w[0].find("list_size 2"), std::string::npos);
    c.listSize = 5;
    c.segmentWrap = 10;
    w = configWarnings(c);
    ASSERT_EQ(w.size(), 1u);
    EXPECT_NE(w[0].find("segment_wrap ≥ 11"), std::string::npos);
    c.segmentWrap = 11;
    EXPECT_TRUE(configWarnings(c).empty());
}

// Shaka Player (low-latency mode off) needs over 1 s listed before its 3-target-duration
// hold-back, or its start-up seek can be lost (LowLatency.ShippedPlaylistLeavesPlayersASeekWindow).
TEST(Config, PlaylistsWithoutASeekWindowAreWarned) {
    auto seekWarnings = [](double segmentTime, int listSize) {
        Config c;
        c.segmentTime = segmentTime;
        c.listSize = listSize;
        c.segmentWrap = 2 * listSize + 1;
        c.partDuration = std::min(c.partDuration, segmentTime);
        std::vector<std::string> out;
        for (const auto& w : configWarnings(c))
            if (w.find("seek window") != std::string::npos) out.push_back(w);
        return out;
    };
    auto w = seekWarnings(1, 3);
    ASSERT_EQ(w.size(), 1u);
    EXPECT_EQ(w[0],
              "list_size 3 × segment_time 1 s leaves players that start 3 target durations from "
              "the end a seek window of 0 s; Shaka Player needs over 1 s or it may seek again ~3 s "
              "after starting (2 stalls): use list_size ≥ 5 (segment_wrap ≥ 11)");
    EXPECT_EQ(seekWarnings(1, 4).size(), 1u) << "1 s is not over 1 s";
    EXPECT_TRUE(seekWarnings(1, 5).empty());
    w = seekWarnings(2, 3);  // 6 s listed, 6 s held back
    ASSERT_EQ(w.size(), 1u);
    EXPECT_NE(w[0].find("use list_size ≥ 4 (segment_wrap ≥ 9)"), std::string::npos) << w[0];
    EXPECT_TRUE(seekWarnings(2, 4).empty());
    w = seekWarnings(0.5, 8);  // TARGETDURATION is at least 1: 4 s listed, 3 s held back
    ASSERT_EQ(w.size(), 1u);
    EXPECT_NE(w[0].find("use list_size ≥ 9"), std::string::npos) << w[0];
    EXPECT_TRUE(seekWarnings(0.5, 9).empty());
    EXPECT_TRUE(seekWarnings(1, 2).empty()) << "list_size < 3 has its own warning";
}

TEST(Units, Bitrates) {
    EXPECT_EQ(parseBitrate("2000000"), 2'000'000);
    EXPECT_EQ(parseBitrate("2M"), 2'000'000);
    EXPECT_EQ(parseBitrate("2m"), 2'000'000);  // same as M: bits, never milli
    EXPECT_EQ(parseBitrate("2.5M"), 2'500'000);
    EXPECT_EQ(parseBitrate("800k"), 800'000);
    EXPECT_EQ(parseBitrate("800K"), 800'000);
    EXPECT_EQ(parseBitrate("1G"), 1'000'000'000);
    EXPECT_FALSE(parseBitrate(""));
    EXPECT_FALSE(parseBitrate("M"));
    EXPECT_FALSE(parseBitrate("-1M"));
    EXPECT_FALSE(parseBitrate("0"));
    EXPECT_FALSE(parseBitrate("2 M"));
    EXPECT_FALSE(parseBitrate("2Mb"));
    EXPECT_FALSE(parseBitrate("100G"));
}

}  // namespace
}  // namespace hlsd
