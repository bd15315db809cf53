#include "source/pacer.h"

#include <gtest/gtest.h>

#include <thread>

namespace hlsd {
namespace {

using namespace std::chrono;

TEST(Pacer, SyntheticTimelineFollowsTimestampsWithoutSleeping) {
    Interrupter i;
    Pacer pacer(Pacer::Mode::Synthetic, i);
    WallClock::time_point first, later;
    auto started = steady_clock::now();
    ASSERT_TRUE(pacer.pace(1000, first));
    ASSERT_TRUE(pacer.pace(1000 + 10 * kTimeBase, later));  // 10 s of media
    EXPECT_LT(steady_clock::now() - started, seconds(1));
    EXPECT_EQ(duration_cast<milliseconds>(later - first).count(), 10000);
}

TEST(Pacer, PacedModeWaitsForEachPacketsTime) {
    Interrupter i;
    Pacer pacer(Pacer::Mode::Paced, i);
    WallClock::time_point t;
    auto started = steady_clock::now();
    for (int k = 0; k <= 6; ++k) ASSERT_TRUE(pacer.pace(k * kTimeBase / 20, t));  // 0.3 s
    EXPECT_GE(steady_clock::now() - started, milliseconds(295));
}

TEST(Pacer, FollowModeReanchorsWhenTimestampsOutrunTheClock) {
    Interrupter i;
    Pacer pacer(Pacer::Mode::Follow, i);
    WallClock::time_point a, b;
    ASSERT_TRUE(pacer.pace(0, a));
    // A live source claims 5 s passed; the wall clock says almost none: trust the clock.
    ASSERT_TRUE(pacer.pace(5 * kTimeBase, b));
    EXPECT_EQ(pacer.reanchors(), 1u);
    EXPECT_LT(b - a, milliseconds(500));
    EXPECT_LE(duration_cast<milliseconds>(b - WallClock::now()).count(), 1);
}

TEST(Pacer, InterruptEndsASleep) {
    Interrupter i;
    Pacer pacer(Pacer::Mode::Paced, i);
    WallClock::time_point t;
    ASSERT_TRUE(pacer.pace(0, t));
    std::thread stopper([&] {
        std::this_thread::sleep_for(milliseconds(50));
        i.trigger();
    });
    auto started = steady_clock::now();
    EXPECT_FALSE(pacer.pace(30 * kTimeBase, t));  // would sleep 30 s
    EXPECT_LT(steady_clock::now() - started, seconds(5));
    stopper.join();
}

}  // namespace
}  // namespace hlsd
