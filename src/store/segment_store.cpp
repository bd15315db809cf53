#include <charconv>
#include <cmath>

#include "hlsd/log.h"
#include "hlsd/playlist.h"
#include "hlsd/store.h"

namespace hlsd {
namespace {

// CAN-SKIP-UNTIL, in target durations (the RFC's minimum: six).
constexpr double kSkipSpan = 6.0;

// "<run>-<msn>.<i>.<ext>" → "<run>-<msn>.<ext>" and i.
bool splitPartName(std::string_view name, std::string& segment, uint64_t& index) {
    const auto ext = name.rfind('.');
    if (ext == std::string_view::npos || ext == 0) return false;
    const auto dot = name.rfind('.', ext - 1);
    if (dot == std::string_view::npos) return false;
    std::string_view digits = name.substr(dot + 1, ext - dot - 1);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size()) return false;
    segment.assign(name.substr(0, dot));
    segment.append(name.substr(ext));
    return true;
}

// "<run>-<msn>.<ext>" with msn replaced.
std::string segmentNameFor(const std::string& sibling, uint64_t msn) {
    const auto dash = sibling.rfind('-');
    const auto ext = sibling.rfind('.');
    return sibling.substr(0, dash + 1) + std::to_string(msn) + sibling.substr(ext);
}

}  // namespace

std::shared_ptr<const Segment> StoreSnapshot::find(std::string_view name) const {
    for (const auto& s : window) {
        if (s->name == name) return s;
    }
    return nullptr;
}

std::shared_ptr<const Part> StoreSnapshot::findPart(std::string_view name) const {
    std::string segmentName;
    uint64_t index = 0;
    if (!splitPartName(name, segmentName, index)) return nullptr;
    std::shared_ptr<const Segment> s = open && open->name == segmentName ? open : find(segmentName);
    if (!s || index >= s->parts.size() || partTarget <= 0) return nullptr;
    return s->parts[index];
}

std::shared_ptr<const InitSection> StoreSnapshot::findInit(std::string_view name) const {
    for (const auto& s : window) {
        if (s->init && s->init->name == name) return s->init;
    }
    if (open && open->init && open->init->name == name) return open->init;
    return nullptr;
}

bool StoreSnapshot::partPending(std::string_view name) const {
    std::string segmentName;
    uint64_t index = 0;
    if (ended || partTarget <= 0 || !splitPartName(name, segmentName, index)) return false;
    if (open && open->name == segmentName) return index >= open->parts.size();
    return segmentName == nextSegment;
}

ReloadState StoreSnapshot::reload(uint64_t msn, std::optional<uint64_t> part) const {
    if (ended) return ReloadState::Ready;
    // RFC 8216bis §6.2.5.2: more than two past the last Media Segment is a client error.
    const uint64_t next = window.empty() ? 0 : window.back()->msn + 1;  // the first incomplete
    if (msn > next + 1) return ReloadState::TooFar;
    if (msn < next) return ReloadState::Ready;
    if (part && open && (open->msn > msn || (open->msn == msn && open->parts.size() > *part)))
        return ReloadState::Ready;
    return ReloadState::Pending;
}

SegmentStore::SegmentStore(StoreOptions options) : options_(options) {
    snapshot_.store(std::make_shared<const StoreSnapshot>());
}

void SegmentStore::addObserver(Observer observer) {
    observers_.push_back(std::move(observer));
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
    if (!segment->complete) {
        open_ = std::move(segment);
        return swap(false, false);
    }
    open_.reset();
    auto log = logger("store");
    if (targetDuration_ == 0) {
        targetDuration_ = chooseTargetDuration(options_.segmentTime, *segment);
        log->info(
            "TARGETDURATION fixed at {} s (segment_time {} s, source keyframe interval "
            "{:.3f} s)",
            targetDuration_, options_.segmentTime, segment->keyframeInterval);
        if (options_.partDuration > 0) {
            // PART-TARGET bounds every part: part_duration, or a frame if frames are longer.
            double longest = options_.partDuration;
            for (const auto& p : segment->parts) longest = std::max(longest, p->duration);
            partTarget_ = std::ceil(longest * 1000 - 1e-6) / 1000;
            log->info("LL-HLS: PART-TARGET {:.3f} s, PART-HOLD-BACK {:.3f} s", partTarget_,
                      3 * partTarget_);
        }
    } else if (std::lround(segment->duration) > targetDuration_) {
        if (warnedOverrunRun_ != segment->discontinuitySequence) {
            warnedOverrunRun_ = segment->discontinuitySequence;
            log->warn(
                "segment {} lasts {:.3f} s, over TARGETDURATION {}: the source's keyframe "
                "interval (GOP) is {:.3f} s; make segment_time a multiple of it",
                segment->name, segment->duration, targetDuration_, segment->keyframeInterval);
        }
    }
    lastPublished_ = std::chrono::steady_clock::now();
    window_.push_back(std::move(segment));
    while (window_.size() > options_.segmentWrap) window_.erase(window_.begin());
    ++produced_;
    swap(false, true);
}

