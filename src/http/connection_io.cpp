// One loop's write path: heads, text and memory chunks gathered into sendmsg(), file chunks
// with sendfile(), bodies produced over time, and what follows a response.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "http/connection.h"

namespace hlsd {
namespace loop {

Peer peerOf(const sockaddr_storage& a) {
    Peer p;
    char text[INET6_ADDRSTRLEN] = {};
    if (a.ss_family == AF_INET) {
        const auto* v4 = reinterpret_cast<const sockaddr_in*>(&a);
        inet_ntop(AF_INET, &v4->sin_addr, text, sizeof text);
        p.port = ntohs(v4->sin_port);
    } else if (a.ss_family == AF_INET6) {
        const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&a);
        inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof text);
        p.port = ntohs(v6->sin6_port);
    }
    p.ip = text;
    return p;
}

Response canned(int status, const std::string& text, const std::string& extraName,
                const std::string& extraValue) {
    Response r;
    r.status = status;
    r.set("Cache-Control", "no-store");
    if (!extraName.empty()) r.set(extraName, extraValue);
    r.setText(text + "\n", "text/plain; charset=utf-8");
    r.close = true;
    return r;
}

}  // namespace loop

using namespace loop;
using std::chrono::milliseconds;

void ConnectionLoop::Worker::respond(Connection& c, Response r, bool account) {
    r.close = r.close || c.closeAfter || r.stream;
    c.closeAfter = r.close;
    if (account) accounter_(c.request, r, c.peer);
    c.head = serializeHead(r);
    c.text.clear();
    c.chunks.clear();
    if (!c.headOnly) {
        c.text = std::move(r.text);
        c.chunks = std::move(r.chunks);
        std::erase_if(c.chunks, [](const BodyChunk& b) { return b.size == 0; });
        c.stream = std::move(r.stream);
        c.streamed = c.stream != nullptr;
        if (c.stream) ++streams_;
    }
    c.headSent = c.textSent = c.chunk = c.chunkSent = 0;
    c.hold.reset();
    setState(c, Writing);
    c.deadline = Clock::now() + milliseconds(limits_.ioMs);
    flush(c);
}

void ConnectionLoop::Worker::flush(Connection& c) {
    for (;;) {
        // The head, owned text and the memory chunks up to the next file chunk in one sendmsg();
        // file chunks with sendfile(), contiguous ones together (MSG_MORE keeps a head in the
        // same packet as the file's first bytes).
        iovec iov[kMaxIov];
        int count = 0;
        const bool files = c.transport->sendsFiles();  // TLS: file chunks from memory
        if (c.headSent < c.head.size())
            iov[count++] = {c.head.data() + c.headSent, c.head.size() - c.headSent};
        if (c.textSent < c.text.size())
            iov[count++] = {c.text.data() + c.textSent, c.text.size() - c.textSent};
        size_t i = c.chunk;
        for (; i < c.chunks.size() && count < kMaxIov && (c.chunks[i].fd < 0 || !files); ++i) {
            const size_t skip = i == c.chunk ? c.chunkSent : 0;
            iov[count++] = {const_cast<uint8_t*>(c.chunks[i].data) + skip, c.chunks[i].size - skip};
        }
        // A file chunk that starts inside a page (a part in its segment's file): its bytes up to
        // the page boundary go from memory in this sendmsg(), and sendfile() starts on the
        // boundary. Measured: a 97 KB part sent from an unaligned offset cost ~50 % more CPU
        // (softirq) at 1,000 connections than the same part from a page boundary.
        if (files && i < c.chunks.size() && count < kMaxIov && (i != c.chunk || c.chunkSent == 0)) {
            const BodyChunk& f = c.chunks[i];
            if (const uint64_t into = f.fileOffset % kPage; into != 0 && f.data)
                iov[count++] = {const_cast<uint8_t*>(f.data),
                                std::min<size_t>(f.size, kPage - into)};
        }
        ssize_t n;
        if (count > 0) {
            n = c.transport->write(iov, count, i < c.chunks.size());
        } else if (c.chunk < c.chunks.size()) {
            // The chunks that follow in the same file (a segment's parts) go in the same call.
            const BodyChunk& f = c.chunks[c.chunk];
            size_t count = f.size - c.chunkSent;
            for (size_t j = c.chunk + 1; j < c.chunks.size(); ++j) {
                const BodyChunk& prev = c.chunks[j - 1];
                if (c.chunks[j].fd != f.fd || c.chunks[j].fileOffset != prev.fileOffset + prev.size)
                    break;
                count += c.chunks[j].size;
            }
            n = c.transport->sendFile(f.fd, f.fileOffset + c.chunkSent, count);
        } else if (c.stream && !stopping_.load()) {
            if (!pull(c)) return;
            continue;
        } else {
            return finished(c);
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            watch(c, EPOLLOUT);
            return;
        }
        if (n <= 0) return close(c.transport->fd());
        c.deadline = Clock::now() + milliseconds(limits_.ioMs);  // progress
        if (c.streamed) streamBytes_ += static_cast<uint64_t>(n);
        auto left = static_cast<size_t>(n);
        const size_t h = std::min(left, c.head.size() - c.headSent);
        c.headSent += h;
        left -= h;
        const size_t t = std::min(left, c.text.size() - c.textSent);
        c.textSent += t;
        left -= t;
        while (c.chunk < c.chunks.size()) {
            const size_t step = std::min(left, c.chunks[c.chunk].size - c.chunkSent);
            c.chunkSent += step;
            left -= step;
            if (c.chunkSent < c.chunks[c.chunk].size) break;
            c.chunks[c.chunk].owner.reset();  // sent: that part may go
            ++c.chunk;
            c.chunkSent = 0;
        }
    }
}

