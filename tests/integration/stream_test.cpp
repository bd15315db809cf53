// /live/stream.mp4 and /live/stream.ts, the live stream as one endless HTTP body: FFmpeg (what
// VLC-less tools, go2rtc, Frigate and Home Assistant read streams with) decodes it; and at scale,
// 1,000 such bodies for 60 s beside 50 LL-HLS viewers, on hlsd's one event thread.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <iostream>
#include <iterator>
#include <regex>
#include <sstream>
#include <thread>
#include <vector>

#include "integration/live_server.h"
#include "integration/load_tools.h"
#include "support/http_client.h"
#include "support/m3u8.h"

namespace hlsd::test {
namespace {

using namespace std::chrono;

long long lastFrameCount(const std::string& progress) {
    long long frames = -1;
    static const std::regex kFrame("(^|\n)frame=([0-9]+)");
    for (auto it = std::sregex_iterator(progress.begin(), progress.end(), kFrame);
         it != std::sregex_iterator(); ++it)
        frames = std::stoll((*it)[2]);
    return frames;
}

TEST(LiveStreamRoute, FfmpegDecodesItInBothContainers) {
    for (const std::string container : {"fmp4", "mpegts"}) {
        SCOPED_TRACE(container);
        Server s({"--container", container});
        ASSERT_NE(s.port, 0);
        const std::string own = container == "fmp4" ? "/live/stream.mp4" : "/live/stream.ts";
        const std::string other = container == "fmp4" ? "/live/stream.ts" : "/live/stream.mp4";
        const HttpResponse wrong = httpGet(s.port, other);
        EXPECT_EQ(wrong.status, 404);
        EXPECT_NE(wrong.body.find(own), std::string::npos) << "the 404 names the right URL";
        const HttpResponse head = httpGet(s.port, own, "", "HEAD");
        EXPECT_EQ(head.status, 200);
        EXPECT_EQ(head.header("content-type"), container == "fmp4" ? "video/mp4" : "video/mp2t");
        EXPECT_EQ(head.header("content-length"), "") << "a body without end has no length";

        // 4 s of a live stream take about 4 s; a stalled read gives up after 5 s.
        const auto ff =
            run({"ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-progress", "pipe:1",
                 "-rw_timeout", "5000000", "-i", "http://127.0.0.1:" + std::to_string(s.port) + own,
                 "-t", "4", "-f", "null", "-"},
                30);
        const long long frames = lastFrameCount(ff.out);
        std::cout << container << ": ffmpeg decoded " << frames << " frames of " << own << "\n";
        EXPECT_FALSE(ff.timedOut);
        EXPECT_EQ(ff.exitCode, 0) << ff.err;
        EXPECT_EQ(ff.err, "") << "ffmpeg reported errors";
        EXPECT_GE(frames, 110) << "30 fps × 4 s";
        EXPECT_LE(frames, 121);
        EXPECT_EQ(s.stop().exitCode, 0);
    }
}

// The HTTP-stage issue's scale test. Timing test (label `timing`, run alone): the bounds are on
// latencies a loaded machine also stretches.
TEST(StreamLoad, ThousandLongStreamsBesideFiftyLowLatencyViewers) {
    raiseFileLimit(8192);  // this test holds thousands of sockets itself
    // The test pattern at 320x240 and 40 kbit/s: each stream a few KB/s; parts of 0.2 s.
    Server s({"--container", "fmp4", "--max-clients", "2000", "--bitrate", "40k"});
    ASSERT_NE(s.port, 0);
    const int threadsBefore = threadsOf(s.process->pid());
    const double cpuBefore = cpuSecondsOf(s.process->pid());
    constexpr int kStreams = 1000, kViewers = 50, kSeconds = 60;

    StreamReaders readers(s.port, kStreams, "/live/stream.mp4");
    std::atomic<bool> stop{false};
    std::vector<Viewer> viewers(kViewers);
    std::vector<std::thread> threads;
    for (auto& v : viewers) threads.emplace_back([&v, &s, &stop] { v.run(s.port, stop); });
    FreshClientProbe probe(s.port);
    const auto t0 = steady_clock::now();
    std::this_thread::sleep_for(seconds(kSeconds / 2));
    const int threadsDuring = threadsOf(s.process->pid());
    const double streamsOpen = metric(s.port, "hlsd_http_streams_open");
    std::this_thread::sleep_for(seconds(kSeconds / 2));
    stop = true;
    for (auto& t : threads) t.join();
    const double elapsed = duration<double>(steady_clock::now() - t0).count();
    const double cpu = cpuSecondsOf(s.process->pid()) - cpuBefore;
    const auto& streams = readers.streams();

    ASSERT_EQ(streams.size(), static_cast<size_t>(kStreams)) << "connections refused";
    uint64_t least = UINT64_MAX, most = 0, closed = 0;
    double longestGap = 0;
    for (const auto& st : streams) {
        least = std::min(least, st.bytes);
        most = std::max(most, st.bytes);
        longestGap = std::max(longestGap, st.longestGap);
        closed += st.closed;
    }
    const auto [fewestParts, failures, mostBehind] = summarize(viewers);
    std::cout << kStreams << " streams for " << elapsed << " s: " << least << " to " << most
              << " bytes each, longest silence " << longestGap << " s, " << closed << " closed; "
              << kViewers << " LL-HLS viewers: fewest parts " << fewestParts << ", at most "
              << mostBehind << " parts behind, " << failures << " failures; hlsd threads "
              << threadsBefore << " -> " << threadsDuring << ", CPU " << cpu / elapsed * 100
              << " % of a core (encoding included)\n";
    EXPECT_EQ(streamsOpen, kStreams);
    EXPECT_EQ(closed, 0u) << "a stream ended early";
    EXPECT_GT(least, static_cast<uint64_t>(kSeconds * 40000 / 8 / 2)) << "a stream fell short";
    EXPECT_LT(longestGap, 3.0) << "a stream went silent (parts come every 0.2 s)";
    EXPECT_EQ(failures, 0u);
    // Parts of 0.2 s for `elapsed` s, less one segment's start; behind by more than a segment
    // (5 parts) would mean the viewer could not keep up.
    EXPECT_GE(fewestParts, static_cast<uint64_t>(elapsed / 0.2 * 0.95));
    EXPECT_LE(mostBehind, 5);
    EXPECT_EQ(threadsDuring, threadsBefore) << "hlsd's threads grew with its viewers";
    EXPECT_EQ(metric(s.port, "hlsd_source_dropped_frames_total"), 0);
    expectFreshClientServed(probe, "1,000 streams and 50 LL-HLS viewers");
    EXPECT_EQ(s.stop().exitCode, 0);
}

}  // namespace
}  // namespace hlsd::test
