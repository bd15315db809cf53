// Low-Latency HLS against the real binary over HTTP: parts listed and served, segments that are
// exactly their parts, blocking playlist reload timed against when each part appeared, the
// preload-hinted part answered when it is complete, 400/503 for what cannot be answered, held
// requests that take no worker, plain requests held until the open segment completes, delta
// updates.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <regex>
#include <thread>

#include "integration/fault_tools.h"
#include "integration/hlsd_run.h"
#include "integration/live_server.h"
#include "support/http_client.h"
#include "support/m3u8.h"
#include "support/process.h"
#include "support/ts_check.h"

namespace hlsd::test {
namespace {

using namespace std::chrono;

std::optional<M3u8> playlist(int port, const std::string& query = "") {
    const auto r = httpGet(port, "/live/index.m3u8" + query);
    if (r.status != 200) return std::nullopt;
    return parseM3u8(r.body);
}

// "<run>-<msn>.<part>.ts" → msn and part.
bool splitPart(const std::string& uri, long long& msn, long long& part) {
    static const std::regex kPart("[a-z0-9]+-([0-9]+)\\.([0-9]+)\\.(ts|m4s)");
    std::smatch m;
    if (!std::regex_match(uri, m, kPart)) return false;
    msn = std::stoll(m[1]);
    part = std::stoll(m[2]);
    return true;
}

// Every part URI a playlist lists.
std::vector<std::string> partsOf(const M3u8& p) {
    std::vector<std::string> out;
    for (const auto& s : p.segments)
        for (const auto& part : s.parts) out.push_back(part.uri);
    for (const auto& part : p.open.parts) out.push_back(part.uri);
    return out;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[v.size() / 2];
}

// Polls the playlist until `done` says so (or the deadline): that playlist, else nullopt.
template <typename Done>
std::optional<M3u8> waitForPlaylist(int port, double seconds, Done done) {
    const auto deadline = steady_clock::now() + duration<double>(seconds);
    while (steady_clock::now() < deadline) {
        auto p = playlist(port);
        if (p && done(*p)) return p;
        std::this_thread::sleep_for(milliseconds(50));
    }
    return std::nullopt;
}

// Waits until the playlist lists `segments` complete segments with parts.
std::optional<M3u8> waitForPartedSegments(int port, size_t segments, double seconds) {
    return waitForPlaylist(port, seconds, [segments](const M3u8& p) {
        size_t parted = 0;
        for (const auto& s : p.segments) parted += s.parts.empty() ? 0 : 1;
        return parted >= segments;
    });
}

TEST(LowLatency, EveryListedPartIsServedAndSegmentsAreTheirParts) {
    Server s;  // part_duration 0.2 by default
    ASSERT_NE(s.port, 0);
    auto p = waitForPartedSegments(s.port, 2, 10);
    ASSERT_TRUE(p);
    EXPECT_GE(p->version, 9);
    EXPECT_TRUE(p->canBlockReload);
    EXPECT_DOUBLE_EQ(p->partTarget, 0.2);
    EXPECT_GE(p->partHoldBack, 3 * p->partTarget - 1e-9);
    EXPECT_DOUBLE_EQ(p->canSkipUntil, 6.0 * p->targetDuration);
    size_t checked = 0;
    for (const auto& seg : p->segments) {
        if (seg.parts.empty()) continue;
        SCOPED_TRACE(seg.uri);
        std::string joined;
        double total = 0;
        for (size_t i = 0; i < seg.parts.size(); ++i) {
            const M3u8Part& part = seg.parts[i];
            EXPECT_LE(part.duration, p->partTarget) << part.uri;
            // keyframe_interval 0 (auto): the test pattern has a keyframe every part.
            EXPECT_TRUE(part.independent) << part.uri;
            const auto r = httpGet(s.port, "/live/" + part.uri);
            EXPECT_EQ(r.status, 200) << part.uri;
            EXPECT_EQ(r.header("content-type"), "video/mp2t");
            // Every MPEG-TS part starts with PAT/PMT: a player can join at any part.
            EXPECT_TRUE(
                isSelfContainedTs(reinterpret_cast<const uint8_t*>(r.body.data()), r.body.size()))
                << part.uri;
            EXPECT_EQ(r.header("cache-control"), "public, max-age=86400, immutable");
            joined += r.body;
            total += part.duration;
        }
        EXPECT_NEAR(total, seg.duration, 0.001 * seg.parts.size());
        const auto whole = httpGet(s.port, "/live/" + seg.uri);
        ASSERT_EQ(whole.status, 200);
        EXPECT_TRUE(whole.body == joined)
            << "segment " << whole.body.size() << " bytes, parts " << joined.size();
        ++checked;
    }
    EXPECT_GE(checked, 2u);
    for (const auto& part : p->open.parts) {
        EXPECT_EQ(httpGet(s.port, "/live/" + part.uri).status, 200) << part.uri;
    }
    // The hint names the part after the last one listed.
    long long msn = 0, index = 0;
    ASSERT_TRUE(splitPart(p->preloadHint, msn, index)) << p->preloadHint;
    if (p->open.parts.empty()) {
        EXPECT_EQ(index, 0);
    } else {
        long long lastMsn = 0, lastIndex = 0;
        ASSERT_TRUE(splitPart(p->open.parts.back().uri, lastMsn, lastIndex));
        EXPECT_EQ(msn, lastMsn);
        EXPECT_EQ(index, lastIndex + 1);
    }
    EXPECT_EQ(httpGet(s.port, "/live/x-1.0.ts").status, 404);
    auto r = s.stop();
    EXPECT_EQ(r.exitCode, 0) << r.err;
}

// --keyframe-interval sets the test pattern's GOP, so which parts are INDEPENDENT: 1 s, one
// keyframe a segment (only part 0); 0.4 s, every other part, and segments of 1.2 s (a segment
// ends at the first keyframe at or after segment_time). Every MPEG-TS part, independent or
// not, starts with PAT/PMT.
TEST(LowLatency, KeyframeIntervalDecidesWhichPartsAreIndependent) {
    struct Case {
        std::string interval;
        size_t every;     // parts from one keyframe to the next
        double duration;  // of a segment
    };
    for (const Case& c : {Case{"1", 5, 1.0}, Case{"0.4", 2, 1.2}}) {
        SCOPED_TRACE("--keyframe-interval " + c.interval);
        Server s({"--keyframe-interval", c.interval});
        ASSERT_NE(s.port, 0);
        auto p = waitForPartedSegments(s.port, 2, 10);
        ASSERT_TRUE(p);
        size_t checked = 0;
        for (const auto& seg : p->segments) {
            if (seg.parts.empty()) continue;
            SCOPED_TRACE(seg.uri);
            EXPECT_NEAR(seg.duration, c.duration, 0.001);
            EXPECT_EQ(seg.parts.size(), static_cast<size_t>(std::lround(c.duration / 0.2)));
            for (size_t i = 0; i < seg.parts.size(); ++i) {
                EXPECT_EQ(seg.parts[i].independent, i % c.every == 0) << seg.parts[i].uri;
                const auto r = httpGet(s.port, "/live/" + seg.parts[i].uri);
                EXPECT_TRUE(isSelfContainedTs(reinterpret_cast<const uint8_t*>(r.body.data()),
                                              r.body.size()))
                    << seg.parts[i].uri;
            }
            ++checked;
        }
        EXPECT_GE(checked, 2u);
        auto r = s.stop();
        EXPECT_EQ(r.exitCode, 0) << r.err;
    }
}

// The shipped configuration (conf/hlsd.yml: the test pattern here, 1280x720 30 fps, LL-HLS
// parts of 0.2 s, a keyframe every part, fMP4) played by FFmpeg's HLS demuxer for 20 s, with
// fMP4 and with MPEG-TS (every part starting with PAT/PMT and SPS/PPS): not one demux or decode
// error (at -v error FFmpeg prints nothing else), and 20 s of frames decoded.
TEST(LowLatency, FfmpegDecodesTheShippedConfigWithoutAnError) {
    for (const std::string container : {"fmp4", "mpegts"}) {
        SCOPED_TRACE(container);
        Process hlsd(
            hlsdArgs({"--config", kSourceDir + "/conf/hlsd.yml", "--container", container}));
        // Playable once /healthz says the first segment exists.
        const int port = waitUntilServing(hlsd);
        ASSERT_NE(port, 0) << hlsd.errSoFar();
        const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/live/index.m3u8";
        // 20 s of a live stream take about 20 s; a stalled read gives up after 5 s.
        const auto t0 = steady_clock::now();
        const auto ff =
            run({"ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-progress", "pipe:1",
                 "-rw_timeout", "5000000", "-i", url, "-t", "20", "-f", "null", "-"},
                60);
        const double took = duration<double>(steady_clock::now() - t0).count();
        long long frames = -1;
        static const std::regex kFrame("(^|\n)frame=([0-9]+)");
        for (auto it = std::sregex_iterator(ff.out.begin(), ff.out.end(), kFrame);
             it != std::sregex_iterator(); ++it)
            frames = std::stoll((*it)[2]);  // the last report: the total
        std::cout << container << ": ffmpeg decoded " << frames << " frames in " << took
                  << " s, exit " << ff.exitCode << "\n";
        EXPECT_FALSE(ff.timedOut);
        EXPECT_EQ(ff.exitCode, 0) << ff.err;
        EXPECT_EQ(ff.err, "") << "ffmpeg reported errors";
        EXPECT_GE(frames, 570) << "30 fps × 20 s, less the start";
        EXPECT_LE(frames, 601);
        hlsd.signal(SIGTERM);
        const auto r = hlsd.wait(5);
        EXPECT_EQ(r.exitCode, 0) << r.err;
    }
}

// A player whose low-latency mode is off starts 3 target durations (HOLD-BACK, which hlsd does
// not send, defaults to that) from the end; what the playlist lists before that is its seek
// window. Shaka gives the browser a seek range only when that window is over 1 s wide, and
// without one its start-up seek can be dropped, and it seeks again ~3 s into playback (README,
// Players): with the shipped list_size 3 the window was 0 s, with 5 it is 2 s.
TEST(LowLatency, ShippedPlaylistLeavesPlayersASeekWindow) {
    Process hlsd(hlsdArgs({"--config", kSourceDir + "/conf/hlsd.yml"}));
    const int port = waitUntilServing(hlsd);
    ASSERT_NE(port, 0) << hlsd.errSoFar();
    // The playlist is at its full length once its first segment has rotated out.
    const auto p = waitForPlaylist(port, 20, [](const M3u8& m) { return m.mediaSequence > 0; });
    ASSERT_TRUE(p) << "the playlist never reached its full length";
    double listed = 0;
    for (const auto& seg : p->segments) listed += seg.duration;
    const double window = listed - 3 * p->targetDuration;
    std::cout << p->segments.size() << " segments, " << listed << " s listed, seek window "
              << window << " s\n";
    EXPECT_GT(window, 1.0);
    hlsd.signal(SIGTERM);
    const auto r = hlsd.wait(5);
    EXPECT_EQ(r.exitCode, 0) << r.err;
}

// container fmp4: an EXT-X-MAP init section, .m4s segments and parts (CMAF fragments), all
// video/mp4; init + a segment decodes, init + its first part decodes alone, a segment is its
// parts; the disk mirror gets the init section and a playlist without parts.
TEST(LowLatency, Fmp4SegmentsPartsAndInitSection) {
    const std::string dir = makeTempDir("ll-fmp4");
    Server s({"--container", "fmp4", "--output-dir", dir + "/out"});
    ASSERT_NE(s.port, 0);
    auto p = waitForPartedSegments(s.port, 2, 10);
    ASSERT_TRUE(p);
    const M3u8Segment& seg = p->segments.back();
    ASSERT_FALSE(seg.map.empty());
    EXPECT_EQ(seg.uri.substr(seg.uri.size() - 4), ".m4s");
    const auto init = httpGet(s.port, "/live/" + seg.map);
    ASSERT_EQ(init.status, 200);
    EXPECT_EQ(init.header("content-type"), "video/mp4");
    EXPECT_EQ(init.header("cache-control"), "public, max-age=86400, immutable");
    const auto whole = httpGet(s.port, "/live/" + seg.uri);
    ASSERT_EQ(whole.status, 200);
    EXPECT_EQ(whole.header("content-type"), "video/mp4");
    std::string joined;
    for (const auto& part : seg.parts) {
        const auto r = httpGet(s.port, "/live/" + part.uri);
        EXPECT_EQ(r.status, 200) << part.uri;
        EXPECT_EQ(r.header("content-type"), "video/mp4");
        joined += r.body;
    }
    EXPECT_TRUE(joined == whole.body);
    writeFile(dir + "/seg.mp4", init.body + whole.body);
    const auto frames = probeFrames(dir + "/seg.mp4");
    EXPECT_EQ(frames.size(), 30u);  // 1 s at 30 fps
    EXPECT_TRUE(!frames.empty() && frames[0].key);
    EXPECT_EQ(decodeErrors(dir + "/seg.mp4"), "");
    writeFile(dir + "/part.mp4", init.body + httpGet(s.port, "/live/" + seg.parts[0].uri).body);
    EXPECT_EQ(probeFrames(dir + "/part.mp4").size(), 6u);

    ASSERT_TRUE(waitForFile(dir + "/out/" + seg.map, 5));
    EXPECT_TRUE(readFile(dir + "/out/" + seg.map) == init.body);
    auto onDisk = parseM3u8(readFile(dir + "/out/index.m3u8"));
    ASSERT_TRUE(onDisk);
    EXPECT_EQ(onDisk->partTarget, 0);
    EXPECT_FALSE(onDisk->segments.empty());
    for (const auto& listed : onDisk->segments) {
        EXPECT_EQ(listed.map, seg.map);
        EXPECT_TRUE(listed.parts.empty());
    }
    auto r = s.stop();
    EXPECT_EQ(r.exitCode, 0) << r.err;
}

// Polls the playlist every 5 ms and records when each part URI first appeared in it.
class PartAppearance {
public:
    explicit PartAppearance(int port) : port_(port), thread_([this] { run(); }) {}
    ~PartAppearance() { stop(); }
    void stop() {
        running_ = false;
        if (thread_.joinable()) thread_.join();
    }
    std::optional<steady_clock::time_point> firstSeen(const std::string& uri) {
        std::lock_guard lock(mutex_);
        auto it = seen_.find(uri);
        if (it == seen_.end()) return std::nullopt;
        return it->second;
    }

private:
    void run() {
        HttpConnection c("127.0.0.1", port_);
        while (running_) {
            const auto r = c.get(kPlaylistNow);  // every state, not only segments' ends
            const auto now = steady_clock::now();
            if (auto p = parseM3u8(r.body)) {
                std::lock_guard lock(mutex_);
                for (const auto& uri : partsOf(*p)) seen_.emplace(uri, now);
            }
            std::this_thread::sleep_for(milliseconds(5));
        }
    }
    int port_;
    std::atomic<bool> running_{true};
    std::mutex mutex_;
    std::map<std::string, steady_clock::time_point> seen_;
    std::thread thread_;
};

// A player's loop: ask for the hinted part with _HLS_msn/_HLS_part, get the playlist the moment
// that part exists. Each answer must list the part, come within one part duration of the
// request (the previous part had just appeared), and no later than 50 ms after a client
// polling every 5 ms first saw the part.
TEST(LowLatency, BlockingReloadAnswersAsSoonAsThePartExists) {
    Server s;
    ASSERT_NE(s.port, 0);
    auto p = waitForPartedSegments(s.port, 1, 10);
    ASSERT_TRUE(p);
    PartAppearance appearance(s.port);
    HttpConnection player("127.0.0.1", s.port);
    std::vector<double> waits, lags;
    std::vector<std::pair<std::string, steady_clock::time_point>> answered;
    for (int i = 0; i < 15; ++i) {
        long long msn = 0, index = 0;
        ASSERT_TRUE(splitPart(p->preloadHint, msn, index)) << p->preloadHint;
        const std::string wanted = p->preloadHint;
        const auto t0 = steady_clock::now();
        const auto r = player.get("/live/index.m3u8?_HLS_msn=" + std::to_string(msn) +
                                  "&_HLS_part=" + std::to_string(index));
        const auto t1 = steady_clock::now();
        ASSERT_EQ(r.status, 200) << r.body;
        p = parseM3u8(r.body);
        ASSERT_TRUE(p);
        const auto parts = partsOf(*p);
        // The part asked for, or (if its segment ended before it) the next segment's first.
        const bool listed = std::find(parts.begin(), parts.end(), wanted) != parts.end();
        const std::string got = listed ? wanted : p->open.parts.empty() ? "" : p->open.parts[0].uri;
        EXPECT_FALSE(got.empty()) << "answer lists neither " << wanted << " nor a later part";
        waits.push_back(duration<double>(t1 - t0).count());
        answered.emplace_back(got, t1);
    }
    std::this_thread::sleep_for(milliseconds(100));
    appearance.stop();
    for (const auto& [uri, at] : answered) {
        auto seen = appearance.firstSeen(uri);
        ASSERT_TRUE(seen) << uri << " never seen by the poller";
        lags.push_back(duration<double>(at - *seen).count());
    }
    const double maxWait = *std::max_element(waits.begin(), waits.end());
    const double maxLag = *std::max_element(lags.begin(), lags.end());
    std::cout << "blocking reload: " << waits.size() << " answers, wait median "
              << median(waits) * 1000 << " ms max " << maxWait * 1000
              << " ms; answer − first seen by a 5 ms poller: median " << median(lags) * 1000
              << " ms max " << maxLag * 1000 << " ms\n";
    // Each request waited for its part (about one part duration, 0.2 s: how long that is
    // depends on the source keeping time on this machine), and was answered as soon as the part
    // existed: the server's own claim, against a 5 ms poller's first sight of the part. A
    // release on the 200 ms sweep instead of the store's wake would put the median near 100 ms.
    // The max (the issue asks for one part duration + 50 ms of the part's completion, 250 ms)
    // allows for this shared machine not scheduling the test at once.
    EXPECT_GE(median(waits), 0.1);
    EXPECT_LE(median(waits), 0.3);
    EXPECT_LE(median(lags), kSanitized ? 0.05 : 0.02);
    EXPECT_LE(maxLag, kSanitized ? 0.3 : 0.15);

    // The preload-hinted part, asked for before it exists: answered once complete, the same
    // bytes as afterwards.
    const std::string hinted = p->preloadHint;
    const auto t0 = steady_clock::now();
    const auto early = httpGet(s.port, "/live/" + hinted);
    const double waited = duration<double>(steady_clock::now() - t0).count();
    EXPECT_EQ(early.status, 200) << hinted;
    EXPECT_LE(waited, kSanitized ? 1.0 : 0.5);  // the next part: due within 0.2 s
    EXPECT_GT(early.body.size(), 0u);
    EXPECT_TRUE(early.body == httpGet(s.port, "/live/" + hinted).body);
    std::cout << "preload-hinted part " << hinted << ": answered after " << waited * 1000 << " ms, "
              << early.body.size() << " bytes\n";
    auto r = s.stop();
    EXPECT_EQ(r.exitCode, 0) << r.err;
}

// Malformed queries and requests too far ahead are 400 at once; a part the source never
// produces (its producer went away) is 503 after three target durations.
TEST(LowLatency, BlockingReloadRefusesWhatItCannotAnswer) {
    const std::string dir = makeTempDir("ll-stall");
    const std::string fifo = dir + "/cam.fifo";
    ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
    FifoWriter writer(fifo, readFile(kMedia + "/part_a.ts"), 3.0);  // 3 s, then gone
    LiveHlsd hlsd({"--source", "-", "--segment-time", "1", "--part-duration", "0.2"}, fifo);
    ASSERT_TRUE(hlsd.waitForPort(10)) << hlsd.log();
    writer.join();
    std::this_thread::sleep_for(milliseconds(500));
    auto p = playlist(hlsd.port());
    ASSERT_TRUE(p) << hlsd.log();
    const long long last = p->mediaSequence + static_cast<long long>(p->segments.size()) - 1;
    const int td = p->targetDuration;

    const std::vector<std::string> bad = {"?_HLS_msn=" + std::to_string(last + 3), "?_HLS_part=1",
                                          "?_HLS_msn=x", "?_HLS_msn=1&_HLS_part=-1",
                                          "?_HLS_skip=NO"};
    for (const std::string& query : bad) {
        const auto t0 = steady_clock::now();
        const auto r = httpGet(hlsd.port(), "/live/index.m3u8" + query);
        EXPECT_EQ(r.status, 400) << query;
        EXPECT_LT(duration<double>(steady_clock::now() - t0).count(), kSanitized ? 0.3 : 0.1)
            << query;
    }
    // The next segment and the hinted part never come: both wait 3 × TD, then 503.
    double playlistWait = 0, partWait = 0;
    int playlistStatus = 0, partStatus = 0;
    std::thread partRequest([&] {
        const auto t0 = steady_clock::now();
        partStatus = httpGet(hlsd.port(), "/live/" + p->preloadHint).status;
        partWait = duration<double>(steady_clock::now() - t0).count();
    });
    const auto t0 = steady_clock::now();
    const auto r = httpGet(hlsd.port(), "/live/index.m3u8?_HLS_msn=" + std::to_string(last + 1));
    playlistWait = duration<double>(steady_clock::now() - t0).count();
    playlistStatus = r.status;
    partRequest.join();
    std::cout << "stalled source: blocking reload " << playlistStatus << " after " << playlistWait
              << " s, hinted part " << partStatus << " after " << partWait << " s (TD " << td
              << " s)\n";
    EXPECT_EQ(playlistStatus, 503);
    EXPECT_EQ(r.header("retry-after"), "1");
    EXPECT_EQ(partStatus, 503);
    for (double waited : {playlistWait, partWait}) {
        EXPECT_GE(waited, 3.0 * td - 0.05);
        EXPECT_LE(waited, 3.0 * td + (kSanitized ? 1.0 : 0.25));
    }
    auto result = hlsd.stop();
    EXPECT_EQ(result.exitCode, 0) << result.err;
}

// 200 players waiting on a blocking reload hold nothing but their sockets: a new viewer is
// served in < 100 ms meanwhile, and every held request is answered when its segment comes.
TEST(LowLatency, HeldRequestsTakeNoWorker) {
    Server s;
    ASSERT_NE(s.port, 0);
    auto p = waitForPartedSegments(s.port, 1, 10);
    ASSERT_TRUE(p);
    const long long next = p->mediaSequence + static_cast<long long>(p->segments.size()) + 1;
    std::vector<std::unique_ptr<HttpConnection>> waiting;
    for (int i = 0; i < 200; ++i) {
        auto c = std::make_unique<HttpConnection>("127.0.0.1", s.port, 10);
        ASSERT_TRUE(c->connected());
        ASSERT_TRUE(c->sendRaw("GET /live/index.m3u8?_HLS_msn=" + std::to_string(next) +
                               " HTTP/1.1\r\nHost: x\r\n\r\n"));
        waiting.push_back(std::move(c));
    }
    double held = 0;
    for (int i = 0; i < 100 && held < 200; ++i) {
        held = metric(s.port, "hlsd_http_requests_waiting");
        if (held < 200) std::this_thread::sleep_for(milliseconds(10));
    }
    EXPECT_GE(held, 200);
    FreshClientProbe probe(s.port);
    std::this_thread::sleep_for(milliseconds(700));
    expectFreshClientServed(probe, "200 held blocking reloads, 4 workers");
    int answered = 0;
    for (auto& c : waiting) {
        const auto r = c->readResponse();
        auto answer = parseM3u8(r.body);
        if (r.status == 200 && answer &&
            answer->mediaSequence + static_cast<long long>(answer->segments.size()) - 1 >= next) {
            ++answered;
        }
    }
    EXPECT_EQ(answered, 200);
    EXPECT_EQ(metric(s.port, "hlsd_http_requests_waiting"), 0);
    auto r = s.stop();
    EXPECT_EQ(r.exitCode, 0) << r.err;
}

// What a plain request (no _HLS_msn) gets while the segment being written has parts: with
// hold_plain_playlists (the default) the playlist as that segment completes, so a player that
// starts three segments back starts from a fresh one; without, the playlist at once. Judged by
// the answers' content, five requests each.
TEST(LowLatency, PlainRequestWaitsForTheOpenSegment) {
    for (const bool hold : {true, false}) {
        SCOPED_TRACE(hold ? "hold_plain_playlists true" : "hold_plain_playlists false");
        Server s(hold ? std::vector<std::string>{}
                      : std::vector<std::string>{"--hold-plain-playlists", "false"});
        ASSERT_NE(s.port, 0);
        auto p = waitForPartedSegments(s.port, 1, 10);
        ASSERT_TRUE(p);
        HttpConnection player("127.0.0.1", s.port);
        int completed = 0, listedOpen = 0, headFirst = 0;
        std::vector<double> waits;
        for (int i = 0; i < 5; ++i) {
            long long msn = 0, index = 0;
            ASSERT_TRUE(splitPart(p->preloadHint, msn, index)) << p->preloadHint;
            // Until part 1 (or the hinted one) of the open segment exists: it has parts.
            const auto b = player.get("/live/index.m3u8?_HLS_msn=" + std::to_string(msn) +
                                      "&_HLS_part=" + std::to_string(std::max(index, 1LL)));
            ASSERT_EQ(b.status, 200) << b.body;
            auto t0 = steady_clock::now();
            const auto h = player.get("/live/index.m3u8", "", "HEAD");  // never held
            const double headWait = duration<double>(steady_clock::now() - t0).count();
            EXPECT_EQ(h.status, 200);
            t0 = steady_clock::now();
            const auto r = player.get("/live/index.m3u8");
            waits.push_back(duration<double>(steady_clock::now() - t0).count());
            if (headWait < waits.back()) ++headFirst;
            ASSERT_EQ(r.status, 200) << r.body;
            p = parseM3u8(r.body);
            ASSERT_TRUE(p && !p->segments.empty()) << r.body;
            // The segment the blocking answer had open is complete in the plain answer, and
            // at most the first part of the next one is listed (it may have come meanwhile).
            const long long newest =
                p->mediaSequence + static_cast<long long>(p->segments.size()) - 1;
            if (newest >= msn && p->open.parts.size() <= 1) ++completed;
            if (!p->open.parts.empty() && newest < msn) ++listedOpen;
        }
        std::cout << (hold ? "held" : "not held") << ": plain answers waited " << median(waits)
                  << " s (median), " << completed << " of 5 ended with the open segment\n";
        if (hold) {
            EXPECT_EQ(completed, 5);
            EXPECT_LE(*std::max_element(waits.begin(), waits.end()), 3.0);  // ≤ one TD, loosely
            EXPECT_GE(headFirst, 4);  // HEAD answers at once, the GET after it waits
        } else {
            EXPECT_GE(listedOpen, 4);  // a segment may complete between the two requests once
        }
        auto r = s.stop();
        EXPECT_EQ(r.exitCode, 0) << r.err;
    }
}

// _HLS_skip=YES: the segments older than CAN-SKIP-UNTIL become one EXT-X-SKIP; a playlist too
// short to skip anything is sent whole. (The file is segmented faster than real time and
// re-read at its end, so the window moves between requests: each answer is checked alone.)
TEST(LowLatency, DeltaUpdateSkipsOldSegments) {
    LiveHlsd hlsd({"--source", "file:" + kMedia + "/360p30_gop30_30s.mp4", "--no-realtime",
                   "--list-size", "20", "--segment-wrap", "24"});
    ASSERT_TRUE(hlsd.waitForPort(10)) << hlsd.log();
    std::optional<M3u8> full;
    for (int i = 0; i < 200 && !(full && full->segments.size() == 20); ++i) {
        full = playlist(hlsd.port());
        std::this_thread::sleep_for(milliseconds(50));
    }
    ASSERT_TRUE(full && full->segments.size() == 20);
    auto delta = playlist(hlsd.port(), "?_HLS_skip=YES");
    ASSERT_TRUE(delta);
    // 20 one-second segments listed, CAN-SKIP-UNTIL 6 s: the first 14 are skipped, and the
    // first one sent is MEDIA-SEQUENCE + 14.
    double total = 0;
    for (const auto& seg : delta->segments) total += seg.duration;
    EXPECT_EQ(delta->skipped, 14);
    ASSERT_EQ(delta->segments.size(), 6u);
    EXPECT_NEAR(total, 6.0, 0.01);
    static const std::regex kName("[a-z0-9]+-([0-9]+)\\.ts");
    std::smatch m;
    ASSERT_TRUE(std::regex_match(delta->segments.front().uri, m, kName));
    EXPECT_EQ(std::stoll(m[1]), delta->mediaSequence + 14);
    auto r = hlsd.stop();
    EXPECT_EQ(r.exitCode, 0) << r.err;

    Server s;
    auto whole = playlist(s.port, "?_HLS_skip=YES");
    ASSERT_TRUE(whole);
    EXPECT_EQ(whole->skipped, 0);
    EXPECT_EQ(whole->segments.size(), playlist(s.port)->segments.size());
}

}  // namespace
}  // namespace hlsd::test
