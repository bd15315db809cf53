#include "http/live_stream.h"

namespace hlsd {

BodyChunk partChunk(const std::shared_ptr<const Part>& p) {
    return {p, p->data.data(), p->data.size(), p->file ? p->file->fd() : -1, p->fileOffset};
}

bool LiveStream::seekNewest(const std::vector<const Segment*>& segments) {
    for (auto s = segments.rbegin(); s != segments.rend(); ++s) {
        const auto& parts = (*s)->parts;
        for (size_t i = parts.size(); i-- > 0;) {
            if (!parts[i]->independent) continue;
            if (started_) ++skips_;
            started_ = true;
            msn_ = (*s)->msn;
            part_ = i;
            return true;
        }
    }
    return false;
}

BodyStream::Status LiveStream::next(std::vector<BodyChunk>& out) {
    auto snap = store_.snapshot();
    if (snap == waitedOn_) return Status::Wait;
    std::vector<const Segment*> segments;  // complete ones, then the one being written
    for (const auto& s : snap->window) segments.push_back(s.get());
    if (snap->open) segments.push_back(snap->open.get());
    const bool ended = snap->ended;
    if (segments.empty()) {
        if (ended) return Status::End;
        waitedOn_ = snap;
        return Status::Wait;
    }
    const uint64_t oldest = segments.front()->msn, newest = segments.back()->msn;
    // Not yet started, more than a segment behind, or a cursor the window no longer explains.
    const bool lost = msn_ < oldest || msn_ > newest + 1 || msn_ + 1 < newest;
    if ((!started_ || lost) && !seekNewest(segments)) {
        if (ended) return Status::End;
        waitedOn_ = snap;
        return Status::Wait;
    }
    for (const Segment* s : segments) {
        if (s->msn < msn_) continue;
        if (s->msn > msn_) break;  // not there yet
        if (s->init != init_) {
            if (init_) return out.empty() ? Status::End : Status::More;
            init_ = s->init;
            out.push_back({init_, init_->data.data(), init_->data.size()});
        }
        for (; part_ < s->parts.size(); ++part_) out.push_back(partChunk(s->parts[part_]));
        if (!s->complete) break;
        ++msn_;
        part_ = 0;
    }
    if (!out.empty()) {
        waitedOn_.reset();
        return Status::More;
    }
    if (ended) return Status::End;
    waitedOn_ = snap;
    return Status::Wait;
}

}  // namespace hlsd
