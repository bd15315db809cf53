// The source keeps its rate while HTTP is overloaded: thousands of connections opening and
// closing as fast as the test can make them, and the test pattern's segments still appear
// every segment_time, each with all its frames. Timing test (label `timing`, run alone): the
// bound is on when segments are published, which a loaded machine can also delay.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <regex>
#include <thread>
#include <vector>

#include "integration/live_server.h"
#include "support/http_client.h"

namespace hlsd::test {
namespace {

using namespace std::chrono;

// Milliseconds since midnight of each "segment ... duration=" debug line, in order.
std::vector<double> segmentTimes(const std::string& log, std::vector<double>* durations) {
    static const std::regex line(
        R"((\d\d):(\d\d):(\d\d)\.(\d\d\d) debug \[segmenter\] segment \S+ duration=([0-9.]+))");
    std::vector<double> out;
    for (std::sregex_iterator it(log.begin(), log.end(), line), end; it != end; ++it) {
        const auto& m = *it;
        out.push_back(((std::stod(m[1]) * 60 + std::stod(m[2])) * 60 + std::stod(m[3])) * 1000 +
                      std::stod(m[4]));
        if (durations) durations->push_back(std::stod(m[5]));
    }
    return out;
}

TEST(Overload, SourceKeepsItsRateWhileConnectionsChurn) {
    raiseFileLimit(8192);  // this test holds thousands of sockets itself
    Server s({"--log-level", "debug", "--max-clients", "4096", "--part-duration", "0.2"});
    ASSERT_NE(s.port, 0);
    std::this_thread::sleep_for(seconds(2));
    const size_t before = segmentTimes(s.process->errSoFar(), nullptr).size();

    // 2,000 connections held open (half of them mid-request), and threads opening, asking and
    // closing more as fast as they can, for 8 s.
    std::vector<int> held;
    for (int i = 0; i < 2000; ++i) {
        const int fd = connectTcp("127.0.0.1", s.port, 0);
        if (fd < 0) continue;
        if (i % 2) {
            const char partial[] = "GET /live/index.m3u8 HTTP/1.1\r\nHost: t\r\n";
            (void)!::send(fd, partial, sizeof partial - 1, MSG_NOSIGNAL);
        }
        held.push_back(fd);
    }
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> churned{0};
    std::vector<std::thread> churn;
    for (int t = 0; t < 4; ++t) {
        churn.emplace_back([&] {
            const std::string request = "GET /live/index.m3u8 HTTP/1.1\r\nHost: t\r\n\r\n";
            char buf[4096];
            while (!stop) {
                const int fd = connectTcp("127.0.0.1", s.port, 0);
                if (fd < 0) continue;
                (void)!::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
                if (churned % 2) (void)!::recv(fd, buf, sizeof buf, 0);  // half never read
                ::close(fd);
                ++churned;
            }
        });
    }
    std::this_thread::sleep_for(seconds(8));
    stop = true;
    for (auto& t : churn) t.join();
    for (int fd : held) ::close(fd);
    std::this_thread::sleep_for(seconds(1));

    std::vector<double> durations;
    const std::vector<double> times = segmentTimes(s.process->errSoFar(), &durations);
    ASSERT_GE(times.size(), before + 8) << "segments stopped appearing under load";
    std::vector<double> gaps;
    for (size_t i = before + 1; i < times.size(); ++i) {
        gaps.push_back(times[i] - times[i - 1]);
        EXPECT_NEAR(durations[i], 1.0, 0.001) << "segment " << i << " lost frames";
    }
    const auto [lo, hi] = std::minmax_element(gaps.begin(), gaps.end());
    std::cout << "under " << churned.load() << " connections churned in 8 s and " << held.size()
              << " held: " << gaps.size() << " segments published every " << *lo << " to " << *hi
              << " ms\n";
    // Every segment_time (1 s) ± one frame (33 ms), and a millisecond of log resolution.
    EXPECT_GE(*lo, 1000 - 34);
    EXPECT_LE(*hi, 1000 + 34);
    EXPECT_EQ(metric(s.port, "hlsd_source_dropped_frames_total"), 0);
    EXPECT_GT(churned.load(), 2000u);
    EXPECT_TRUE(s.process->running());
}

}  // namespace
}  // namespace hlsd::test
