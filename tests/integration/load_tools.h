// What the load tests share: many endless bodies read on one epoll thread, LL-HLS viewers as
// players are, and a process's threads and CPU time.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace hlsd::test {

int threadsOf(pid_t pid);
double cpuSecondsOf(pid_t pid);  // user + system so far

// Reads `count` bodies of GET `path` on one epoll thread: bytes, the longest silence, and how
// many times `marker` occurred in each (an MJPEG part's boundary line), if one is given.
class StreamReaders {
public:
    StreamReaders(int port, int count, const std::string& path, const std::string& marker = {});
    ~StreamReaders();
    struct Stream {
        int fd = -1;
        uint64_t bytes = 0;
        uint64_t marks = 0;
        std::string tail;  // the last bytes, so that a marker split across reads is found
        std::chrono::steady_clock::time_point last{};
        double longestGap = 0;  // seconds between two arrivals, once data flows
        bool closed = false;
    };
    // Stops reading; what each stream got.
    const std::vector<Stream>& streams();

private:
    void loop();
    int epoll_;
    std::string marker_;
    std::vector<Stream> streams_;
    std::atomic<bool> running_{true};
    std::thread thread_;
};

// An LL-HLS viewer as players are: a blocking reload for the part after the last it has, then
// that part, on one keep-alive connection.
struct Viewer {
    uint64_t parts = 0, failures = 0;
    int mostBehind = 0;  // parts it had not fetched yet when a reload answered, at worst
    std::string error;
    void run(int port, const std::atomic<bool>& stop);
};

// What a load test asserts about its viewers: the fewest parts one got, failures in all, and
// how far behind the worst one fell.
struct ViewerSummary {
    uint64_t fewestParts = UINT64_MAX, failures = 0;
    int mostBehind = 0;
};
ViewerSummary summarize(const std::vector<Viewer>& viewers);

}  // namespace hlsd::test
