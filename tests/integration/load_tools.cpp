#include "integration/load_tools.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <sstream>

#include "support/http_client.h"
#include "support/m3u8.h"

namespace hlsd::test {

using namespace std::chrono;

int threadsOf(pid_t pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("Threads:", 0) == 0) return std::stoi(line.substr(8));
    }
    return -1;
}

// CPU seconds a process used so far (user + system).
double cpuSecondsOf(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string all((std::istreambuf_iterator<char>(stat)), {});
    std::istringstream fields(all.substr(all.rfind(')') + 2));
    std::string f;
    unsigned long long utime = 0, stime = 0;
    for (int i = 3; fields >> f; ++i) {
        if (i == 14) utime = std::stoull(f);
        if (i == 15) {
            stime = std::stoull(f);
            break;
        }
    }
    return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

StreamReaders::StreamReaders(int port, int count, const std::string& path,
                             const std::string& marker)
    : epoll_(epoll_create1(EPOLL_CLOEXEC)), marker_(marker) {
    const std::string request = "GET " + path + " HTTP/1.1\r\nHost: t\r\n\r\n";
    for (int i = 0; i < count; ++i) {
        const int fd = connectTcp("127.0.0.1", port, 5);
        if (fd < 0 || ::send(fd, request.data(), request.size(), MSG_NOSIGNAL) <= 0) {
            if (fd >= 0) ::close(fd);
            continue;
        }
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u32 = static_cast<uint32_t>(streams_.size());
        Stream s;
        s.fd = fd;
        streams_.push_back(std::move(s));
        epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &ev);
    }
    thread_ = std::thread([this] { loop(); });
}

StreamReaders::~StreamReaders() {
    running_ = false;
    thread_.join();
    for (auto& s : streams_) ::close(s.fd);
    ::close(epoll_);
}

const std::vector<StreamReaders::Stream>& StreamReaders::streams() {
    running_ = false;
    thread_.join();
    thread_ = std::thread([] {});
    return streams_;
}

void StreamReaders::loop() {
    std::vector<epoll_event> events(256);
    char buffer[65536];
    while (running_) {
        const int n = epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), 100);
        const auto now = steady_clock::now();
        for (int i = 0; i < n; ++i) {
            Stream& s = streams_[events[i].data.u32];
            const ssize_t got = ::recv(s.fd, buffer, sizeof buffer, MSG_DONTWAIT);
            if (got <= 0) {
                if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
                    s.closed = true;
                    epoll_ctl(epoll_, EPOLL_CTL_DEL, s.fd, nullptr);
                }
                continue;
            }
            if (s.bytes > 0)
                s.longestGap = std::max(s.longestGap, duration<double>(now - s.last).count());
            s.bytes += static_cast<uint64_t>(got);
            s.last = now;
            if (marker_.empty()) continue;
            std::string seen = s.tail;
            seen.append(buffer, static_cast<size_t>(got));
            for (size_t at = seen.find(marker_); at != std::string::npos;
                 at = seen.find(marker_, at + marker_.size()))
                ++s.marks;
            // Keep what could begin a marker, never a whole one (it would be counted twice).
            const size_t keep = std::min(seen.size(), marker_.size() - 1);
            s.tail = seen.substr(seen.size() - keep);
        }
    }
}

void Viewer::run(int port, const std::atomic<bool>& stop) {
    HttpConnection c("127.0.0.1", port, 10);
    long long msn = -1, part = 0;  // the part wanted next
    while (!stop) {
        std::string path = "/live/index.m3u8";
        if (msn >= 0)
            path += "?_HLS_msn=" + std::to_string(msn) + "&_HLS_part=" + std::to_string(part);
        const HttpResponse r = c.get(path);
        const auto p = parseM3u8(r.body, &error);
        if (r.status != 200 || !p) {
            ++failures;
            return;
        }
        // Every part listed, as (msn, index, uri); the open segment's last.
        struct Listed {
            long long msn, index;
            std::string uri;
        };
        std::vector<Listed> listed;
        for (size_t i = 0; i < p->segments.size(); ++i)
            for (size_t k = 0; k < p->segments[i].parts.size(); ++k)
                listed.push_back({p->mediaSequence + static_cast<long long>(i),
                                  static_cast<long long>(k), p->segments[i].parts[k].uri});
        const long long openMsn = p->mediaSequence + static_cast<long long>(p->segments.size());
        for (size_t k = 0; k < p->open.parts.size(); ++k)
            listed.push_back({openMsn, static_cast<long long>(k), p->open.parts[k].uri});
        if (listed.empty()) continue;
        if (msn < 0) {  // start at the newest part
            msn = listed.back().msn;
            part = listed.back().index;
        }
        // Parts at or past the one wanted (a part index past a segment's end means part 0
        // of the next, RFC 8216bis §6.2.5.2).
        std::vector<const Listed*> todo;
        for (const Listed& l : listed)
            if (l.msn > msn || (l.msn == msn && l.index >= part)) todo.push_back(&l);
        mostBehind = std::max(mostBehind, static_cast<int>(todo.size()) - 1);
        for (const Listed* l : todo) {
            if (c.get("/live/" + l->uri).status != 200) ++failures;
            ++parts;
            msn = l->msn;
            part = l->index + 1;
        }
    }
}

ViewerSummary summarize(const std::vector<Viewer>& viewers) {
    ViewerSummary s;
    for (const auto& v : viewers) {
        s.fewestParts = std::min(s.fewestParts, v.parts);
        s.failures += v.failures;
        s.mostBehind = std::max(s.mostBehind, v.mostBehind);
    }
    return s;
}

}  // namespace hlsd::test
