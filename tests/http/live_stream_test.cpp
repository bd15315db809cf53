// /live/stream.*'s body, against a store the test publishes into: where a viewer starts, what it
// gets as parts appear, how a slow viewer catches up, where fMP4 must end.
#include "http/live_stream.h"

#include <gtest/gtest.h>

#include <string>

namespace hlsd {
namespace {

using Status = BodyStream::Status;

// Segment msn with `parts` parts; part 0 independent; each part's bytes name it ("3.1").
std::shared_ptr<Segment> segment(uint64_t msn, size_t parts, bool complete,
                                 std::shared_ptr<const InitSection> init = nullptr) {
    auto s = std::make_shared<Segment>();
    s->msn = msn;
    s->name = "r-" + std::to_string(msn) + ".m4s";
    s->complete = complete;
    s->init = std::move(init);
    s->duration = complete ? 1.0 : 0.0;
    for (size_t i = 0; i < parts; ++i) {
        const std::string id = std::to_string(msn) + "." + std::to_string(i) + ";";
        s->addPart(std::make_shared<Part>(
            Part{std::vector<uint8_t>(id.begin(), id.end()), 0.25, i == 0, nullptr}));
    }
    return s;
}

std::string bytesOf(const std::vector<BodyChunk>& chunks) {
    std::string out;
    for (const BodyChunk& c : chunks) out.append(reinterpret_cast<const char*>(c.data), c.size);
    return out;
}

struct Fixture {
    SegmentStore store{StoreOptions{7, 3, 1.0, 0.25, Container::Fmp4}};
    LiveStream stream{store};
    // What the next call gives ("" when it waits), and its status.
    std::string next(Status* status = nullptr) {
        std::vector<BodyChunk> out;
        const Status s = stream.next(out);
        if (status) *status = s;
        return bytesOf(out);
    }
};

TEST(LiveStream, StartsAtTheNewestIndependentPartThenGivesEachPartOnce) {
    Fixture f;
    Status s;
    EXPECT_EQ(f.next(&s), "");
    EXPECT_EQ(s, Status::Wait);  // nothing published yet
    f.store.publish(segment(0, 4, true));
    f.store.publish(segment(1, 2, false));
    EXPECT_EQ(f.next(&s), "1.0;1.1;");  // not segment 0: a viewer starts near live
    EXPECT_EQ(s, Status::More);
    EXPECT_EQ(f.next(&s), "");
    EXPECT_EQ(s, Status::Wait);
    f.store.publish(segment(1, 3, false));
    EXPECT_EQ(f.next(), "1.2;");
    f.store.publish(segment(1, 4, true));  // completed, and the next begun, before it asks
    f.store.publish(segment(2, 1, false));
    EXPECT_EQ(f.next(), "1.3;2.0;");
    EXPECT_EQ(f.stream.skips(), 0u);
}

TEST(LiveStream, AViewerMoreThanASegmentBehindSkipsToTheNewestIndependentPart) {
    Fixture f;
    f.store.publish(segment(0, 2, false));
    EXPECT_EQ(f.next(), "0.0;0.1;");
    f.store.publish(segment(0, 4, true));
    f.store.publish(segment(1, 4, true));  // one segment behind: caught up in one go
    EXPECT_EQ(f.next(), "0.2;0.3;1.0;1.1;1.2;1.3;");
    for (uint64_t m = 2; m < 5; ++m) f.store.publish(segment(m, 4, true));
    f.store.publish(segment(5, 2, false));
    EXPECT_EQ(f.next(), "5.0;5.1;");  // segments 2-4 skipped, not queued
    EXPECT_EQ(f.stream.skips(), 1u);
}

TEST(LiveStream, Fmp4BeginsWithItsInitSectionAndEndsWhereANewOneBegins) {
    Fixture f;
    auto initA = std::make_shared<InitSection>(InitSection{"r-0.mp4", {'I', 'A', ';'}});
    auto initB = std::make_shared<InitSection>(InitSection{"s-2.mp4", {'I', 'B', ';'}});
    f.store.publish(segment(0, 2, false, initA));
    EXPECT_EQ(f.next(), "IA;0.0;0.1;");
    f.store.publish(segment(0, 4, true, initA));
    f.store.publish(segment(1, 1, false, initB));  // the source restarted
    Status s;
    EXPECT_EQ(f.next(&s), "0.2;0.3;");
    EXPECT_EQ(s, Status::More);
    EXPECT_EQ(f.next(&s), "");
    EXPECT_EQ(s, Status::End);
}

TEST(LiveStream, EndsWithTheStream) {
    Fixture f;
    f.store.publish(segment(0, 4, true));
    EXPECT_EQ(f.next(), "0.0;0.1;0.2;0.3;");
    f.store.publish(segment(1, 4, true));
    f.store.finish();
    Status s;
    EXPECT_EQ(f.next(&s), "1.0;1.1;1.2;1.3;");  // what was published still comes
    EXPECT_EQ(f.next(&s), "");
    EXPECT_EQ(s, Status::End);
}

}  // namespace
}  // namespace hlsd
