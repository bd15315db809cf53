// /healthz's verdict and the pipeline's counters, from values: no server, no store thread.
#include "http/metrics.h"

#include <gtest/gtest.h>

namespace hlsd {
namespace {

using namespace std::chrono_literals;

TEST(Health, StartingThenOkThenStaleThenMirrorFailing) {
    const auto now = std::chrono::steady_clock::now();
    StoreSnapshot snap;
    snap.targetDuration = 1;
    PipelineHealth health;
    HealthVerdict v = healthVerdict(snap, health, now);
    EXPECT_EQ(v.status, 503);
    EXPECT_EQ(v.text, "starting: no segment yet");

    snap.window.push_back(std::make_shared<Segment>());
    snap.lastPublished = now - 1s;
    v = healthVerdict(snap, health, now);
    EXPECT_EQ(v.status, 200);
    EXPECT_EQ(v.text, "ok");

    snap.lastPublished = now - 6s;  // over max(5 s, 3 × TARGETDURATION)
    v = healthVerdict(snap, health, now);
    EXPECT_EQ(v.status, 503);
    EXPECT_EQ(v.text, "stale: last segment 6.0 s ago");

    snap.lastPublished = now;
    health.mirror = PipelineHealth::Mirror::Failing;
    v = healthVerdict(snap, health, now);
    EXPECT_EQ(v.status, 503);
    EXPECT_EQ(v.text.rfind("output_dir failing", 0), 0u);
    health.mirror = PipelineHealth::Mirror::Ok;
    EXPECT_EQ(healthVerdict(snap, health, now).status, 200);
}

TEST(Health, PipelineCountersRenderAsPrometheusText) {
    PipelineHealth health;
    health.droppedFrames = 3;
    health.droppedPackets = 7;
    std::string text = renderPipelineMetrics(health);
    EXPECT_NE(text.find("# TYPE hlsd_source_dropped_frames_total counter\n"
                        "hlsd_source_dropped_frames_total 3\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("hlsd_segmenter_dropped_packets_total 7\n"), std::string::npos);
    EXPECT_EQ(text.find("hlsd_disk_mirror_healthy"), std::string::npos);  // no output_dir
    health.mirror = PipelineHealth::Mirror::Failing;
    EXPECT_NE(renderPipelineMetrics(health).find("hlsd_disk_mirror_healthy 0\n"),
              std::string::npos);
}

}  // namespace
}  // namespace hlsd
