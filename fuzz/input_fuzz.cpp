// Fuzz target: the H.264 input path, bytes → DemuxSource → Segmenter → SegmentStore, as hlsd
// runs it for `--source -` (stdin: raw H.264 Annex B or MPEG-TS, probed) and for file sources.
//
// Input: the bytes of the stream. They go through both ways hlsd reads them: a pipe on fd 0
// (DemuxSource::Kind::Stdin, exactly `--source -`) and a file (Kind::File, `--source file:`),
// with realtime off (no pacing: the work per input is bounded by its size). Packets are pumped
// as SourceRunner does (an exception from read() or push() ends the run, endRun() still
// publishes what was cut). Every segment published must be well-formed: MPEG-TS (188-byte
// packets, sync bytes, PAT and PMT ahead of the first video packet), at least one frame, a
// finite duration ≥ 0, consecutive sequence numbers and names the router serves; and every
// playlist the store renders must be a sane live playlist listing exactly those names.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "hlsd/log.h"
#include "hlsd/segmenter.h"
#include "hlsd/source.h"
#include "hlsd/store.h"
#include "http/router.h"
#include "source/demux_source.h"

extern "C" {
#include <libavutil/log.h>
}

namespace {

constexpr size_t kTsPacket = 188;
constexpr size_t kListSize = 3;
constexpr size_t kWrap = 5;
constexpr double kSegmentTime = 0.5;
const std::string kPrefix = "fuzz";

int pidOf(const uint8_t* packet) {
    return ((packet[1] & 0x1f) << 8) | packet[2];
}

void checkSegment(const hlsd::Segment& s, uint64_t expectedMsn, uint64_t previousSequence) {
    const std::string what = "segment " + s.name;
    FUZZ_CHECK(s.msn == expectedMsn, what + ": msn " + std::to_string(s.msn) + ", expected " +
                                         std::to_string(expectedMsn));
    FUZZ_CHECK(s.name == kPrefix + "-" + std::to_string(s.msn) + ".ts", what);
    const hlsd::Route r = hlsd::route("/live/" + s.name);
    FUZZ_CHECK(r.kind == hlsd::RouteKind::Segment, what + ": not routable");
    FUZZ_CHECK(s.frames >= 1, what + ": no frames");
    FUZZ_CHECK(std::isfinite(s.duration) && s.duration >= 0,
               what + ": duration " + std::to_string(s.duration));
    FUZZ_CHECK(s.discontinuitySequence == previousSequence + (s.discontinuity ? 1 : 0),
               what + ": discontinuity sequence " + std::to_string(s.discontinuitySequence) +
                   " after " + std::to_string(previousSequence));
    FUZZ_CHECK(std::isfinite(s.keyframeInterval) && s.keyframeInterval >= 0, what);

    const auto d = s.bytes();
    FUZZ_CHECK(!d.empty() && d.size() % kTsPacket == 0,
               what + ": " + std::to_string(d.size()) + " bytes");
    bool pat = false, pmt = false, video = false;
    for (size_t at = 0; at < d.size(); at += kTsPacket) {
        FUZZ_CHECK(d[at] == 0x47, what + ": no sync byte at " + std::to_string(at));
        const int pid = pidOf(&d[at]);
        if (pid == 0) pat = true;
        if (pid == 0x1000) pmt = true;  // libavformat's mpegts muxer: PMT 0x1000, video 0x100
        if (pid == 0x100 && !video) {
            video = true;
            FUZZ_CHECK(pat && pmt, what + ": video before PAT/PMT");
        }
    }
    FUZZ_CHECK(video, what + ": no video packet");
}

void checkPlaylist(const hlsd::StoreSnapshot& snap) {
    const std::string& text = snap.playlist;
    FUZZ_CHECK(text.rfind("#EXTM3U\n", 0) == 0 && text.back() == '\n', text);
    std::istringstream lines(text);
    std::string line;
    std::vector<std::string> uris;
    int extinf = 0;
    while (std::getline(lines, line)) {
        FUZZ_CHECK(!line.empty(), "empty line in\n" + text);
        if (line[0] != '#') {
            uris.push_back(line);
            continue;
        }
        FUZZ_CHECK(line.rfind("#EXT", 0) == 0, line);
        if (line.rfind("#EXT-X-TARGETDURATION:", 0) == 0) {
            long td = std::strtol(line.c_str() + 22, nullptr, 10);
            FUZZ_CHECK(td >= 1, line);
        } else if (line.rfind("#EXTINF:", 0) == 0) {
            ++extinf;
            char* end = nullptr;
            double seconds = std::strtod(line.c_str() + 8, &end);
            FUZZ_CHECK(std::isfinite(seconds) && seconds >= 0 && end && *end == ',', line);
        }
    }
    FUZZ_CHECK(uris.size() == snap.listed && static_cast<size_t>(extinf) == snap.listed,
               std::to_string(snap.listed) + " listed in\n" + text);
    for (size_t i = 0; i < uris.size(); ++i) {
        const auto& listed = snap.window[snap.window.size() - snap.listed + i];
        FUZZ_CHECK(uris[i] == listed->name, uris[i] + " listed, window has " + listed->name);
    }
}

struct Checker {
    hlsd::SegmentStore store{hlsd::StoreOptions{kWrap, kListSize, kSegmentTime}};
    uint64_t published = 0;
    uint64_t sequence = 0;

