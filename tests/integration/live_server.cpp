#include "integration/live_server.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <regex>
#include <thread>

#include "support/http_client.h"
#include "support/m3u8.h"
#include "support/tls_client.h"

namespace hlsd::test {

using namespace std::chrono;

Server::Server(std::vector<std::string> extra, const std::string& listen) {
    std::vector<std::string> args = {"--source",       "test", "--width",     "320",
                                     "--height",       "240",  "--listen",    listen,
                                     "--segment-wrap", "4",    "--list-size", "2"};
    args.insert(args.end(), extra.begin(), extra.end());
    process = std::make_unique<Process>(hlsdArgs(args));
    host = listen.rfind("[::1]", 0) == 0 ? "::1" : "127.0.0.1";
    // Up to 30 s: start-up is slower under a sanitizer or on a busy machine.
    port = waitUntilServing(*process, host, 30);
    if (!port) ADD_FAILURE() << "hlsd was not serving a segment in 30 s: " << process->errSoFar();
}

int waitUntilServing(Process& hlsd, const std::string& host, double limit) {
    const auto deadline = steady_clock::now() + duration<double>(limit);
    const int port = waitForPort(hlsd, limit);
    while (port && steady_clock::now() < deadline) {
        const HttpResponse r = httpGet(port, "/healthz", "", "GET", host);
        if (r.status == 200) return port;
        // An HTTPS port tells a plain client so (the certificate is not checked here).
        if (r.status == 400 && r.body.find("HTTPS") != std::string::npos &&
            httpsGet(port, "/healthz", {}, "", host).status == 200)
            return port;
        std::this_thread::sleep_for(milliseconds(10));
    }
    return 0;
}

ProcessResult Server::stop() {
    process->signal(SIGTERM);
    return process->wait(5);
}

void raiseFileLimit(rlim_t count) {
    rlimit files{};
    getrlimit(RLIMIT_NOFILE, &files);
    files.rlim_cur = std::min(files.rlim_max, count);
    setrlimit(RLIMIT_NOFILE, &files);
}

std::string newestSegment(int port) {
    auto p = parseM3u8(httpGet(port, "/live/index.m3u8").body);
    return p && !p->segments.empty() ? p->segments.back().uri : "";
}

double metric(int port, const std::string& name) {
    const std::string text = httpGet(port, "/metrics").body;
    std::smatch m;
    if (!std::regex_search(text, m, std::regex("\n" + name + " ([0-9.e+-]+)\n"))) return -1;
    return std::stod(m[1]);
}

size_t fdCount(pid_t pid) {
    size_t n = 0;
    std::error_code ec;
    for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
        std::error_code linkError;
        const auto target = std::filesystem::read_symlink(it->path(), linkError).string();
        if (target.rfind("/memfd:hlsd-", 0) != 0) ++n;
    }
    return n;
}

size_t baselineFdCount(pid_t pid) {
    std::this_thread::sleep_for(milliseconds(300));
    return fdCount(pid);
}

size_t settledFdCount(pid_t pid, size_t baseline, double seconds) {
    const auto deadline = steady_clock::now() + duration<double>(seconds);
    size_t n = fdCount(pid);
    while (n > baseline && steady_clock::now() < deadline) {
        std::this_thread::sleep_for(milliseconds(50));
        n = fdCount(pid);
    }
    return n;
}

void FreshClientProbe::stop() {
    running_ = false;
    if (thread_.joinable()) thread_.join();
}

std::vector<double> FreshClientProbe::samples() {
    stop();
    return samples_;
}

void FreshClientProbe::loop() {
    while (running_) {
        const auto t0 = steady_clock::now();
        const int status = fetch_ ? fetch_() : httpGet(port_, kPlaylistNow).status;
        const double ms = duration<double, std::milli>(steady_clock::now() - t0).count();
        samples_.push_back(status == 200 ? ms : 1e9);
        std::this_thread::sleep_for(milliseconds(50));
    }
}

void expectFreshClientServed(FreshClientProbe& probe, const std::string& during) {
    auto ms = probe.samples();
    ASSERT_FALSE(ms.empty());
    std::sort(ms.begin(), ms.end());
    std::cout << "fresh client during " << during << ": " << ms.size() << " fetches, median "
              << ms[ms.size() / 2] << " ms, max " << ms.back() << " ms\n";
    EXPECT_LT(ms.back(), kFreshClientLimitMs) << during;
}

}  // namespace hlsd::test
