#include <cmath>

#include "hlsd/log.h"
#include "hlsd/playlist.h"
#include "hlsd/store.h"

namespace hlsd {

std::shared_ptr<const Segment> StoreSnapshot::find(std::string_view name) const {
    for (const auto& s : window) {
        if (s->name == name) return s;
    }
    return nullptr;
}

SegmentStore::SegmentStore(StoreOptions options) : options_(options) {
    snapshot_.store(std::make_shared<const StoreSnapshot>());
}

void SegmentStore::setObserver(Observer observer) {
    observer_ = std::move(observer);
}

int SegmentStore::chooseTargetDuration(double segmentTime, const Segment& first) {
    // RFC 8216 §4.3.3.1: each EXTINF, rounded to the nearest integer, ≤ TARGETDURATION.
    // Fixed once, from segment_time and what the source's keyframe interval makes of it.
    double expected = segmentTime;
    if (first.keyframeInterval > 0) {
        const double g = first.keyframeInterval;
        expected = std::ceil(segmentTime / g - 1e-3) * g;
    }
    long td = std::max(
        {1L, std::lround(segmentTime), std::lround(expected), std::lround(first.duration)});
    return static_cast<int>(td);
}

void SegmentStore::publish(std::shared_ptr<const Segment> segment) {
    auto log = logger("store");
    if (targetDuration_ == 0) {
        targetDuration_ = chooseTargetDuration(options_.segmentTime, *segment);
        log->info(
            "TARGETDURATION fixed at {} s (segment_time {} s, source keyframe interval "
            "{:.3f} s)",
            targetDuration_, options_.segmentTime, segment->keyframeInterval);
    } else if (std::lround(segment->duration) > targetDuration_) {
        if (warnedOverrunRun_ != segment->discontinuitySequence) {
            warnedOverrunRun_ = segment->discontinuitySequence;
            log->warn(
                "segment {} lasts {:.3f} s, over TARGETDURATION {}: the source's keyframe "
                "interval (GOP) is {:.3f} s; set the source's GOP to segment_time × fps",
                segment->name, segment->duration, targetDuration_, segment->keyframeInterval);
        }
    }
    lastPublished_ = std::chrono::steady_clock::now();
    window_.push_back(std::move(segment));
    while (window_.size() > options_.segmentWrap) window_.erase(window_.begin());
    ++produced_;
    swap(false);
}

void SegmentStore::finish() {
    swap(true);
}

void SegmentStore::swap(bool endList) {
    auto next = std::make_shared<StoreSnapshot>();
    next->window = window_;
    next->produced = produced_;
    next->targetDuration = targetDuration_;
    next->lastPublished = lastPublished_;
    next->listed = std::min(window_.size(), options_.listSize);
    if (!window_.empty()) {
        Playlist playlist;
        playlist.targetDuration = targetDuration_;
        playlist.endList = endList;
        const size_t first = window_.size() - next->listed;
        const Segment& head = *window_[first];
        playlist.mediaSequence = head.msn;
        playlist.discontinuitySequence = head.discontinuitySequence - (head.discontinuity ? 1 : 0);
        for (size_t i = first; i < window_.size(); ++i) {
            const Segment& s = *window_[i];
            playlist.entries.push_back({s.name, s.duration, s.programDateTime, s.discontinuity});
        }
        next->playlist = playlist.render();
    }
    std::shared_ptr<const StoreSnapshot> frozen = std::move(next);
    snapshot_.store(frozen);
    if (observer_) observer_(frozen);
}

}  // namespace hlsd
