#include "integration/live_server.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "support/http_client.h"
#include "support/m3u8.h"

namespace hlsd::test {

using namespace std::chrono;

Server::Server(std::vector<std::string> extra, const std::string& listen) {
    std::vector<std::string> args = {"--source",       "test", "--width",     "320",
                                     "--height",       "240",  "--listen",    listen,
                                     "--segment-wrap", "4",    "--list-size", "2"};
    args.insert(args.end(), extra.begin(), extra.end());
    process = std::make_unique<Process>(hlsdArgs(args));
    // Up to 30 s: start-up is slower under a sanitizer or on a busy machine.
    const auto deadline = steady_clock::now() + seconds(30);
    port = waitForPort(*process, 30);
    host = listen.rfind("[::1]", 0) == 0 ? "::1" : "127.0.0.1";
    bool ready = false;
    while (port && !ready && steady_clock::now() < deadline) {
        ready = httpGet(port, "/healthz", "", "GET", host).status == 200;
        if (!ready) std::this_thread::sleep_for(milliseconds(10));
    }
    if (!ready) ADD_FAILURE() << "hlsd was not serving a segment in 30 s: " << process->errSoFar();
}

ProcessResult Server::stop() {
    process->signal(SIGTERM);
    return process->wait(5);
}

std::string newestSegment(int port) {
    auto p = parseM3u8(httpGet(port, "/live/index.m3u8").body);
    return p && !p->segments.empty() ? p->segments.back().uri : "";
}

}  // namespace hlsd::test