bool ConnectionLoop::Worker::pull(Connection& c) {
    c.head.clear();
    c.text.clear();
    c.chunks.clear();
    c.headSent = c.textSent = c.chunk = c.chunkSent = 0;
    const BodyStream::Status status = c.stream->next(c.chunks);
    std::erase_if(c.chunks, [](const BodyChunk& b) { return b.size == 0; });
    if (status == BodyStream::Status::End) {
        endStream(c);  // what came with End is still sent, then the response is finished
        if (c.chunks.empty()) {
            finished(c);
            return false;
        }
    } else if (c.chunks.empty()) {
        // Waits for its producer: no deadline, the client may wait for hours (a client that
        // leaves is closed on its FIN or reset).
        if (c.eof) {
            close(c.transport->fd());
            return false;
        }
        setState(c, Streaming);
        c.deadline = Clock::time_point::max();
        watch(c, EPOLLIN | EPOLLRDHUP);
        return false;
    }
    setState(c, Writing);
    c.deadline = Clock::now() + milliseconds(limits_.ioMs);
    return true;
}

void ConnectionLoop::Worker::endStream(Connection& c) {
    if (!c.stream) return;
    c.stream.reset();
    --streams_;
}

void ConnectionLoop::Worker::finished(Connection& c) {
    c.head.clear();
    c.text.clear();
    c.chunks.clear();
    if (c.closeAfter) {
        if (stopping_.load()) return close(c.transport->fd());
        // Closing with unread input would reset the connection, and the client might never
        // see the answer: shut our side, read and discard until it closes too, or kDrainMs.
        c.transport->shutdownWrite();
        setState(c, Draining);
        c.in.clear();
        c.begin = 0;
        c.deadline = Clock::now() + milliseconds(kDrainMs);
        if (c.eof) return close(c.transport->fd());
        watch(c, EPOLLIN | EPOLLRDHUP);
        return;
    }
    // Back to reading; the caller answers what is already buffered (process()).
    setState(c, Reading);
    c.compact();
    c.deadline = Clock::now() + milliseconds(limits_.idleMs);
    watch(c, c.eof ? 0 : EPOLLIN | EPOLLRDHUP);
}

}  // namespace hlsd
