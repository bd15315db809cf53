#include <chrono>

#include "hlsd/log.h"
#include "hlsd/source.h"

namespace hlsd {

SourceRunner::SourceRunner(std::unique_ptr<Source> source, PacketSink& sink, RunnerOptions options)
    : source_(std::move(source)), sink_(sink), options_(options) {}

SourceRunner::~SourceRunner() {
    stop();
}

void SourceRunner::start() {
    thread_ = std::thread([this] { run(); });
}

void SourceRunner::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    source_->interrupt();
    if (thread_.joinable()) thread_.join();
}

std::string SourceRunner::failure() const {
    std::lock_guard lock(mutex_);
    return failure_;
}

bool SourceRunner::sleepFor(double seconds) {
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, std::chrono::duration<double>(seconds),
                   [this] { return stopping_.load(); });
    return !stopping_;
}

void SourceRunner::run() {
    auto log = logger("source");
    double backoff = options_.firstBackoff;
    bool everOpened = false;
    try {
        while (!stopping_) {
            StreamInfo info;
            try {
                info = source_->open();
            } catch (const SourceError& e) {
                if (stopping_) break;
                if (e.permanent() && !everOpened) {
                    log->error("{}", e.what());
                    std::lock_guard lock(mutex_);
                    failure_ = e.what();
                    outcome_ = Outcome::Failed;
                    return;
                }
                log->warn("{}; retrying in {:.1f} s", e.what(), backoff);
                if (!sleepFor(backoff)) break;
                backoff = std::min(backoff * 2, options_.maxBackoff);
                continue;
            }
            everOpened = true;
            log->info("{} started: {}", source_->name(), info.description);
            auto started = std::chrono::steady_clock::now();
            uint64_t packets = 0;
            std::string error;
            sink_.beginRun(info);
            try {
                while (!stopping_) {
                    auto packet = source_->read();
                    if (!packet) break;
                    sink_.push(*packet);
                    ++packets;
                }
            } catch (const std::exception& e) {
                error = e.what();
            }
            sink_.endRun();
            source_->close();
            if (stopping_) break;
            double lasted =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
            // A source that streamed is retried from the shortest delay again, however many
            // attempts its first connection took; one that dies at once keeps backing off.
            if (packets > 0 && lasted >= options_.healthyRun) backoff = options_.firstBackoff;

            if (!error.empty()) {
                log->warn("{} failed after {} packets: {}; restarting in {:.1f} s", source_->name(),
                          packets, error, backoff);
            } else if (options_.exitOnEof) {
                log->info("{} ended after {} packets; exiting (exit_on_eof)", source_->name(),
                          packets);
                outcome_ = Outcome::Finished;
                return;
            } else if (source_->waitsInOpen()) {
                // Reopening waits for the source itself: nothing to back off from.
                log->info("{} ended after {} packets; waiting for it to come back", source_->name(),
                          packets);
                continue;
            } else if (options_.loop && packets > 0) {
                log->info("{} ended; looping", source_->name());
                continue;
            } else if (source_->isLive() || options_.loop) {
                log->warn("{} ended after {} packets; reconnecting in {:.1f} s", source_->name(),
                          packets, backoff);
            } else {
                log->info("{} ended; keeping the last segments{}", source_->name(),
                          options_.loop ? "" : " (loop: true repeats a file)");
                sleepFor(1e9);
                break;
            }
            if (!sleepFor(backoff)) break;
            backoff = std::min(backoff * 2, options_.maxBackoff);
        }
    } catch (const std::exception& e) {
        // Nothing may escape the thread: turn it into a state the owner sees.
        log->critical("source thread failed: {}", e.what());
        std::lock_guard lock(mutex_);
        failure_ = e.what();
        outcome_ = Outcome::Failed;
        return;
    }
    outcome_ = Outcome::Finished;
}

}  // namespace hlsd
