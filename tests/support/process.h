// Test support: run a program with a deadline and capture what it prints.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace hlsd::test {

struct ProcessResult {
    int exitCode = -1;  // -1: killed by a signal (see signal) or timed out
    int signal = 0;
    bool timedOut = false;
    std::string out;
    std::string err;
};

// A child process. Output goes to temp files read back when it ends.
class Process {
public:
    // stdinPath: a file to feed as standard input ("" = /dev/null).
    Process(std::vector<std::string> argv, const std::string& stdinPath = "");
    ~Process();  // kills the child if still running
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;

    pid_t pid() const { return pid_; }
    bool running();
    void signal(int sig);
    // Waits up to `seconds`, then SIGKILLs. Returns what it printed.
    ProcessResult wait(double seconds);
    std::string errSoFar() const;

private:
    pid_t pid_ = -1;
    std::string outPath_;
    std::string errPath_;
    bool reaped_ = false;
    int status_ = 0;
};

// Runs to completion (or the deadline).
ProcessResult run(const std::vector<std::string>& argv, double seconds = 60,
                  const std::string& stdinPath = "");

std::string readFile(const std::string& path);
void writeFile(const std::string& path, const std::string& bytes);
// A fresh empty directory under the system temp dir.
std::string makeTempDir(const std::string& tag);

}  // namespace hlsd::test