    void publish(std::shared_ptr<const hlsd::Segment> segment) {
        checkSegment(*segment, published, sequence);
        ++published;
        sequence = segment->discontinuitySequence;
        store.publish(std::move(segment));
        auto snap = store.snapshot();
        FUZZ_CHECK(snap->produced == published && snap->window.size() <= kWrap, "store window");
        checkPlaylist(*snap);
    }
};

void pump(hlsd::Source& source, const std::string& what) {
    Checker checker;
    hlsd::SegmenterOptions options;
    options.segmentTime = kSegmentTime;
    options.runPrefix = kPrefix;
    hlsd::Segmenter segmenter(
        options, [&checker](std::shared_ptr<const hlsd::Segment> s) { checker.publish(s); });
    hlsd::StreamInfo info;
    try {
        info = source.open();
    } catch (const hlsd::SourceError&) {
        return;  // not H.264, no video, unreadable: refused cleanly
    }
    FUZZ_CHECK(info.width > 0 && info.height > 0, what + ": no picture size");
    FUZZ_CHECK(info.frameRate.valid(), what + ": frame rate " + std::to_string(info.frameRate.num) +
                                           "/" + std::to_string(info.frameRate.den));
    segmenter.beginRun(info);
    uint64_t packets = 0;
    std::string error;
    try {
        while (auto packet = source.read()) {
            FUZZ_CHECK(!packet->data.empty(), what + ": empty packet");
            segmenter.push(*packet);
            ++packets;
        }
    } catch (const std::exception& e) {
        error = e.what();  // SourceRunner ends the run on any exception and restarts the source
    }
    segmenter.endRun();  // outside the try, as in SourceRunner: must not throw
    source.close();
    if (std::getenv("FUZZ_VERBOSE")) {  // for checking what the seeds reach
        std::fprintf(stderr, "%s: %s, %llu packets, %llu segments%s%s\n", what.c_str(),
                     info.description.c_str(), static_cast<unsigned long long>(packets),
                     static_cast<unsigned long long>(checker.published), error.empty() ? "" : ", ",
                     error.c_str());
    }
    if (checker.published > 0) {
        checker.store.finish();
        checkPlaylist(*checker.store.snapshot());
    }
}

// `--source -`: the bytes arrive on fd 0 through a pipe that holds all of them.
void viaStdin(const uint8_t* data, size_t size) {
    int fds[2];
    FUZZ_CHECK(pipe(fds) == 0, "pipe failed");
    fcntl(fds[1], F_SETPIPE_SZ, 1 << 20);
    size_t capacity = static_cast<size_t>(std::max(0, fcntl(fds[1], F_GETPIPE_SZ)));
    size = std::min(size, capacity);  // -max_len keeps inputs below it anyway
    size_t done = 0;
    while (done < size) {
        ssize_t n = write(fds[1], data + done, size - done);
        FUZZ_CHECK(n > 0, "pipe write failed");
        done += static_cast<size_t>(n);
    }
    close(fds[1]);
    FUZZ_CHECK(dup2(fds[0], 0) == 0, "dup2 failed");
    close(fds[0]);

    hlsd::SourceOptions options;
    options.spec = "-";
    options.realtime = false;
    hlsd::DemuxSource source(hlsd::DemuxSource::Kind::Stdin, "", options);
    pump(source, "stdin");
}

// `--source file:PATH`: the bytes in a file (in memory, named by its /proc path).
void viaFile(const uint8_t* data, size_t size) {
    static const int fd = memfd_create("hlsd-fuzz-input", 0);
    static const std::string path = "/proc/self/fd/" + std::to_string(fd);
    FUZZ_CHECK(fd >= 0 && ftruncate(fd, 0) == 0, "memfd failed");
    size_t done = 0;
    while (done < size) {
        ssize_t n = pwrite(fd, data + done, size - done, static_cast<off_t>(done));
        FUZZ_CHECK(n > 0, "pwrite failed");
        done += static_cast<size_t>(n);
    }
    hlsd::SourceOptions options;
    options.spec = "file:" + path;
    options.realtime = false;
    hlsd::DemuxSource source(hlsd::DemuxSource::Kind::File, path, options);
    pump(source, "file");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const bool quiet = [] {
        hlsd::setLogLevel("off");
        av_log_set_level(AV_LOG_QUIET);
        return true;
    }();
    (void)quiet;
    viaStdin(data, size);
    viaFile(data, size);
    return 0;
}
