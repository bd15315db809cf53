// Integration-test support: a real hlsd serving the test pattern on a free loopback port.
#pragma once

#include <signal.h>

#include <memory>
#include <string>
#include <vector>

#include "integration/hlsd_run.h"

namespace hlsd::test {

// hlsd on a free loopback port with the test pattern (320x240, list_size 2, segment_wrap 4,
// then `extra`); the constructor waits until /healthz answers 200 (the first segment exists).
class Server {
public:
    explicit Server(std::vector<std::string> extra = {}, const std::string& listen = "127.0.0.1:0");
    ProcessResult stop();  // SIGTERM, then waits up to 5 s
    std::unique_ptr<Process> process;
    int port = 0;  // 0: it never said where it listens
    std::string host;
};

// The last segment the playlist lists ("" if none).
std::string newestSegment(int port);

}  // namespace hlsd::test
