// MJPEG and snapshots from the real binary: multipart parts that are whole JPEGs of the
// configured size (ffprobe), the URLs dashboards use, nothing decoded while nobody watches, a
// client that stops reading closed without slowing the others, snapshots from every source kind.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <regex>
#include <thread>
#include <vector>

#include "integration/live_server.h"
#include "integration/load_tools.h"
#include "support/http_client.h"

namespace hlsd::test {
namespace {

using namespace std::chrono;

struct JpegPart {
    std::map<std::string, std::string> headers;  // names lower-cased
    std::string body;
    steady_clock::time_point received;
};

// Reads a multipart/x-mixed-replace response part by part, as Mainsail's fetch() reader does:
// the boundary from Content-Type, each part's length from its Content-Length.
class MultipartReader {
public:
    MultipartReader(int port, const std::string& path, int rcvbuf = 0) {
        fd_ = connectTcp("127.0.0.1", port, 6);
        if (fd_ < 0) return;
        if (rcvbuf > 0) setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
        const std::string req = "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n";
        ::send(fd_, req.data(), req.size(), MSG_NOSIGNAL);
    }
    ~MultipartReader() {
        if (fd_ >= 0) ::close(fd_);
    }
    // The response head (status line and headers); false if none came.
    bool readHead() {
        const size_t end = until("\r\n\r\n");
        if (end == std::string::npos) return false;
        head = buffer_.substr(0, end);
        buffer_.erase(0, end + 4);
        const std::smatch m = match(head, R"(boundary=([^\s;]+))");
        boundary = m.empty() ? "" : m[1].str();
        return true;
    }
    // The next part; empty body when the stream ended or broke.
    JpegPart next() {
        JpegPart p;
        const size_t end = until("\r\n\r\n");
        if (end == std::string::npos) return p;
        const std::string lines = buffer_.substr(0, end);
        buffer_.erase(0, end + 4);
        if (lines.rfind("--" + boundary + "\r\n", 0) != 0) {
            error = "part does not start with the boundary: " + lines.substr(0, 80);
            return p;
        }
        static const std::regex kHeader(R"(\r\n([A-Za-z-]+): ([^\r]*))");
        for (auto it = std::sregex_iterator(lines.begin(), lines.end(), kHeader);
             it != std::sregex_iterator(); ++it) {
            std::string name = (*it)[1];
            for (char& c : name) c = static_cast<char>(std::tolower(c));
            p.headers[name] = (*it)[2];
        }
        const size_t length = std::stoul(
            p.headers.count("content-length") ? p.headers["content-length"] : std::string("0"));
        while (buffer_.size() < length + 2 && fill()) {
        }
        if (buffer_.size() < length + 2) return p;
        p.body = buffer_.substr(0, length);
        if (buffer_.compare(length, 2, "\r\n") != 0) error = "part not followed by CRLF";
        buffer_.erase(0, length + 2);
        p.received = steady_clock::now();
        return p;
    }
    std::string head, boundary, error;

private:
    static std::smatch match(const std::string& s, const char* re) {
        std::smatch m;
        std::regex_search(s, m, std::regex(re));
        return m;
    }
    size_t until(const std::string& marker) {
        for (;;) {
            const size_t at = buffer_.find(marker);
            if (at != std::string::npos) return at;
            if (!fill()) return std::string::npos;
        }
    }
    bool fill() {
        char chunk[65536];
        const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
        if (n <= 0) return false;
        buffer_.append(chunk, static_cast<size_t>(n));
        return true;
    }
    int fd_ = -1;
    std::string buffer_;
};

bool wholeJpeg(const std::string& j) {
    return j.size() > 4 && j.compare(0, 2, "\xFF\xD8") == 0 &&
           j.compare(j.size() - 2, 2, "\xFF\xD9") == 0;
}

// ffprobe's width x height of a JPEG ("" when it cannot read it).
std::string probeSize(const std::string& jpeg, const std::string& dir, const std::string& name) {
    const std::string path = dir + "/" + name + ".jpg";
    writeFile(path, jpeg);
    const auto r = run({"ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                        "stream=codec_name,width,height", "-of", "csv=p=0", path},
                       20);
    return r.exitCode == 0 ? r.out.substr(0, r.out.find('\n')) : "";
}

TEST(Mjpeg, ThreeHundredPartsAreWholeJpegsOfTheConfiguredSize) {
    // The test pattern at 320x240, 30 fps; pictures asked at 160 wide (height in proportion).
    Server s({"--mjpeg-width", "160", "--mjpeg-quality", "70"});
    ASSERT_NE(s.port, 0);
    EXPECT_EQ(metric(s.port, "hlsd_mjpeg_frames_encoded_total"), 0) << "nobody watched yet";
    EXPECT_EQ(metric(s.port, "hlsd_mjpeg_frames_decoded_total"), 0);
    EXPECT_EQ(metric(s.port, "hlsd_mjpeg_running"), 0);

    MultipartReader r(s.port, "/live/stream.mjpg");
    ASSERT_TRUE(r.readHead());
    EXPECT_EQ(r.head.rfind("HTTP/1.1 200 ", 0), 0u) << r.head;
    EXPECT_NE(r.head.find("Content-Type: multipart/x-mixed-replace; boundary=boundarydonotcross"),
              std::string::npos)
        << r.head;
    EXPECT_EQ(r.head.find("Content-Length"), std::string::npos);
    const std::string dir = makeTempDir("mjpeg");
    std::vector<JpegPart> parts;
    double lastStamp = 0;
    int distinct = 0;
    for (int i = 0; i < 300; ++i) {
        JpegPart p = r.next();
        ASSERT_FALSE(p.body.empty()) << "part " << i << ": " << r.error;
        ASSERT_EQ(r.error, "");
        EXPECT_EQ(p.headers["content-type"], "image/jpeg");
        ASSERT_TRUE(wholeJpeg(p.body)) << "part " << i;
        const double stamp = std::stod(p.headers["x-timestamp"]);
        EXPECT_GT(stamp, lastStamp) << "X-Timestamp grows, part " << i;
        lastStamp = stamp;
        if (!parts.empty() && p.body != parts.back().body) ++distinct;
        if (i == 0 || i == 299) {
            EXPECT_EQ(probeSize(p.body, dir, "part" + std::to_string(i)), "mjpeg,160,120") << i;
        }
        parts.push_back(std::move(p));
    }
    const double seconds = duration<double>(parts.back().received - parts.front().received).count();
    std::cout << "300 parts in " << seconds << " s, " << distinct
              << " differ from the one before\n";
    EXPECT_GE(distinct, 290) << "the pictures move (the test pattern's clock)";
    EXPECT_LT(seconds, 12) << "30 fps: about 10 s";
    const double now = duration<double>(system_clock::now().time_since_epoch()).count();
    EXPECT_LT(now - lastStamp, 1.0) << "the newest picture is recent";
    EXPECT_EQ(metric(s.port, "hlsd_mjpeg_viewers"), 1);
    EXPECT_EQ(metric(s.port, "hlsd_mjpeg_running"), 1);
    EXPECT_EQ(metric(s.port, "hlsd_mjpeg_frames_decoded_total"), 0)
        << "the test pattern's raw pictures are encoded: no H.264 is decoded";
    EXPECT_EQ(s.stop().exitCode, 0);
}

// mjpg-streamer's and µStreamer's URLs, HEAD, and CORS, as the dashboards use them.
TEST(Mjpeg, AliasesHeadAndSnapshotsAnswerLikeMjpgStreamer) {
    Server s;
    ASSERT_NE(s.port, 0);
    // HEAD before any picture: nothing to describe, and nothing started for it.
    EXPECT_EQ(httpGet(s.port, "/live/snapshot.jpg", "", "HEAD").status, 503);
    EXPECT_EQ(metric(s.port, "hlsd_mjpeg_running"), 0);
    const std::string dir = makeTempDir("snap");
    for (const char* path : {"/live/snapshot.jpg", "/?action=snapshot&t=1733", "/snapshot"}) {
        const HttpResponse r = httpGet(s.port, path);
        EXPECT_EQ(r.status, 200) << path << " " << r.body;
        EXPECT_EQ(r.header("content-type"), "image/jpeg") << path;
        EXPECT_EQ(r.header("content-length"), std::to_string(r.body.size())) << path;
        EXPECT_EQ(r.header("cache-control"), "no-store") << path;
        EXPECT_EQ(r.header("access-control-allow-origin"), "*") << path;
        EXPECT_FALSE(r.header("x-timestamp").empty()) << path;
        EXPECT_EQ(probeSize(r.body, dir, "snap"), "mjpeg,320,240") << path;
    }
    for (const char* path : {"/live/stream.mjpg", "/?action=stream", "/stream?t=5"}) {
        const HttpResponse head = httpGet(s.port, path, "", "HEAD");
        EXPECT_EQ(head.status, 200) << path;
        EXPECT_EQ(head.header("content-type"),
                  "multipart/x-mixed-replace; boundary=boundarydonotcross")
            << path;
        EXPECT_EQ(head.header("content-length"), "") << path;
    }
    const HttpResponse headSnap = httpGet(s.port, "/?action=snapshot", "", "HEAD");
    EXPECT_EQ(headSnap.status, 200);
    EXPECT_EQ(headSnap.header("content-type"), "image/jpeg");
    EXPECT_NE(headSnap.header("content-length"), "");
    // A dashboard polling snapshots (Mainsail's adaptive mode, Home Assistant) keeps the pictures
    // coming: polled every 3 s for 12 s, longer than the 10 s linger, they never stop.
    for (int i = 0; i < 4; ++i) {
        std::this_thread::sleep_for(3s);
        EXPECT_EQ(metric(s.port, "hlsd_mjpeg_running"), 1) << "stopped between polls, " << i;
        EXPECT_EQ(httpGet(s.port, "/?action=snapshot").status, 200);
    }
    const HttpResponse preflight = httpGet(s.port, "/?action=stream",
                                           "Origin: http://mainsail\r\n"
                                           "Access-Control-Request-Method: GET\r\n",
                                           "OPTIONS");
    EXPECT_EQ(preflight.status, 204);
    EXPECT_EQ(preflight.header("access-control-allow-origin"), "*");
    // Snapshots keep pictures coming; with nobody watching they stop after the linger (10 s).
    EXPECT_EQ(metric(s.port, "hlsd_mjpeg_running"), 1);
    const auto lastSnapshot = steady_clock::now();
    while (metric(s.port, "hlsd_mjpeg_running") != 0 && steady_clock::now() - lastSnapshot < 15s)
        std::this_thread::sleep_for(100ms);
    const double idleAfter = duration<double>(steady_clock::now() - lastSnapshot).count();
    EXPECT_EQ(metric(s.port, "hlsd_mjpeg_running"), 0);
    EXPECT_GE(idleAfter, 9.0) << "stopped before its linger";
    const double encoded = metric(s.port, "hlsd_mjpeg_frames_encoded_total");
    std::this_thread::sleep_for(1000ms);
    EXPECT_EQ(metric(s.port, "hlsd_mjpeg_frames_encoded_total"), encoded) << "idle: nothing made";
    EXPECT_EQ(s.stop().exitCode, 0);
}

// One client stops reading (a tiny receive buffer, never read): it is closed after
// http_timeout, and 20 others, reading all along, get every picture meanwhile.
TEST(Mjpeg, AClientThatStopsReadingIsClosedWithoutSlowingTwentyOthers) {
    Server s({"--http-timeout", "2"});
    ASSERT_NE(s.port, 0);
    MultipartReader stalled(s.port, "/live/stream.mjpg", 4096);
    ASSERT_TRUE(stalled.readHead());
    constexpr int kReaders = 20;
    constexpr auto kFor = seconds(5);
    std::vector<int> counts(kReaders, 0);
    std::vector<std::string> errors(kReaders);
    std::vector<std::thread> readers;
    for (int i = 0; i < kReaders; ++i) {
        readers.emplace_back([&, i] {
            MultipartReader r(s.port, "/live/stream.mjpg");
            if (!r.readHead()) return;
            const auto end = steady_clock::now() + kFor;
            while (steady_clock::now() < end) {
                if (r.next().body.empty()) break;
                ++counts[i];
            }
            errors[i] = r.error;
        });
    }
    for (auto& t : readers) t.join();
    const double encoded = metric(s.port, "hlsd_mjpeg_frames_encoded_total");
    int fewest = 1 << 30;
    for (int i = 0; i < kReaders; ++i) {
        EXPECT_EQ(errors[i], "") << i;
        fewest = std::min(fewest, counts[i]);
    }
    std::cout << "fewest pictures a reader got in 5 s: " << fewest << " (30 fps); "
              << metric(s.port, "hlsd_mjpeg_frames_dropped_total") << " dropped in all\n";
    EXPECT_GE(fewest, static_cast<int>(0.95 * 30 * 5)) << "≥ 95 % of 30 fps";
    // The stalled one: once its socket buffers are full, no progress for 2 s: closed by hlsd.
    bool closed = false;
    for (int i = 0; i < 100 && !closed; ++i) {
        closed = metric(s.port, "hlsd_http_streams_open") == 0;
        if (!closed) std::this_thread::sleep_for(100ms);
    }
    EXPECT_TRUE(closed) << "the client that stopped reading is still served";
    EXPECT_GT(encoded, 150);
    EXPECT_EQ(s.stop().exitCode, 0);
}

// Sources that give only H.264: a file (also one with B-frames) and raw H.264 on stdin.
TEST(Mjpeg, SnapshotFromAFileAndFromRawH264OnStdin) {
    const std::string dir = makeTempDir("snapsrc");
    {
        Server s({"--source", "file:" + kMedia + "/360p30_gop30_30s.mp4", "--loop"});
        ASSERT_NE(s.port, 0);
        const HttpResponse r = httpGet(s.port, "/?action=snapshot");
        EXPECT_EQ(r.status, 200) << r.body;
        EXPECT_EQ(probeSize(r.body, dir, "file"), "mjpeg,640,360");
        EXPECT_EQ(s.stop().exitCode, 0);
    }
    {
        // B-frames: pictures leave the decoder in display order, each with its own capture
        // time, so X-Timestamp only grows.
        Server s({"--source", "file:" + kMedia + "/720p30_gop30_bf.ts", "--loop"});
        ASSERT_NE(s.port, 0);
        MultipartReader r(s.port, "/live/stream.mjpg");
        ASSERT_TRUE(r.readHead());
        double last = 0;
        for (int i = 0; i < 45; ++i) {
            JpegPart p = r.next();
            ASSERT_TRUE(wholeJpeg(p.body)) << i << " " << r.error;
            const double stamp = std::stod(p.headers["x-timestamp"]);
            EXPECT_GT(stamp, last) << "part " << i;
            last = stamp;
        }
        EXPECT_EQ(s.stop().exitCode, 0);
    }
    {
        Process hlsd(hlsdArgs({"--source", "-", "--mjpeg-height", "180"}),
                     kMedia + "/360p30_gop30_30s.h264");
        const int port = waitUntilServing(hlsd);
        ASSERT_NE(port, 0) << hlsd.errSoFar();
        const HttpResponse r = httpGet(port, "/live/snapshot.jpg");
        EXPECT_EQ(r.status, 200) << r.body;
        EXPECT_EQ(probeSize(r.body, dir, "stdin"), "mjpeg,320,180");
        hlsd.signal(SIGTERM);
        EXPECT_EQ(hlsd.wait(10).exitCode, 0);
    }
}

// The MJPEG issue's scale test. Timing test (label `timing`, run alone): 200 MJPEG clients and 20
// LL-HLS viewers for 30 s on the 2 shared cores.
TEST(MjpegLoad, TwoHundredClientsBesideTwentyLowLatencyViewers) {
    raiseFileLimit(4096);
    Server s({"--container", "fmp4"});  // the test pattern at 320x240, 30 fps, parts of 0.2 s
    ASSERT_NE(s.port, 0);
    const pid_t pid = s.process->pid();
    const int threadsBefore = threadsOf(pid);
    constexpr int kClients = 200, kViewers = 20, kSeconds = 30;
    ASSERT_EQ(metric(s.port, "hlsd_mjpeg_frames_encoded_total"), 0);
    StreamReaders readers(s.port, kClients, "/live/stream.mjpg",
                          std::string("--") + "boundarydonotcross\r\n");
    std::atomic<bool> stop{false};
    std::vector<Viewer> viewers(kViewers);
    std::vector<std::thread> threads;
    for (auto& v : viewers) threads.emplace_back([&v, &s, &stop] { v.run(s.port, stop); });
    const double cpuBefore = cpuSecondsOf(pid);
    const auto t0 = steady_clock::now();
    std::this_thread::sleep_for(seconds(kSeconds / 2));
    const int threadsDuring = threadsOf(pid);
    const double viewersOpen = metric(s.port, "hlsd_mjpeg_viewers");
    std::this_thread::sleep_for(seconds(kSeconds / 2));
    // Every picture since the first client came (none was made before): all clients were
    // connected within a fraction of a second, so each should have nearly all of them.
    const double encoded = metric(s.port, "hlsd_mjpeg_frames_encoded_total");
    const double elapsed = duration<double>(steady_clock::now() - t0).count();
    const double cpu = cpuSecondsOf(pid) - cpuBefore;
    const auto& streams = readers.streams();
    stop = true;
    for (auto& t : threads) t.join();

    ASSERT_EQ(streams.size(), static_cast<size_t>(kClients)) << "connections refused";
    uint64_t fewest = UINT64_MAX, closed = 0;
    double longestGap = 0;
    for (const auto& st : streams) {
        fewest = std::min(fewest, st.marks);
        longestGap = std::max(longestGap, st.longestGap);
        closed += st.closed;
    }
    const auto [fewestParts, failures, mostBehind] = summarize(viewers);
    std::cout << kClients << " MJPEG clients for " << elapsed << " s: " << encoded
              << " pictures made, the fewest a client got " << fewest << " ("
              << 100.0 * static_cast<double>(fewest) / encoded << " %), longest silence "
              << longestGap << " s, " << closed << " closed, "
              << metric(s.port, "hlsd_mjpeg_frames_dropped_total") << " skipped in all; "
              << kViewers << " LL-HLS viewers: fewest parts " << fewestParts << ", at most "
              << mostBehind << " behind, " << failures << " failures; hlsd threads "
              << threadsBefore << " -> " << threadsDuring << ", CPU " << cpu / elapsed * 100
              << " % of a core (encoding H.264 and JPEG included)\n";
    EXPECT_EQ(viewersOpen, kClients);
    EXPECT_EQ(closed, 0u);
    EXPECT_GE(encoded, 0.95 * 30 * elapsed) << "pictures at the camera's rate";
    EXPECT_GE(static_cast<double>(fewest), 0.95 * encoded) << "a client missed pictures";
    EXPECT_EQ(failures, 0u);
    EXPECT_GE(fewestParts, static_cast<uint64_t>(elapsed / 0.2 * 0.95));
    EXPECT_LE(mostBehind, 5);
    EXPECT_EQ(threadsDuring, threadsBefore) << "hlsd's threads grew with its clients";
    EXPECT_EQ(metric(s.port, "hlsd_source_dropped_frames_total"), 0);
    EXPECT_EQ(s.stop().exitCode, 0);
}

}  // namespace
}  // namespace hlsd::test
