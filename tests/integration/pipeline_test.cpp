// The real binary on media made by ffmpeg, judged by ffprobe/ffmpeg and the files it writes.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <thread>

#include "integration/hlsd_run.h"
#include "support/ts_check.h"

namespace hlsd::test {
namespace {

using namespace std::chrono;

constexpr double kFrame = 1.0 / 30;

// ---------------------------------------------------------------------------------------------
// Every segment of every kind of input: starts with a keyframe, decodes alone, nothing lost.

struct MediaCase {
    std::string media;
    bool viaStdin;
    double segmentTime;
    double expectedSegment;  // seconds: the first keyframe at or after segment_time
    int targetDuration;
};

std::ostream& operator<<(std::ostream& os, const MediaCase& c) {
    return os << c.media << (c.viaStdin ? " via stdin" : "") << " T=" << c.segmentTime;
}

class SegmentsOfMedia : public ::testing::TestWithParam<MediaCase> {};

TEST_P(SegmentsOfMedia, EachDecodesAloneFromAKeyframeAndTheyAddUp) {
    const MediaCase& c = GetParam();
    const std::string out = makeTempDir("media");
    const std::string input = kMedia + "/" + c.media;
    std::vector<std::string> args = {"--source",       c.viaStdin ? "-" : "file:" + input,
                                     "--no-realtime",  "--exit-on-eof",
                                     "--segment-time", std::to_string(c.segmentTime),
                                     "--segment-wrap", "1000",
                                     "--list-size",    "1000",
                                     "--output-dir",   out,
                                     "--log-level",    "debug"};
    auto r = run(hlsdArgs(args), 120, c.viaStdin ? input : "");
    ASSERT_EQ(r.exitCode, 0) << r.err;

    auto playlist = parseM3u8(readFile(out + "/index.m3u8"));
    ASSERT_TRUE(playlist);
    EXPECT_TRUE(playlist->endList);
    EXPECT_TRUE(playlist->independentSegments);
    EXPECT_EQ(playlist->targetDuration, c.targetDuration);
    EXPECT_EQ(playlist->mediaSequence, 0);

    const int sourceFrames = 180;  // every input is 6 s at 30 fps
    int frames = 0;
    double sum = 0;
    for (size_t i = 0; i < playlist->segments.size(); ++i) {
        const auto& seg = playlist->segments[i];
        SCOPED_TRACE(seg.uri);
        const std::string path = out + "/" + seg.uri;
        auto decoded = probeFrames(path);
        ASSERT_FALSE(decoded.empty());
        EXPECT_TRUE(decoded[0].key);
        EXPECT_EQ(decoded[0].pictType, 'I');
        EXPECT_EQ(decodeErrors(path), "");
        EXPECT_LE(seg.duration, playlist->targetDuration + 1e-9);
        EXPECT_FALSE(seg.programDateTime.empty());
        if (i + 1 < playlist->segments.size()) {
            EXPECT_NEAR(seg.duration, c.expectedSegment, 1e-3);
        }
        EXPECT_EQ(static_cast<int>(decoded.size()), std::lround(seg.duration / kFrame));
        frames += static_cast<int>(decoded.size());
        sum += seg.duration;
    }
    EXPECT_EQ(frames, sourceFrames);
    EXPECT_NEAR(sum, sourceFrames * kFrame, kFrame);
    EXPECT_EQ(playlist->segments.size(),
              static_cast<size_t>(std::ceil(sourceFrames * kFrame / c.expectedSegment - 1e-6)));
}

INSTANTIATE_TEST_SUITE_P(Inputs, SegmentsOfMedia,
                         ::testing::Values(MediaCase{"1080p30_gop30.mp4", false, 1, 1, 1},
                                           MediaCase{"1080p30_gop30.mp4", false, 2, 2, 2},
                                           MediaCase{"720p30_gop60_bf.mp4", false, 1, 2, 2},
                                           MediaCase{"720p30_gop30_bf.ts", false, 1, 1, 1},
                                           MediaCase{"720p30_gop30_bf.ts", true, 1, 1, 1},
                                           MediaCase{"720p30_gop30.h264", true, 1, 1, 1},
                                           MediaCase{"720p30_gop30_bf.h264", true, 2, 2, 2}));

// ---------------------------------------------------------------------------------------------
// The window: (segment_time, segment_wrap, list_size) as the seed's latency table varied them.

struct WindowCase {
    double segmentTime;
    int wrap;
    int listSize;
};

std::ostream& operator<<(std::ostream& os, const WindowCase& c) {
    return os << c.segmentTime << "/" << c.wrap << "/" << c.listSize;
}

class Window : public ::testing::TestWithParam<WindowCase> {};

TEST_P(Window, PlaylistAndDirectoryHoldWhatTheKnobsSay) {
    const WindowCase& c = GetParam();
    const std::string out = makeTempDir("window");
    DirectoryWatch watch(out);
    Process hlsd(hlsdArgs(
        {"--source", "file:" + kMedia + "/360p30_gop30_30s.mp4", "--no-realtime", "--exit-on-eof",
         "--segment-time", std::to_string(c.segmentTime), "--segment-wrap", std::to_string(c.wrap),
         "--list-size", std::to_string(c.listSize), "--output-dir", out, "--log-level", "debug"}));
    // Watch the directory while it rotates as fast as the machine can go. inotify reports
    // renames into place and deletions in the order they happened, so the count is exact.
    size_t maxSegments = 0;
    int samples = 0, badPlaylists = 0;
    while (hlsd.running()) {
        maxSegments = std::max(maxSegments, watch.poll());
        std::string text = readFile(out + "/index.m3u8");
        if (!text.empty()) {
            auto p = parseM3u8(text);
            if (!p || p->segments.size() > static_cast<size_t>(c.listSize)) ++badPlaylists;
        }
        ++samples;
    }
    auto r = hlsd.wait(60);
    maxSegments = std::max(maxSegments, watch.poll());
    ASSERT_EQ(r.exitCode, 0) << r.err;
    ASSERT_FALSE(watch.overflowed());
    EXPECT_GT(samples, 0);
    EXPECT_LE(maxSegments, static_cast<size_t>(c.wrap));
    EXPECT_EQ(watch.count(), static_cast<size_t>(c.wrap));
    EXPECT_EQ(badPlaylists, 0);

    auto logged = loggedSegments(r.err);
    const size_t total = static_cast<size_t>(std::ceil(30.0 / c.segmentTime));
    ASSERT_EQ(logged.size(), total);
    double sum = 0;
    for (const auto& [name, d] : logged) sum += d;
    EXPECT_NEAR(sum, 30.0, kFrame);

    auto p = parseM3u8(readFile(out + "/index.m3u8"));
    ASSERT_TRUE(p);
    EXPECT_EQ(p->segments.size(), static_cast<size_t>(c.listSize));
    EXPECT_EQ(p->mediaSequence, static_cast<long long>(total - c.listSize));
    EXPECT_EQ(p->targetDuration, static_cast<int>(c.segmentTime));
    EXPECT_EQ(p->segments.back().uri, logged.back().first);
    EXPECT_EQ(segmentFiles(out).size(), static_cast<size_t>(c.wrap));
    for (const auto& s : p->segments) EXPECT_EQ(decodeErrors(out + "/" + s.uri), "");
}

INSTANTIATE_TEST_SUITE_P(SeedTable, Window,
                         ::testing::Values(WindowCase{1, 4, 1}, WindowCase{1, 4, 2},
                                           WindowCase{2, 4, 1}, WindowCase{4, 4, 2},
                                           WindowCase{1, 20, 5}));

// ---------------------------------------------------------------------------------------------
// Live, in real time.

bool completeSegment(const std::string& bytes) {
    return isSelfContainedTs(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

TEST(Live, AReaderDuringRotationNeverSeesPartialOrMissingFiles) {
    const std::string out = makeTempDir("reader");
    Process hlsd(
        hlsdArgs({"--source", "test", "--width", "640", "--height", "360", "--segment-time", "1",
                  "--segment-wrap", "4", "--list-size", "2", "--output-dir", out}));
    ASSERT_TRUE(waitForFile(out + "/index.m3u8", 10)) << hlsd.errSoFar();
    int reads = 0, failures = 0;
    std::string firstFailure;
    // 8 s (segments 1 s, wrap 4: several rotations) and at least 500 reads, which a slow
    // reader (a sanitizer build on a busy machine) needs longer for; 60 s at most.
    auto until = steady_clock::now() + seconds(8);
    auto latest = steady_clock::now() + seconds(60);
    while ((steady_clock::now() < until || reads < 500) && steady_clock::now() < latest) {
        std::string text = readFile(out + "/index.m3u8");
        auto p = parseM3u8(text);
        ++reads;
        if (!p || p->segments.empty()) {
            ++failures;
            if (firstFailure.empty()) firstFailure = "playlist: " + text;
            continue;
        }
        for (const auto& s : p->segments) {
            ++reads;
            if (!completeSegment(readFile(out + "/" + s.uri))) {
                ++failures;
                if (firstFailure.empty()) firstFailure = s.uri;
            }
        }
        std::this_thread::sleep_for(milliseconds(5));
    }
    hlsd.signal(SIGTERM);
    auto r = hlsd.wait(5);
    EXPECT_EQ(r.exitCode, 0) << r.err;
    EXPECT_GE(reads, 500);
    EXPECT_EQ(failures, 0) << firstFailure;
}

TEST(Live, TestPatternIsWallClockStampedAndStopsFastOnSigterm) {
    const std::string out = makeTempDir("pattern");
    Process hlsd(
        hlsdArgs({"--source", "test", "--width", "640", "--height", "360", "--segment-time", "1",
                  "--list-size", "3", "--output-dir", out, "--log-level", "debug"}));
    // Three whole segments and half of the next, counted from the first segment rather than
    // from the launch: start-up is slower under a sanitizer or on a busy machine.
    ASSERT_TRUE(waitForSegments(hlsd, 3, 15)) << hlsd.errSoFar();
    std::this_thread::sleep_for(milliseconds(500));
    auto sent = steady_clock::now();
    const std::time_t stopped = std::time(nullptr);
    hlsd.signal(SIGTERM);
    auto r = hlsd.wait(5);
    EXPECT_LT(steady_clock::now() - sent, seconds(1));
    EXPECT_EQ(r.exitCode, 0) << r.err;
    auto p = parseM3u8(readFile(out + "/index.m3u8"));
    ASSERT_TRUE(p);
    EXPECT_EQ(p->targetDuration, 1);
    EXPECT_FALSE(p->endList);  // stopped, not ended: players may wait for a restart
    ASSERT_GE(p->segments.size(), 3u);
    for (size_t i = 0; i + 1 < p->segments.size(); ++i) {
        EXPECT_DOUBLE_EQ(p->segments[i].duration, 1.0);
        EXPECT_EQ(probeFrames(out + "/" + p->segments[i].uri).size(), 30u);
    }
    // PROGRAM-DATE-TIME is the capture wall clock: the newest was seconds old when hlsd was
    // stopped, not more (ffprobe's time above is not its age).
    std::tm tm{};
    const std::string& pdt = p->segments.back().programDateTime;
    ASSERT_TRUE(strptime(pdt.c_str(), "%Y-%m-%dT%H:%M:%S", &tm)) << pdt;
    auto age = stopped - timegm(&tm);
    EXPECT_GE(age, 0);
    EXPECT_LE(age, 3);
}

TEST(Live, LoopingFileMarksEachPassAsDiscontinuity) {
    const std::string out = makeTempDir("loop");
    // 4 s of 0.5 s GOPs, looped, in real time: pass 2 starts at segment 4.
    Process hlsd(hlsdArgs({"--source", "file:" + kMedia + "/360p30_gop15.mp4", "--loop",
                           "--segment-time", "1", "--segment-wrap", "20", "--list-size", "20",
                           "--output-dir", out, "--log-level", "debug"}));
    ASSERT_TRUE(waitForSegments(hlsd, 6, 30)) << hlsd.errSoFar();
    hlsd.signal(SIGTERM);
    auto r = hlsd.wait(5);
    EXPECT_EQ(r.exitCode, 0) << r.err;
    auto p = parseM3u8(readFile(out + "/index.m3u8"));
    ASSERT_TRUE(p);
    ASSERT_GE(p->segments.size(), 5u) << r.err;
    EXPECT_EQ(p->discontinuitySequence, 0);
    for (size_t i = 0; i < p->segments.size(); ++i) {
        EXPECT_EQ(p->segments[i].discontinuity, i == 4) << i;
        EXPECT_EQ(decodeErrors(out + "/" + p->segments[i].uri), "");
    }
}

TEST(Live, TimestampJumpInAnMpegTsStreamIsADiscontinuity) {
    const std::string out = makeTempDir("jump");
    // Two 3 s TS files back to back on stdin: the second's timestamps start over.
    auto r = run(hlsdArgs({"--source", "-", "--no-realtime", "--exit-on-eof", "--segment-time", "1",
                           "--segment-wrap", "100", "--list-size", "100", "--output-dir", out}),
                 60, kMedia + "/jump.ts");
    ASSERT_EQ(r.exitCode, 0) << r.err;
    auto p = parseM3u8(readFile(out + "/index.m3u8"));
    ASSERT_TRUE(p);
    int discontinuities = 0, frames = 0;
    for (const auto& s : p->segments) {
        discontinuities += s.discontinuity;
        EXPECT_EQ(decodeErrors(out + "/" + s.uri), "");
        frames += static_cast<int>(probeFrames(out + "/" + s.uri).size());
    }
    EXPECT_EQ(discontinuities, 1);
    EXPECT_EQ(frames, 180);
}

TEST(Live, StdinThatEndsForGoodKeepsTheLastSegmentsPublished) {
    const std::string out = makeTempDir("stdin-end");
    Process hlsd(
        hlsdArgs({"--source", "-", "--segment-time", "1", "--list-size", "3", "--output-dir", out}),
        kMedia + "/part_a.ts");
    for (int i = 0; i < 200 && hlsd.errSoFar().find("stdin ended") == std::string::npos; ++i) {
        std::this_thread::sleep_for(milliseconds(50));
    }
    std::this_thread::sleep_for(milliseconds(300));
    EXPECT_TRUE(hlsd.running());  // no exit_on_eof: keep serving
    hlsd.signal(SIGTERM);
    auto r = hlsd.wait(5);
    EXPECT_EQ(r.exitCode, 0);
    EXPECT_NE(r.err.find("stdin ended; keeping the last segments"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("reconnecting"), std::string::npos) << r.err;  // a pipe never returns
    auto p = parseM3u8(readFile(out + "/index.m3u8"));
    ASSERT_TRUE(p);
    EXPECT_EQ(p->segments.size(), 3u);
}

TEST(Live, NamedFifoOnStdinReconnectsWithADiscontinuity) {
    const std::string dir = makeTempDir("fifo");
    const std::string fifo = dir + "/cam.fifo";
    ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
    const std::string out = dir + "/live";
    Process hlsd(
        hlsdArgs({"--source", "-", "--no-realtime", "--segment-time", "1", "--segment-wrap", "10",
                  "--list-size", "10", "--output-dir", out, "--log-level", "debug"}),
        fifo);
    const std::string media = readFile(kMedia + "/part_a.ts");
    auto writeOnce = [&] {
        std::ofstream writer(fifo, std::ios::binary);  // blocks until hlsd has it open
        writer.write(media.data(), static_cast<std::streamsize>(media.size()));
    };
    writeOnce();  // a first producer: 3 s of video, then it goes away
    ASSERT_TRUE(waitForSegments(hlsd, 3, 30)) << hlsd.errSoFar();
    writeOnce();  // a second producer on the same FIFO
    ASSERT_TRUE(waitForSegments(hlsd, 6, 30)) << hlsd.errSoFar();
    hlsd.signal(SIGTERM);
    auto r = hlsd.wait(5);
    EXPECT_EQ(r.exitCode, 0) << r.err;
    auto p = parseM3u8(readFile(out + "/index.m3u8"));
    ASSERT_TRUE(p);
    ASSERT_EQ(p->segments.size(), 6u) << r.err;
    for (size_t i = 0; i < 6; ++i) EXPECT_EQ(p->segments[i].discontinuity, i == 3) << i;
}

}  // namespace
}  // namespace hlsd::test