void SegmentStore::finish() {
    open_.reset();
    swap(true, true);
}

Playlist SegmentStore::playlistOf(size_t first, bool lowLatency, bool endList) const {
    Playlist playlist;
    playlist.targetDuration = targetDuration_;
    playlist.endList = endList;
    playlist.version = options_.container == Container::Fmp4 ? 6 : 3;
    const Segment& head = *window_[first];
    playlist.mediaSequence = head.msn;
    playlist.discontinuitySequence = head.discontinuitySequence - (head.discontinuity ? 1 : 0);
    auto entryOf = [](const Segment& s) {
        PlaylistEntry e;
        e.uri = s.name;
        e.duration = s.duration;
        e.programDateTime = s.programDateTime;
        e.discontinuity = s.discontinuity;
        if (s.init) e.map = s.init->name;
        e.complete = s.complete;
        return e;
    };
    for (size_t i = first; i < window_.size(); ++i)
        playlist.entries.push_back(entryOf(*window_[i]));
    if (!lowLatency) return playlist;

    playlist.version = 9;
    playlist.partTarget = partTarget_;
    playlist.canSkipUntil = kSkipSpan * targetDuration_;
    if (open_ && !endList) playlist.entries.push_back(entryOf(*open_));
    // Parts of the segment being written and of the latest complete ones, within three target
    // durations of the end and three segments counting the trailing one (firstWithParts).
    for (size_t i = firstWithParts(playlist.entries, targetDuration_, !endList);
         i < playlist.entries.size(); ++i) {
        PlaylistEntry& e = playlist.entries[i];
        const Segment& s = i + first < window_.size() ? *window_[i + first] : *open_;
        for (size_t k = 0; k < s.parts.size(); ++k)
            e.parts.push_back({partName(s.name, k), s.parts[k]->duration, s.parts[k]->independent});
    }
    if (!endList) {
        playlist.preloadHint =
            open_ ? partName(open_->name, open_->parts.size())
                  : partName(segmentNameFor(window_.back()->name, window_.back()->msn + 1), 0);
    }
    return playlist;
}

void SegmentStore::swap(bool endList, bool segmentsChanged) {
    auto next = std::make_shared<StoreSnapshot>();
    next->window = window_;
    next->open = open_;
    next->produced = produced_;
    next->targetDuration = targetDuration_;
    next->partTarget = partTarget_;
    next->ended = endList;
    next->lastPublished = lastPublished_;
    next->listed = std::min(window_.size(), options_.listSize);
    if (!window_.empty()) {
        const size_t first = window_.size() - next->listed;
        const bool lowLatency = partTarget_ > 0;
        Playlist playlist = playlistOf(first, lowLatency, endList);
        next->playlist = playlist.render();
        if (lowLatency) {
            // Delta update: the segments older than CAN-SKIP-UNTIL from the end are skipped.
            double total = 0;
            for (const auto& e : playlist.entries) total += e.duration;
            double end = 0;
            size_t skip = 0;
            while (skip < playlist.entries.size() && playlist.entries[skip].complete &&
                   end + playlist.entries[skip].duration <= total - playlist.canSkipUntil) {
                end += playlist.entries[skip++].duration;
            }
            if (skip > 0) {
                playlist.skipped = skip;
                next->playlistSkip = playlist.render();
            }
            if (segmentsChanged) plainPlaylist_ = playlistOf(first, false, endList).render();
            next->plainPlaylist = plainPlaylist_;
        }
        const Segment& newest = open_ ? *open_ : *window_.back();
        next->nextSegment = segmentNameFor(newest.name, newest.msn + 1);
    }
    std::shared_ptr<const StoreSnapshot> frozen = std::move(next);
    snapshot_.store(frozen);
    for (const auto& observer : observers_) observer(frozen);
}

}  // namespace hlsd
