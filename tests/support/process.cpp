#include "support/process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace hlsd::test {

std::string readFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

void writeFile(const std::string& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary)
        .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string makeTempDir(const std::string& tag) {
    std::string pattern =
        (std::filesystem::temp_directory_path() / ("hlsd-" + tag + "-XXXXXX")).string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    return pattern;
}

namespace {

// Sanitizer builds: ASan, LSan and TSan write their reports to files (log_path), but GCC 12's
// UBSan runtime, linked beside ASan, ignores log_path and prints to stderr. So a child's stderr
// with a report is kept in the report directory, where sanitizers.NoReports finds it.
void keepSanitizerReport(pid_t pid, const std::string& errPath) {
    const char* dir = std::getenv("HLSD_SANITIZER_REPORTS");
    if (!dir || !*dir) return;
    const std::string err = readFile(errPath);
    for (const char* marker : {"runtime error:", "ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                               "WARNING: ThreadSanitizer", "ERROR: ThreadSanitizer"}) {
        if (err.find(marker) != std::string::npos) {
            std::ofstream(std::string(dir) + "/stderr." + std::to_string(pid)) << err;
            return;
        }
    }
}

}  // namespace

Process::Process(std::vector<std::string> argv, const std::string& stdinPath) {
    std::string dir = makeTempDir("proc");
    outPath_ = dir + "/out";
    errPath_ = dir + "/err";
    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
        int in = open(stdinPath.empty() ? "/dev/null" : stdinPath.c_str(), O_RDONLY);
        int out = open(outPath_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int err = open(errPath_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (in < 0 || out < 0 || err < 0) _exit(127);
        dup2(in, 0);
        dup2(out, 1);
        dup2(err, 2);
        // A test killed midway must not leave the child behind.
        setpgid(0, 0);
        std::vector<char*> args;
        for (auto& a : argv) args.push_back(a.data());
        args.push_back(nullptr);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        execvp(args[0], args.data());
        _exit(127);
    }
}

Process::~Process() {
    if (!reaped_) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status_, 0);
    }
    keepSanitizerReport(pid_, errPath_);
    std::error_code ec;
    std::filesystem::remove_all(std::filesystem::path(outPath_).parent_path(), ec);
}

bool Process::running() {
    if (reaped_) return false;
    pid_t r = waitpid(pid_, &status_, WNOHANG);
    if (r == pid_) reaped_ = true;
    return !reaped_;
}

void Process::signal(int sig) {
    if (!reaped_) kill(pid_, sig);
}

std::string Process::errSoFar() const {
    return readFile(errPath_);
}

ProcessResult Process::wait(double seconds) {
    ProcessResult result;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (running() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (running()) {
        result.timedOut = true;
        kill(pid_, SIGKILL);
        waitpid(pid_, &status_, 0);
        reaped_ = true;
    }
    if (WIFEXITED(status_)) result.exitCode = WEXITSTATUS(status_);
    if (WIFSIGNALED(status_)) result.signal = WTERMSIG(status_);
    result.out = readFile(outPath_);
    result.err = readFile(errPath_);
    return result;
}

ProcessResult run(const std::vector<std::string>& argv, double seconds,
                  const std::string& stdinPath) {
    Process p(argv, stdinPath);
    return p.wait(seconds);
}

}  // namespace hlsd::test
