// Source faults, live: the real binary fed through a FIFO or over loopback TCP, broken on
// purpose, watched through its HTTP playlist the way a player sees it.
//
// Every test asserts the same things: hlsd stays up (and exits 0 on SIGTERM); the playlist
// window only slides (PlaylistWatch: no listed segment vanishes before newer ones push it out,
// sequence numbers continuous, every listed segment served); every segment served starts with a
// keyframe and decodes; #EXT-X-DISCONTINUITY is on exactly the segments where the timeline
// really broke; and the first segment after the fault comes within a bound.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/stat.h>

#include <cmath>
#include <iostream>
#include <set>
#include <sstream>

#include "integration/fault_tools.h"
#include "integration/live_server.h"

namespace hlsd::test {
namespace {

using namespace std::chrono;

constexpr double kSegmentTime = 1.0;
constexpr int kTargetDuration = 1;
// The longest wait between two attempts to reach a live source (README: 0.5 s doubling to 2 s).
constexpr double kMaxBackoff = 2.0;

std::vector<std::string> liveArgs(std::vector<std::string> source) {
    std::vector<std::string> args = {"--segment-time", "1", "--list-size", "4",
                                     "--segment-wrap", "8", "--log-level", "debug"};
    source.insert(source.end(), args.begin(), args.end());
    return source;
}

// The first `frames` frames of the 30 s, 30 fps, GOP 30 TS clip: cut where frame `frames` starts.
std::string clipFrames(size_t frames) {
    std::string all = readFile(kMedia + "/360p30_gop30_30s.ts");
    auto starts = videoPesOffsets(all);
    return all.substr(0, starts.at(frames));
}

size_t framesIn(const PlaylistWatch& watch) {
    size_t n = 0;
    for (const auto& [msn, s] : watch.segments()) n += probeFrames(s.path).size();
    return n;
}

// Feeds `media` through a FIFO in `seconds` of real time, waits for hlsd to publish what it
// made of it (the last segment closes when the producer ends), and stops hlsd.
struct FedRun {
    std::unique_ptr<PlaylistWatch> watch;
    ProcessResult result;
};
FedRun feedThroughFifo(const std::string& tag, const std::string& media, double seconds,
                       long long lastMsn, std::vector<std::string> extra = {}) {
    const std::string dir = makeTempDir(tag);
    const std::string fifo = dir + "/in.fifo";
    FedRun run;
    if (mkfifo(fifo.c_str(), 0600) != 0) {
        ADD_FAILURE() << "mkfifo " << fifo;
        return run;
    }
    FifoWriter writer(fifo, media, seconds);
    std::vector<std::string> args = {"--source", "-"};
    args.insert(args.end(), extra.begin(), extra.end());
    LiveHlsd hlsd(liveArgs(args), fifo);
    if (!hlsd.waitForPort(10)) {
        ADD_FAILURE() << hlsd.log();
        return run;
    }
    run.watch = std::make_unique<PlaylistWatch>(hlsd.port(), dir);
    writer.join();
    EXPECT_TRUE(run.watch->waitForMsn(lastMsn, 3)) << hlsd.log();
    std::this_thread::sleep_for(milliseconds(300));  // nothing more may come
    run.watch->stop();
    EXPECT_TRUE(hlsd.running());
    run.result = hlsd.stop();
    EXPECT_EQ(run.result.exitCode, 0) << run.result.err;
    return run;
}

// What the watcher saw, judged: every segment decodes alone from a keyframe, and exactly the
// segments in `expected` carry #EXT-X-DISCONTINUITY.
void expectSegments(const PlaylistWatch& watch, const std::set<long long>& expected,
                    const std::set<long long>& damaged = {}) {
    EXPECT_EQ(watch.problems(), std::vector<std::string>{});
    std::set<long long> tagged;
    for (const auto& [msn, s] : watch.segments()) {
        SCOPED_TRACE(s.uri);
        if (s.discontinuity) tagged.insert(msn);
        EXPECT_LE(std::lround(s.duration), kTargetDuration + 1);
        ASSERT_FALSE(s.path.empty());
        auto frames = probeFrames(s.path);
        ASSERT_FALSE(frames.empty());
        EXPECT_TRUE(frames[0].key);
        EXPECT_EQ(frames[0].pictType, 'I');
        // A segment carrying the corrupted bytes themselves may make the decoder conceal.
        if (!damaged.count(msn)) {
            EXPECT_EQ(decodeErrors(s.path), "");
        }
    }
    EXPECT_EQ(tagged, expected);
}

// One line per fault for the report (ctest -V shows it): where the DISCONTINUITY tags went, how
// many warning lines hlsd logged about its source, and `extra`.
void report(const std::string& fault, const PlaylistWatch& watch, const std::string& log,
            const std::string& extra) {
    std::string tags;
    for (const auto& [msn, s] : watch.segments()) {
        if (s.discontinuity) tags += " " + std::to_string(msn);
    }
    const size_t warnings = countLines(log, "warning [source]") +
                            countLines(log, "warning [segmenter]") +
                            countLines(log, "warning [libav]");
    std::cout << "[fault] " << fault << ": DISCONTINUITY on msn" << (tags.empty() ? " -" : tags)
              << " (msn 0.." << watch.newestMsn() << "); " << warnings
              << " warning line(s) about the source; " << extra << std::endl;
}

std::string frameCount(const PlaylistWatch& watch, size_t of) {
    return std::to_string(framesIn(watch)) + "/" + std::to_string(of) + " frames";
}

// ---------------------------------------------------------------------------------------------
// (a) stdin is a named FIFO: the producer ends, a new one starts 3 s later.

TEST(SourceFaults, FifoProducerEndsAndANewOneTakesOver) {
    const std::string dir = makeTempDir("fault-fifo");
    const std::string fifo = dir + "/cam.fifo";
    ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
    const std::string media = readFile(kMedia + "/part_a.ts");  // 3 s, GOP 1 s

    FifoWriter first(fifo, media, 3.0);
    LiveHlsd hlsd(liveArgs({"--source", "-"}), fifo);
    ASSERT_TRUE(hlsd.waitForPort(10)) << hlsd.log();
    PlaylistWatch watch(hlsd.port(), dir);
    first.join();
    std::this_thread::sleep_for(seconds(3));  // no producer
    ASSERT_TRUE(hlsd.running()) << hlsd.log();
    const long long before = watch.newestMsn();
    EXPECT_EQ(before, 2);  // the first producer's 3 segments, the last closed at its end

    const auto back = Clock::now();
    FifoWriter second(fifo, media, 3.0);
    ASSERT_TRUE(watch.waitForMsn(before + 1, 2 * kTargetDuration + 2 + 1)) << hlsd.log();
    const double resumed = duration<double>(watch.segments()[before + 1].firstSeen - back).count();
    second.join();
    watch.waitForMsn(before + 3, 3);
    watch.stop();
    auto r = hlsd.stop();
    EXPECT_EQ(r.exitCode, 0) << r.err;

    expectSegments(watch, {before + 1});
    EXPECT_EQ(watch.newestMsn(), before + 3);
    // hlsd waited for the new producer instead of failing to open an empty FIFO in a loop.
    EXPECT_EQ(countLines(r.err, "cannot open stdin"), 0u) << r.err;
    EXPECT_GE(countLines(r.err, "waiting for a producer to open the FIFO"), 1u) << r.err;
    EXPECT_LE(resumed, kSegmentTime + 2);
    report("fifo producer replaced", watch, r.err,
           "next segment listed " + std::to_string(resumed) + " s after the new producer started");
}

// ---------------------------------------------------------------------------------------------
// (b) a network source that dies and comes back 3 s later (ffmpeg streaming a looped file).
// TCP: hlsd connects to the server (a camera, an encoder); the connection ends, hlsd reconnects
// with backoff (0.5, 1, 2 s..., from 0.5 s again since the run streamed, however long the first
// connection took) and the new run starts with a DISCONTINUITY. UDP: nothing ends
// (no data for less than the 5 s read timeout); the new sender's timestamps start over, a jump
// backwards, and the segment after it is the DISCONTINUITY. The segment open when the sender
// died is closed at that jump, so on UDP it may be listed after the outage: it must not be
// tagged, and it is the only one allowed between the outage and the tagged one.

void networkSourceComesBack(bool udp) {
    const std::string dir = makeTempDir(udp ? "fault-udp" : "fault-tcp");
    const std::string url =
        std::string(udp ? "udp" : "tcp") + "://127.0.0.1:" + std::to_string(freeLoopbackPort(udp));
    auto startSender = [&] {
        return std::make_unique<Process>(
            std::vector<std::string>{"ffmpeg", "-nostdin", "-v", "error", "-re", "-stream_loop",
                                     "-1", "-i", kMedia + "/part_a.ts", "-c", "copy", "-f",
                                     "mpegts", url + (udp ? "?pkt_size=1316" : "?listen=1")});
    };
    // hlsd first, as when it boots before the camera: its first attempts fail and back off.
    LiveHlsd hlsd(liveArgs({"--source", url}));
    ASSERT_TRUE(hlsd.waitForPort(10)) << hlsd.log();
    std::this_thread::sleep_for(milliseconds(1200));
    auto sender = startSender();
    PlaylistWatch watch(hlsd.port(), dir);
    ASSERT_TRUE(watch.waitForMsn(2, 10)) << hlsd.log();
    sender->signal(SIGKILL);
    sender->wait(5);
    const std::string upLog = hlsd.log();
    std::this_thread::sleep_for(seconds(3));  // the sender is gone
    ASSERT_TRUE(hlsd.running()) << hlsd.log();
    const long long before = watch.newestMsn();
    const std::string downLog = hlsd.log();

    const auto back = Clock::now();
    sender = startSender();
    ASSERT_TRUE(watch.waitForMsn(before + 2, 2 * kTargetDuration + 2 + 2 + kMaxBackoff))
        << hlsd.log();
    watch.waitForMsn(before + 4, 4);
    watch.stop();
    sender->signal(SIGKILL);
    auto r = hlsd.stop();
    EXPECT_EQ(r.exitCode, 0) << r.err;

    auto seen = watch.segments();
    long long tagged = -1;
    for (const auto& [msn, s] : seen) {
        if (s.discontinuity && msn > before) tagged = msn;
    }
    ASSERT_NE(tagged, -1) << "no DISCONTINUITY after the outage";
    if (tagged == before + 2) {
        EXPECT_TRUE(udp) << "a TCP run ends with the connection: its last segment is closed then";
        // The pre-outage remainder: at most a GOP (a whole one if the sender died just before
        // the keyframe that would have closed it).
        EXPECT_LE(seen[before + 1].duration, kSegmentTime + 1e-6);
    } else {
        EXPECT_EQ(tagged, before + 1);
    }
    expectSegments(watch, {tagged});
    const double resumed = duration<double>(seen[tagged].firstSeen - back).count();
    // A segment's worth of media, plus up to 2 s for the sender to start and for the probe
    // (3 under sanitizers). TCP also reconnects on the backoff schedule: an attempt just before
    // the restarted sender listens costs the longest gap (CI once took 3.7 s that way: the
    // attempt at 3.5 s missed, the next came at 5.5 s). UDP needs no new connection.
    const double bound = kSegmentTime + 2 + (kSanitized ? 1 : 0) + (udp ? 0 : kMaxBackoff);
    EXPECT_LE(resumed, bound);
    report(std::string(udp ? "udp" : "tcp") + " sender killed 3 s", watch,
           downLog.substr(std::min(upLog.size(), downLog.size())),
           "first new segment listed " + std::to_string(resumed) +
               " s after the sender came back (warnings: those logged while it was down)");
}

TEST(SourceFaults, TcpServerKilledAndRestarted) {
    networkSourceComesBack(false);
}

TEST(SourceFaults, UdpSenderStopsAndComesBack) {
    networkSourceComesBack(true);
}

// ---------------------------------------------------------------------------------------------
// (c) garbage bytes in the middle of the stream. They contain no start code and no TS sync
// byte, as a stray writer's text or a corrupted buffer would: the TS demuxer resyncs on the
// next packet and the H.264 parser keeps them inside the NAL unit they landed in. Timestamps
// stay continuous, so there is no DISCONTINUITY: a player just decodes on, concealing the one
// damaged frame and those predicted from it until the next keyframe (at most one GOP). Marking
// a discontinuity there would only make the player reset its demuxer for nothing.

TEST(SourceFaults, GarbageInsideAnMpegTsStream) {
    std::string media = clipFrames(180);                  // 6 s
    const size_t at = media.size() / 2 / 188 * 188 + 77;  // mid-packet, mid-frame
    media.insert(at, garbage(3000, 1));
    auto run = feedThroughFifo("fault-garbage-ts", media, 6.0, 5);
    ASSERT_TRUE(run.watch);
    expectSegments(*run.watch, {}, {2, 3});
    EXPECT_EQ(run.watch->newestMsn(), 5);
    EXPECT_EQ(framesIn(*run.watch), 180u);
    report("garbage in TS", *run.watch, run.result.err, frameCount(*run.watch, 180));
}

TEST(SourceFaults, GarbageInsideARawH264Stream) {
    std::string media = readFile(kMedia + "/720p30_gop30.h264");  // 6 s, Annex B
    media.insert(media.size() / 2 + 333, garbage(3000, 2));
    auto run = feedThroughFifo("fault-garbage-h264", media, 6.0, 5);
    ASSERT_TRUE(run.watch);
    expectSegments(*run.watch, {}, {2, 3});
    EXPECT_EQ(run.watch->newestMsn(), 5);
    EXPECT_EQ(framesIn(*run.watch), 180u);
    report("garbage in raw H.264", *run.watch, run.result.err, frameCount(*run.watch, 180));
}

// A stray frame of the same stream from earlier (a replayed buffer, a second producer on the
// FIFO): all the TS packets of frame 0, a keyframe, spliced in before frame 75. It parses as a
// complete keyframe 2.5 s in the past. One frame whose timestamp does not follow the stream,
// while the next ones do, is an outlier rather than a new timeline: hlsd drops it and the stream
// goes on untouched, without a discontinuity and without a segment made of it. (Before, hlsd
// ended the segment there, published the stray keyframe as a one-frame segment, and dropped the
// rest of the GOP waiting for a keyframe: two DISCONTINUITY tags and 15 frames lost.)
TEST(SourceFaults, StrayOldKeyframeSplicedIntoAnMpegTsStream) {
    std::string media = clipFrames(180);
    const auto starts = videoPesOffsets(media);
    media.insert(starts[75], media.substr(starts[0], starts[1] - starts[0]));
    auto run = feedThroughFifo("fault-stray", media, 6.0, 5);
    ASSERT_TRUE(run.watch);
    expectSegments(*run.watch, {});
    EXPECT_EQ(run.watch->newestMsn(), 5);
    EXPECT_EQ(framesIn(*run.watch), 180u);
    EXPECT_EQ(countLines(run.result.err, "does not follow the stream"), 1u) << run.result.err;
    report("stray old keyframe in TS", *run.watch, run.result.err, frameCount(*run.watch, 180));
}

// ---------------------------------------------------------------------------------------------
// (d) timestamps that jump: three 3 s TS files back to back, the second starting over (back by
// 3 s), the third 20 s ahead. Each jump starts a new segment marked DISCONTINUITY; nothing is
// lost, because each file starts with a keyframe.

TEST(SourceFaults, TimestampsJumpBackwardsAndForwards) {
    const std::string part = readFile(kMedia + "/part_a.ts");
    std::string ahead = part;
    rewriteVideoTimestamps(ahead, [](size_t, PesTimestamps& t) {
        if (t.pts >= 0) t.pts += 20 * 90000;
        if (t.dts >= 0) t.dts += 20 * 90000;
    });
    auto run = feedThroughFifo("fault-jump", part + part + ahead, 9.0, 8);
    ASSERT_TRUE(run.watch);
    expectSegments(*run.watch, {3, 6});
    EXPECT_EQ(run.watch->newestMsn(), 8);
    EXPECT_EQ(framesIn(*run.watch), 270u);
    report("timestamps jump -3 s, +20 s", *run.watch, run.result.err, frameCount(*run.watch, 270));
}

// Timestamps that stall: a run of frames repeats one pts/dts, then the clock goes on. First
// frames 41..59 repeat frame 40's time and frame 60 is on time again (the clock caught up);
// then frames 101..160 repeat frame 100's and the clock goes on from there (it lost 2 s for
// good). Frames are still coming, so hlsd restamps the repeats one frame apart: the first stall
// leaves no trace, the second shifts what follows by 2 s. Either way the timeline the player
// gets is continuous, so there is no DISCONTINUITY, no frame is lost, and every segment lasts
// its GOP (1 s) as if nothing had happened.
TEST(SourceFaults, TimestampsStall) {
    std::string media = clipFrames(240);  // 8 s
    std::vector<PesTimestamps> original;
    rewriteVideoTimestamps(media, [&](size_t, PesTimestamps& t) { original.push_back(t); });
    rewriteVideoTimestamps(media, [&](size_t i, PesTimestamps& t) {
        if (i > 40 && i < 60) t = original[40];
        if (i > 100 && i <= 160) t = original[100];
        if (i > 160) t = original[i - 60];
    });
    auto run = feedThroughFifo("fault-stall", media, 8.0, 7);
    ASSERT_TRUE(run.watch);
    expectSegments(*run.watch, {});
    EXPECT_EQ(run.watch->newestMsn(), 7);
    EXPECT_EQ(framesIn(*run.watch), 240u);
    std::ostringstream durations;
    for (const auto& [msn, s] : run.watch->segments()) {
        durations << s.duration << " ";
        EXPECT_DOUBLE_EQ(s.duration, 1.0) << msn;
    }
    EXPECT_EQ(countLines(run.result.err, "timestamps stalled for"), 2u) << run.result.err;
    report("timestamps stall 19 and 60 frames", *run.watch, run.result.err,
           frameCount(*run.watch, 240) + ", EXTINF " + durations.str());
}

}  // namespace
}  // namespace hlsd::test
