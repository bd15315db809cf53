#include "integration/fault_tools.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <random>
#include <sstream>

#include "support/http_client.h"

namespace hlsd::test {

using namespace std::chrono;

LiveHlsd::LiveHlsd(std::vector<std::string> extra, const std::string& stdinPath) {
    // A FIFO reader that goes away must not kill the test with SIGPIPE.
    ::signal(SIGPIPE, SIG_IGN);
    process_ = std::make_unique<Process>(hlsdArgs(std::move(extra)), stdinPath);
}

bool LiveHlsd::waitForPort(double seconds) {
    if (port_ == 0) port_ = hlsd::test::waitForPort(*process_, seconds);
    return port_ != 0;
}

ProcessResult LiveHlsd::stop() {
    process_->signal(SIGTERM);
    return process_->wait(5);
}

size_t countLines(const std::string& log, const std::string& needle) {
    std::istringstream in(log);
    std::string line;
    size_t n = 0;
    while (std::getline(in, line)) n += line.find(needle) != std::string::npos;
    return n;
}

// ---------------------------------------------------------------------------------------------

PlaylistWatch::PlaylistWatch(int port, std::string saveDir)
    : port_(port), saveDir_(std::move(saveDir)) {
    thread_ = std::thread([this] { run(); });
}

PlaylistWatch::~PlaylistWatch() {
    stop();
}

void PlaylistWatch::stop() {
    stopping_ = true;
    if (thread_.joinable()) thread_.join();
}

std::vector<std::string> PlaylistWatch::problems() const {
    std::lock_guard lock(mutex_);
    return problems_;
}

std::map<long long, SeenSegment> PlaylistWatch::segments() const {
    std::lock_guard lock(mutex_);
    return segments_;
}

long long PlaylistWatch::newestMsn() const {
    std::lock_guard lock(mutex_);
    return segments_.empty() ? -1 : segments_.rbegin()->first;
}

size_t PlaylistWatch::polls() const {
    std::lock_guard lock(mutex_);
    return polls_;
}

bool PlaylistWatch::waitForMsn(long long msn, double seconds) const {
    auto deadline = Clock::now() + duration<double>(seconds);
    while (newestMsn() < msn) {
        if (Clock::now() > deadline) return false;
        std::this_thread::sleep_for(milliseconds(20));
    }
    return true;
}

void PlaylistWatch::problem(const std::string& what) {
    std::lock_guard lock(mutex_);
    if (problems_.size() < 20) problems_.push_back(what);
}

void PlaylistWatch::run() {
    while (!stopping_) {
        auto next = Clock::now() + milliseconds(100);
        poll();
        std::this_thread::sleep_until(next);
    }
}

void PlaylistWatch::poll() {
    auto r = httpGet(port_, "/live/index.m3u8");
    {
        std::lock_guard lock(mutex_);
        ++polls_;
    }
    if (r.status == 503 && !last_) return;  // before the first segment
    if (r.status != 200) {
        problem("playlist answered " + std::to_string(r.status));
        return;
    }
    std::string error;
    auto p = parseM3u8(r.body, &error);
    if (!p) {
        problem("playlist does not parse (" + error + "):\n" + r.body);
        return;
    }
    for (size_t i = 0; i < p->segments.size(); ++i) {
        const std::string suffix = "-" + std::to_string(p->mediaSequence + i) + ".ts";
        const std::string& uri = p->segments[i].uri;
        if (uri.size() < suffix.size() ||
            uri.compare(uri.size() - suffix.size(), suffix.size(), suffix) != 0) {
            problem("entry " + std::to_string(i) + " is " + uri + ", expected *" + suffix);
        }
    }
    if (p->segments.empty()) {
        problem("playlist lists no segment");
        return;
    }
    const long long first = p->mediaSequence;
    const long long last = first + static_cast<long long>(p->segments.size()) - 1;
    if (last_) {
        const M3u8& q = *last_;
        const long long qFirst = q.mediaSequence;
        const long long qLast = qFirst + static_cast<long long>(q.segments.size()) - 1;
        if (first < qFirst || last < qLast) {
            problem("window went back: " + std::to_string(qFirst) + ".." + std::to_string(qLast) +
                    " then " + std::to_string(first) + ".." + std::to_string(last));
        } else if (first - qFirst > last - qLast) {
            problem("entries left without newer ones arriving: " + std::to_string(qFirst) + ".." +
                    std::to_string(qLast) + " then " + std::to_string(first) + ".." +
                    std::to_string(last));
        }
        long long leftTags = 0;
        for (long long msn = qFirst; msn <= qLast; ++msn) {
            const auto& old = q.segments[msn - qFirst];
            if (msn < first) {
                leftTags += old.discontinuity;
                continue;
            }
            if (msn > last) break;
            const auto& now = p->segments[msn - first];
            if (now.uri != old.uri || now.discontinuity != old.discontinuity ||
                now.duration != old.duration) {
                problem("entry " + std::to_string(msn) + " changed");
            }
        }
        if (p->discontinuitySequence != q.discontinuitySequence + leftTags) {
            problem("DISCONTINUITY-SEQUENCE " + std::to_string(q.discontinuitySequence) + " → " +
                    std::to_string(p->discontinuitySequence) + " while " +
                    std::to_string(leftTags) + " tag(s) left");
        }
    }
    for (size_t i = 0; i < p->segments.size(); ++i) {
        const long long msn = first + static_cast<long long>(i);
        {
            std::lock_guard lock(mutex_);
            if (segments_.count(msn)) continue;
        }
        SeenSegment s;
        s.msn = msn;
        s.uri = p->segments[i].uri;
        s.discontinuity = p->segments[i].discontinuity;
        s.duration = p->segments[i].duration;
        s.firstSeen = Clock::now();
        auto body = httpGet(port_, "/live/" + s.uri);
        if (body.status == 200) {
            s.path = saveDir_ + "/" + s.uri;
            std::ofstream(s.path, std::ios::binary) << body.body;
        } else {
            problem("listed segment " + s.uri + " answered " + std::to_string(body.status));
        }
        std::lock_guard lock(mutex_);
        segments_[msn] = s;
    }
    auto oldest = httpGet(port_, "/live/" + p->segments.front().uri, "", "HEAD");
    if (oldest.status != 200) {
        problem("oldest listed segment " + p->segments.front().uri + " answered " +
                std::to_string(oldest.status));
    }
    last_ = std::make_unique<M3u8>(std::move(*p));
}

// ---------------------------------------------------------------------------------------------

FifoWriter::FifoWriter(std::string path, std::string bytes, double seconds) {
    ::signal(SIGPIPE, SIG_IGN);
    thread_ = std::thread([this, path = std::move(path), bytes = std::move(bytes),
                           seconds]() mutable { run(std::move(path), std::move(bytes), seconds); });
}

FifoWriter::~FifoWriter() {
    stopping_ = true;
    join();
}

void FifoWriter::join() {
    if (thread_.joinable()) thread_.join();
}

void FifoWriter::run(std::string path, std::string bytes, double seconds) {
    const auto start = Clock::now();
    const auto deadline = start + duration<double>(seconds + 10);
    int fd = -1;
    // O_NONBLOCK: opening fails (ENXIO) until a reader has the FIFO open, instead of blocking.
    while (fd < 0 && !stopping_ && Clock::now() < deadline) {
        fd = ::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0) std::this_thread::sleep_for(milliseconds(10));
    }
    if (fd < 0) return;
    opened_ = true;
    const auto begin = Clock::now();
    size_t done = 0;
    while (done < bytes.size() && !stopping_ && Clock::now() < deadline) {
        // The share of the bytes due by now (a steady byte rate), written as the pipe takes it.
        const double elapsed = secondsSince(begin);
        const size_t due = std::min(
            bytes.size(), static_cast<size_t>(bytes.size() * std::min(1.0, elapsed / seconds)));
        if (done >= due) {
            std::this_thread::sleep_for(milliseconds(10));
            continue;
        }
        ssize_t n = ::write(fd, bytes.data() + done, due - done);
        if (n > 0) {
            done += static_cast<size_t>(n);
            written_ = done;
        } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            pollfd p{fd, POLLOUT, 0};
            ::poll(&p, 1, 50);
        } else {
            break;  // the reader went away
        }
    }
    ::close(fd);
}

