#include "hlsd/source.h"

#include <gtest/gtest.h>

#include <deque>
#include <mutex>
#include <thread>

namespace hlsd {
namespace {

// One scripted run: how open() behaves, then how many packets, then how it ends.
struct Step {
    enum class Open { Ok, Transient, Permanent } open = Open::Ok;
    int packets = 0;
    bool failAtEnd = false;  // end with an error instead of end of stream
    bool block = false;      // after the packets, block until interrupted
};

class ScriptedSource : public Source {
public:
    ScriptedSource(std::deque<Step> runs, bool live) : runs_(std::move(runs)), live_(live) {}
    StreamInfo open() override {
        if (runs_.empty()) throw SourceError("script exhausted", false);
        current_ = runs_.front();
        runs_.pop_front();
        ++opens;
        if (current_.open == Step::Open::Transient) throw SourceError("busy", false);
        if (current_.open == Step::Open::Permanent) throw SourceError("not H.264", true);
        sent_ = 0;
        return StreamInfo{};
    }
    std::optional<EncodedPacket> read() override {
        if (sent_ < current_.packets) {
            EncodedPacket p;
            p.dts = p.pts = sent_++ * 3000;
            return p;
        }
        if (current_.failAtEnd) throw SourceError("connection reset", false);
        if (current_.block) {
            while (!interrupted_) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        return std::nullopt;
    }
    void close() override {}
    void interrupt() override { interrupted_ = true; }
    bool isLive() const override { return live_; }
    std::string name() const override { return "scripted"; }

    std::atomic<int> opens{0};

private:
    std::deque<Step> runs_;
    bool live_;
    Step current_;
    int sent_ = 0;
    std::atomic<bool> interrupted_{false};
};

// Called on the runner's thread, read on the test's (also while the runner runs).
class RecordingSink : public PacketSink {
public:
    void beginRun(const StreamInfo&) override { record("begin"); }
    void push(const EncodedPacket&) override { ++packets; }
    void endRun() override { record("end"); }
    std::vector<std::string> events() const {
        std::lock_guard lock(mutex_);
        return events_;
    }
    std::atomic<int> packets{0};

private:
    void record(std::string event) {
        std::lock_guard lock(mutex_);
        events_.push_back(std::move(event));
    }
    mutable std::mutex mutex_;
    std::vector<std::string> events_;
};

RunnerOptions fast() {
    RunnerOptions o;
    o.firstBackoff = 0.01;
    o.maxBackoff = 0.02;
    return o;
}

void waitFor(SourceRunner& runner) {
    for (int i = 0; i < 500 && runner.outcome() == SourceRunner::Outcome::Running; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

TEST(SourceRunner, ExitOnEofFinishesAfterOneRun) {
    RecordingSink sink;
    auto options = fast();
    options.exitOnEof = true;
    SourceRunner runner(
        std::make_unique<ScriptedSource>(std::deque<Step>{{Step::Open::Ok, 5}}, true), sink,
        options);
    runner.start();
    waitFor(runner);
    EXPECT_EQ(runner.outcome(), SourceRunner::Outcome::Finished);
    EXPECT_EQ(sink.events(), (std::vector<std::string>{"begin", "end"}));
    EXPECT_EQ(sink.packets, 5);
}

TEST(SourceRunner, PermanentErrorAtFirstOpenFails) {
    RecordingSink sink;
    SourceRunner runner(
        std::make_unique<ScriptedSource>(std::deque<Step>{{Step::Open::Permanent}}, true), sink,
        fast());
    runner.start();
    waitFor(runner);
    EXPECT_EQ(runner.outcome(), SourceRunner::Outcome::Failed);
    EXPECT_EQ(runner.failure(), "not H.264");
    EXPECT_TRUE(sink.events().empty());
}

TEST(SourceRunner, LiveSourceIsRetriedThroughFailuresAndEnds) {
    RecordingSink sink;
    auto options = fast();
    options.exitOnEof = false;
    std::deque<Step> script = {
        {Step::Open::Ok, 3, true},        // fails mid-stream
        {Step::Open::Transient},          // cannot reconnect at once
        {Step::Open::Ok, 4, false},       // ends
        {Step::Open::Ok, 2, false, true}  // runs until stopped
    };
    auto* source = new ScriptedSource(script, true);
    SourceRunner runner(std::unique_ptr<Source>(source), sink, options);
    runner.start();
    for (int i = 0; i < 500 && sink.packets < 9; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    runner.stop();
    EXPECT_EQ(source->opens, 4);
    EXPECT_EQ(sink.packets, 9);
    EXPECT_EQ(sink.events(),
              (std::vector<std::string>{"begin", "end", "begin", "end", "begin", "end"}));
}

TEST(SourceRunner, FileLoopsImmediatelyAndStopsOnRequest) {
    RecordingSink sink;
    auto options = fast();
    options.loop = true;
    options.firstBackoff = 60;  // a loop must not wait for the backoff
    std::deque<Step> script = {
        {Step::Open::Ok, 2}, {Step::Open::Ok, 2}, {Step::Open::Ok, 2, false, true}};
    SourceRunner runner(std::make_unique<ScriptedSource>(script, false), sink, options);
    runner.start();
    for (int i = 0; i < 500 && sink.packets < 6; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    auto started = std::chrono::steady_clock::now();
    runner.stop();
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(1));
    EXPECT_EQ(sink.packets, 6);
    EXPECT_EQ(sink.events().size(), 6u);
}

TEST(SourceRunner, FileWithoutLoopKeepsRunningIdleUntilStopped) {
    RecordingSink sink;
    SourceRunner runner(
        std::make_unique<ScriptedSource>(std::deque<Step>{{Step::Open::Ok, 3}}, false), sink,
        fast());
    runner.start();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_EQ(runner.outcome(), SourceRunner::Outcome::Running);
    EXPECT_EQ(sink.events(), (std::vector<std::string>{"begin", "end"}));
    runner.stop();
}

}  // namespace
}  // namespace hlsd
