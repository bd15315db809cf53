// Stage 3: the window of published segments and the playlist over them, shared with readers
// through immutable snapshots swapped atomically; optionally mirrored to a directory.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "hlsd/playlist.h"
#include "hlsd/segment.h"

namespace hlsd {

// What a blocking playlist request (_HLS_msn, _HLS_part) waits for, as of one snapshot.
enum class ReloadState {
    Ready,    // the playlist has it (or the stream ended): answer now
    Pending,  // not yet: hold the request
    TooFar,   // more than two segments past the newest: 400
};

struct StoreSnapshot {
    std::vector<std::shared_ptr<const Segment>> window;  // complete, oldest first, ≤ segment_wrap
    std::shared_ptr<const Segment> open;  // LL-HLS: the segment being written (its parts so far)
    std::string playlist;                 // rendered text; empty before the first segment
    std::string playlistSkip;   // delta update (EXT-X-SKIP); empty when nothing can be skipped
    std::string plainPlaylist;  // without LL-HLS tags or parts (disk mirror); empty: = playlist
    size_t listed = 0;          // the newest `listed` of window are listed
    uint64_t produced = 0;      // segments published so far
    int targetDuration = 0;
    double partTarget = 0.0;  // PART-TARGET, 0 without parts
    bool ended = false;       // EXT-X-ENDLIST
    std::string nextSegment;  // the name the segment after the newest (open or not) will have
    std::chrono::steady_clock::time_point lastPublished;  // when the newest segment arrived

    std::shared_ptr<const Segment> find(std::string_view name) const;  // complete segments
    // "<run>-<msn>.<i>.ts": part i of a complete or open segment; null if not (yet) there.
    std::shared_ptr<const Part> findPart(std::string_view name) const;
    std::shared_ptr<const InitSection> findInit(std::string_view name) const;
    ReloadState reload(uint64_t msn, std::optional<uint64_t> part) const;
    // Whether a part that is not there yet may still come: it belongs to the segment being
    // written or the next one (a preload hint names it before it exists).
    bool partPending(std::string_view name) const;
};

struct StoreOptions {
    size_t segmentWrap = 5;
    size_t listSize = 2;
    double segmentTime = 1.0;
    double partDuration = 0.0;  // part_duration: 0 = no LL-HLS tags
    Container container = Container::MpegTs;
};

// Thread-safe: one writer publishes, any number of readers take snapshots without blocking it.
// The segment being written is published after each of its parts (Segment::complete false): it
// shows in the playlist through its parts, and blocking requests wake on it.
class SegmentStore {
public:
    using Observer = std::function<void(std::shared_ptr<const StoreSnapshot>)>;

    explicit SegmentStore(StoreOptions options);

    // Writer side (one thread).
    void publish(std::shared_ptr<const Segment> segment);
    void finish();  // the stream ended for good: #EXT-X-ENDLIST
    // Called after each swap, on the writer thread, in the order added; before the writer starts.
    void addObserver(Observer observer);

    // Reader side (any thread).
    std::shared_ptr<const StoreSnapshot> snapshot() const { return snapshot_.load(); }

    // The fixed TARGETDURATION for a stream whose first segment is `first`.
    static int chooseTargetDuration(double segmentTime, const Segment& first);

private:
    void swap(bool endList, bool segmentsChanged);
    Playlist playlistOf(size_t first, bool lowLatency, bool endList) const;

    StoreOptions options_;
    std::vector<std::shared_ptr<const Segment>> window_;
    std::shared_ptr<const Segment> open_;
    double partTarget_ = 0.0;
    std::string plainPlaylist_;
    uint64_t produced_ = 0;
    std::chrono::steady_clock::time_point lastPublished_;
    int targetDuration_ = 0;
    uint64_t warnedOverrunRun_ = UINT64_MAX;
    std::vector<Observer> observers_;
    std::atomic<std::shared_ptr<const StoreSnapshot>> snapshot_;
};

// Writes the store's window to a directory: each segment to a temp name then renamed, then
// the playlist likewise; segments that left the window are deleted. Runs on its own thread and
// always converges on the newest snapshot, so a slow disk never blocks the source. A segment
// the playlist on disk lists is deleted only after the new playlist replaced it (no 404 for a
// reader between the two), except when the mirror fell so far behind that keeping it would
// exceed maxSegments.
// Write failures (directory gone or unwritable, disk full, file-size limit) never reach the
// source or the HTTP side: the mirror logs the first one, keeps retrying with each new snapshot
// (re-creating the directory and re-reading what is in it, which may have changed meanwhile),
// and logs once more when it has been back in sync for kRecoveredSyncs snapshots in a row, so
// a disk that is almost full and fails every other write logs two lines, not two per segment.
// Thread-safe.
class DiskMirror {
public:
    // Creates dir and removes stale segments; never holds more than maxSegments segments.
    DiskMirror(std::filesystem::path dir, size_t maxSegments);
    ~DiskMirror();
    void update(std::shared_ptr<const StoreSnapshot> snapshot);
    void stop();  // writes the last snapshot, then joins
    // False from the first failed write until kRecoveredSyncs complete updates in a row.
    bool healthy() const { return healthy_.load(); }

private:
    void run();
    void sync(const StoreSnapshot& snapshot);
    struct Bytes {
        const void* data;
        size_t size;
    };
    bool writeAtomically(const std::string& name, const std::vector<Bytes>& chunks);
    void failed(const std::string& what);
    void synced();
    void rescan();

    static constexpr int kRecoveredSyncs = 3;

    std::filesystem::path dir_;
    size_t maxSegments_;
    std::set<std::string> onDisk_;
    std::set<std::string> inPlaylist_;  // segments listed by the playlist now on disk
    std::shared_ptr<const StoreSnapshot> pending_;
    uint64_t queuedProduced_ = UINT64_MAX;  // what the last snapshot taken in had
    bool queuedEnded_ = false;
    bool stopping_ = false;
    std::atomic<bool> healthy_{true};  // as last logged
    bool lastSyncOk_ = true;           // the previous sync completed
    int goodSyncs_ = 0;                // complete syncs in a row since the last failure
    uint64_t failures_ = 0;            // failed syncs since healthy_ went false
    std::mutex mutex_;
    std::condition_variable wake_;
    std::thread thread_;
};

}  // namespace hlsd