// ---------------------------------------------------------------------------------------------

namespace {

int64_t readTimestamp(const uint8_t* p) {
    return (static_cast<int64_t>(p[0] & 0x0e) << 29) | (static_cast<int64_t>(p[1]) << 22) |
           (static_cast<int64_t>(p[2] & 0xfe) << 14) | (static_cast<int64_t>(p[3]) << 7) |
           (static_cast<int64_t>(p[4]) >> 1);
}

void writeTimestamp(uint8_t* p, int64_t ts) {
    ts &= (int64_t{1} << 33) - 1;
    const uint8_t prefix = p[0] & 0xf0;
    p[0] = static_cast<uint8_t>(prefix | ((ts >> 29) & 0x0e) | 1);
    p[1] = static_cast<uint8_t>(ts >> 22);
    p[2] = static_cast<uint8_t>(((ts >> 14) & 0xfe) | 1);
    p[3] = static_cast<uint8_t>(ts >> 7);
    p[4] = static_cast<uint8_t>(((ts << 1) & 0xfe) | 1);
}

}  // namespace

namespace {

// The PES header of a packet that starts a video PES, or nullptr.
uint8_t* videoPesHeader(uint8_t* pkt) {
    if (pkt[0] != 0x47 || !(pkt[1] & 0x40)) return nullptr;  // not a payload unit start
    const int afc = (pkt[3] >> 4) & 3;
    if (!(afc & 1)) return nullptr;  // no payload
    const size_t payload = 4 + ((afc & 2) ? 1 + pkt[4] : 0);
    if (payload + 19 > 188) return nullptr;
    uint8_t* pes = pkt + payload;
    if (pes[0] != 0 || pes[1] != 0 || pes[2] != 1 || (pes[3] & 0xf0) != 0xe0) return nullptr;
    return pes;
}

}  // namespace

std::vector<size_t> videoPesOffsets(const std::string& ts) {
    std::vector<size_t> out;
    auto* d = reinterpret_cast<uint8_t*>(const_cast<char*>(ts.data()));
    for (size_t off = 0; off + 188 <= ts.size(); off += 188) {
        if (videoPesHeader(d + off)) out.push_back(off);
    }
    return out;
}

size_t rewriteVideoTimestamps(std::string& ts,
                              const std::function<void(size_t, PesTimestamps&)>& edit) {
    auto* d = reinterpret_cast<uint8_t*>(ts.data());
    const auto offsets = videoPesOffsets(ts);
    for (size_t index = 0; index < offsets.size(); ++index) {
        uint8_t* pes = videoPesHeader(d + offsets[index]);
        const int flags = pes[7] >> 6;
        PesTimestamps t;
        if (flags & 2) t.pts = readTimestamp(pes + 9);
        if (flags == 3) t.dts = readTimestamp(pes + 14);
        const PesTimestamps before = t;
        edit(index, t);
        if ((flags & 2) && t.pts != before.pts) writeTimestamp(pes + 9, t.pts);
        if (flags == 3 && t.dts != before.dts) writeTimestamp(pes + 14, t.dts);
    }
    return offsets.size();
}

std::string garbage(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::string out;
    out.reserve(n);
    while (out.size() < n) {
        auto b = static_cast<char>(rng() & 0xff);
        if (b == 0x47) continue;
        // At most one zero in a row: no 00 00 01 can form, not even across the boundaries.
        if (b == 0 && (out.empty() || out.back() == 0)) continue;
        out.push_back(b);
    }
    out.front() = out.back() = 0x55;
    return out;
}

int freeLoopbackPort(bool udp) {
    int fd = ::socket(AF_INET, udp ? SOCK_DGRAM : SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    int port = 0;
    if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
        port = ntohs(a.sin_port);
    }
    if (fd >= 0) ::close(fd);
    return port;
}

}  // namespace hlsd::test
