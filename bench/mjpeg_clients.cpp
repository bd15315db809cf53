// bench/mjpeg_clients.cpp: N viewers of one MJPEG stream (multipart/x-mixed-replace) on one
// epoll thread, and how late each part reaches them.
//
//   mjpeg_clients --clients 50 --seconds 15 --url http://127.0.0.1:8080/live/stream.mjpg
//
// Every part is cut out of the stream by its Content-Length (a chunked response is de-chunked
// first). Its latency is the wall clock when its last byte was read minus the time the frame
// was made, taken from one of two places:
//   - the part's X-Timestamp (`<unix seconds>.<microseconds>`, mjpg-streamer's and hlsd's);
//   - with --frame-times FILE, the frame number drawn into the picture (two rows of 16 blocks
//     80 px square at the top: bit i of the number white in row 0 and black in row 1, at x =
//     80 i), read from the JPEGs of the first --decode connections (TurboJPEG, scaled to 1/8),
//     and looked up in FILE (lines `<frame number> <unix seconds>`, written by whatever fed the
//     server; read at the end of the run).
// --decode K decodes the first K connections' pictures in either mode, so the client's own load
// is the same whichever way latency is measured; `latency_ms_decoded` covers only those
// connections' parts. Parts whose last byte arrives in the first --warmup seconds are not
// counted. Prints one JSON line.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <turbojpeg.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

double wallNow() {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double monoNow() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

struct Options {
    int clients = 1;
    double seconds = 15;
    double warmup = 2;
    std::string url;
    int decode = 0;
    std::string frameTimes;
};

struct Url {
    std::string host;
    uint16_t port = 80;
    std::string path = "/";
};

bool parseUrl(const std::string& text, Url& url) {
    const std::string scheme = "http://";
    if (text.compare(0, scheme.size(), scheme) != 0) return false;
    const std::string rest = text.substr(scheme.size());
    const size_t slash = rest.find('/');
    const std::string authority = rest.substr(0, slash);
    if (slash != std::string::npos) url.path = rest.substr(slash);
    const size_t colon = authority.rfind(':');
    url.host = authority.substr(0, colon);
    if (colon != std::string::npos) {
        const long port = std::strtol(authority.c_str() + colon + 1, nullptr, 10);
        if (port <= 0 || port > 65535) return false;
        url.port = static_cast<uint16_t>(port);
    }
    return !url.host.empty();
}

std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

// The value of header `name` (lower case) in a block of header lines, or "" without one.
std::string headerValue(const std::string& head, const std::string& name) {
    std::istringstream lines(head);
    std::string line;
    while (std::getline(lines, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        const size_t colon = line.find(':');
        if (colon == std::string::npos || lower(line.substr(0, colon)) != name) continue;
        size_t start = colon + 1;
        while (start < line.size() && (line[start] == ' ' || line[start] == '\t')) ++start;
        return line.substr(start);
    }
    return "";
}

// Reads the frame number drawn into a picture; -1 when the blocks do not check out.
class FrameNumberReader {
public:
    FrameNumberReader() : handle_(tjInitDecompress()) {}
    ~FrameNumberReader() {
        if (handle_) tjDestroy(handle_);
    }
    FrameNumberReader(const FrameNumberReader&) = delete;
    FrameNumberReader& operator=(const FrameNumberReader&) = delete;

    long read(const std::vector<unsigned char>& jpeg) {
        if (!handle_) return -1;
        int width = 0, height = 0, subsampling = 0, colorspace = 0;
        if (tjDecompressHeader3(handle_, jpeg.data(), static_cast<unsigned long>(jpeg.size()),
                                &width, &height, &subsampling, &colorspace) != 0)
            return -1;
        const int w = TJSCALED(width, kEighth), h = TJSCALED(height, kEighth);
        if (w < 160 || h < 20) return -1;
        gray_.resize(static_cast<size_t>(w) * static_cast<size_t>(h));
        if (tjDecompress2(handle_, jpeg.data(), static_cast<unsigned long>(jpeg.size()),
                          gray_.data(), w, w, h, TJPF_GRAY, TJFLAG_FASTDCT) != 0)
            return -1;
        // Blocks of 80 px are 10 px at 1/8 of 1280 (scaled to the picture's width otherwise).
        const double block = w / 16.0;
        long number = 0;
        for (int bit = 0; bit < 16; ++bit) {
            const int x = static_cast<int>(block * bit + block / 2);
            const int top = gray_[static_cast<size_t>(h / 18 * w + x)];
            const int below = gray_[static_cast<size_t>((h / 18 + h / 9) * w + x)];
            const bool one = top > 128;
            if (one == (below > 128) || std::abs(top - below) < 96) return -1;
            if (one) number |= 1L << bit;
        }
        return number;
    }

private:
    static constexpr tjscalingfactor kEighth{1, 8};
    tjhandle handle_;
    std::vector<unsigned char> gray_;
};

struct Part {
    double arrived;
    double timestamp;  // X-Timestamp, or NaN
    long frame;        // the number drawn in it, -1 = not read
};

class Connection {
public:
    explicit Connection(bool decode) : decode_(decode) {}

    int fd = -1;
    bool connected = false;
    bool closed = false;
    std::string error;
    std::vector<Part> parts;  // every complete part, warm-up included
    uint64_t bytes = 0;
    uint64_t windowBytes = 0;

    // Takes the bytes read at `now`; returns false once the stream cannot be read any further.
    bool feed(const char* data, size_t size, double now, FrameNumberReader& reader) {
        if (!headDone_) {
            head_.append(data, size);
            const size_t end = head_.find("\r\n\r\n");
            if (end == std::string::npos) {
                if (head_.size() > 65536) return fail("response head over 64 KiB");
                return true;
            }
            const std::string head = head_.substr(0, end + 2);
            std::string rest = head_.substr(end + 4);
            head_.clear();
            headDone_ = true;
            if (head.compare(0, 9, "HTTP/1.1 ") != 0 && head.compare(0, 9, "HTTP/1.0 ") != 0)
                return fail("not an HTTP response");
            if (head.compare(9, 3, "200") != 0) return fail("status " + head.substr(9, 3));
            const std::string type = headerValue(head, "content-type");
            const size_t b = lower(type).find("boundary=");
            if (b == std::string::npos) return fail("no boundary in Content-Type: " + type);
            boundary_ = type.substr(b + 9);
            boundary_ = boundary_.substr(0, boundary_.find(';'));
            boundary_.erase(std::remove(boundary_.begin(), boundary_.end(), '"'), boundary_.end());
            while (boundary_.compare(0, 2, "--") == 0) boundary_.erase(0, 2);
            chunked_ =
                lower(headerValue(head, "transfer-encoding")).find("chunked") != std::string::npos;
            return rest.empty() || body(rest.data(), rest.size(), now, reader);
        }
        return body(data, size, now, reader);
    }

private:
    bool fail(const std::string& why) {
        if (error.empty()) error = why;
        return false;
    }

    // The body: de-chunked when it is chunked, then cut into parts.
    bool body(const char* data, size_t size, double now, FrameNumberReader& reader) {
        if (!chunked_) return multipart(data, size, now, reader);
        size_t at = 0;
        while (at < size) {
            if (chunkLeft_ > 0) {
                const size_t n = std::min(chunkLeft_, size - at);
                if (!multipart(data + at, n, now, reader)) return false;
                chunkLeft_ -= n;
                at += n;
                if (chunkLeft_ == 0) skipCrlf_ = 2;
                continue;
            }
            if (skipCrlf_ > 0) {
                --skipCrlf_;
                ++at;
                continue;
            }
            const char c = data[at++];
            if (c != '\n') {
                chunkLine_ += c;
                if (chunkLine_.size() > 1024) return fail("chunk size line too long");
                continue;
            }
            const unsigned long long n = std::strtoull(chunkLine_.c_str(), nullptr, 16);
            chunkLine_.clear();
            if (n == 0) return fail("stream ended (last chunk)");
            chunkLeft_ = static_cast<size_t>(n);
        }
        return true;
    }

    bool multipart(const char* data, size_t size, double now, FrameNumberReader& reader) {
        size_t at = 0;
        while (at < size) {
            if (inData_) {
                const size_t n = std::min(need_, size - at);
                if (decode_) jpeg_.insert(jpeg_.end(), data + at, data + at + n);
                need_ -= n;
                at += n;
                if (need_ == 0) complete(now, reader);
                continue;
            }
            // Between parts: the boundary line and the part's head, in pending_.
            const size_t take = std::min<size_t>(size - at, 4096);
            pending_.append(data + at, take);
            at += take;
            const size_t mark = pending_.find(boundary_);
            if (mark == std::string::npos) {
                if (pending_.size() > 65536) return fail("no boundary in 64 KiB");
                continue;
            }
            const size_t end = pending_.find("\r\n\r\n", mark);
            if (end == std::string::npos) {
                if (pending_.size() - mark > 65536) return fail("part head over 64 KiB");
                continue;
            }
            const std::string head = pending_.substr(mark, end + 2 - mark);
            const size_t used = end + 4;
            const size_t unused = pending_.size() - used;  // bytes of the data already taken
            const std::string length = headerValue(head, "content-length");
            if (length.empty()) return fail("a part without Content-Length");
            need_ = static_cast<size_t>(std::strtoull(length.c_str(), nullptr, 10));
            const std::string stamp = headerValue(head, "x-timestamp");
            timestamp_ = stamp.empty() ? NAN : std::strtod(stamp.c_str(), nullptr);
            pending_.clear();
            inData_ = true;
            jpeg_.clear();
            at -= unused;  // those bytes are read again as data
            if (need_ == 0) complete(now, reader);
        }
        return true;
    }

    void complete(double now, FrameNumberReader& reader) {
        const long frame = decode_ ? reader.read(jpeg_) : -1;
        parts.push_back(Part{now, timestamp_, frame});
        inData_ = false;
        jpeg_.clear();
    }

    bool decode_;
    bool headDone_ = false;
    std::string head_;
    std::string boundary_;
    bool chunked_ = false;
    size_t chunkLeft_ = 0;
    int skipCrlf_ = 0;
    std::string chunkLine_;
    std::string pending_;
    bool inData_ = false;
    size_t need_ = 0;
    double timestamp_ = NAN;
    std::vector<unsigned char> jpeg_;
};

double percentile(std::vector<double>& sorted, double p) {
    if (sorted.empty()) return NAN;
    const size_t rank =
        static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
    return sorted[std::min(sorted.size() - 1, rank == 0 ? 0 : rank - 1)];
}

std::string number(double v, int decimals = 2) {
    if (std::isnan(v)) return "null";
    char text[64];
    std::snprintf(text, sizeof text, "%.*f", decimals, v);
    return text;
}

std::string quoted(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += (static_cast<unsigned char>(c) < 0x20) ? ' ' : c;
    }
    return out + "\"";
}

void usage() {
    std::fprintf(stderr,
                 "usage: mjpeg_clients --url http://127.0.0.1:PORT/PATH [--clients N] "
                 "[--seconds S] [--warmup S] [--decode K] [--frame-times FILE]\n");
}

bool parseOptions(int argc, char** argv, Options& o) {
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (i + 1 >= argc) return false;
        const char* value = argv[++i];
        if (arg == "--clients") {
            o.clients = std::atoi(value);
        } else if (arg == "--seconds") {
            o.seconds = std::atof(value);
        } else if (arg == "--warmup") {
            o.warmup = std::atof(value);
        } else if (arg == "--url") {
            o.url = value;
        } else if (arg == "--decode") {
            o.decode = std::atoi(value);
        } else if (arg == "--frame-times") {
            o.frameTimes = value;
        } else {
            return false;
        }
    }
    return o.clients > 0 && o.seconds > 0 && o.warmup >= 0 && !o.url.empty();
}

}  // namespace

int main(int argc, char** argv) {
    Options options;
    Url url;
    if (!parseOptions(argc, argv, options) || !parseUrl(options.url, url)) {
        usage();
        return 2;
    }
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(url.port);
    if (inet_pton(AF_INET, url.host.c_str(), &address.sin_addr) != 1) {
        std::fprintf(stderr, "mjpeg_clients: %s is not an IPv4 address\n", url.host.c_str());
        return 2;
    }
    const std::string request = "GET " + url.path + " HTTP/1.1\r\nHost: " + url.host + ":" +
                                std::to_string(url.port) +
                                "\r\nUser-Agent: hlsd-bench-mjpeg\r\nAccept: */*\r\n\r\n";

    const int epoll = epoll_create1(EPOLL_CLOEXEC);
    if (epoll < 0) {
        std::perror("epoll_create1");
        return 1;
    }
    std::vector<Connection> connections;
    connections.reserve(static_cast<size_t>(options.clients));
    for (int i = 0; i < options.clients; ++i) {
        connections.emplace_back(i < options.decode);
        Connection& c = connections.back();
        c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (c.fd < 0) {
            std::perror("socket");
            return 1;
        }
        const int one = 1;
        setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (connect(c.fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 &&
            errno != EINPROGRESS) {
            c.error = std::string("connect: ") + std::strerror(errno);
            c.closed = true;
            close(c.fd);
            continue;
        }
        epoll_event event{};
        event.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP;
        event.data.u64 = static_cast<uint64_t>(i);
        epoll_ctl(epoll, EPOLL_CTL_ADD, c.fd, &event);
    }

    const double startWall = wallNow();
    const double startMono = monoNow();
    const double windowStart = startWall + options.warmup;
    const double windowEnd = windowStart + options.seconds;
    const double endMono = startMono + options.warmup + options.seconds;
    FrameNumberReader reader;
    std::vector<char> buffer(256 * 1024);
    std::vector<epoll_event> events(static_cast<size_t>(options.clients));

    auto closeConnection = [&](Connection& c, const std::string& why) {
        if (c.closed) return;
        if (c.error.empty()) c.error = why;
        c.closed = true;
        epoll_ctl(epoll, EPOLL_CTL_DEL, c.fd, nullptr);
        close(c.fd);
    };

    for (;;) {
        const double left = endMono - monoNow();
        if (left <= 0) break;
        const int n = epoll_wait(epoll, events.data(), static_cast<int>(events.size()),
                                 std::max(1, static_cast<int>(left * 1000)));
        if (n < 0 && errno != EINTR) {
            std::perror("epoll_wait");
            return 1;
        }
        for (int e = 0; e < n; ++e) {
            Connection& c = connections[static_cast<size_t>(events[e].data.u64)];
            if (c.closed) continue;
            if (!c.connected && (events[e].events & (EPOLLOUT | EPOLLERR))) {
                int error = 0;
                socklen_t length = sizeof error;
                getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &error, &length);
                if (error != 0) {
                    closeConnection(c, std::string("connect: ") + std::strerror(error));
                    continue;
                }
                // The request is small: one send() on a new socket takes it whole.
                if (send(c.fd, request.data(), request.size(), MSG_NOSIGNAL) !=
                    static_cast<ssize_t>(request.size())) {
                    closeConnection(c, "request not sent");
                    continue;
                }
                c.connected = true;
                epoll_event event{};
                event.events = EPOLLIN | EPOLLRDHUP;
                event.data.u64 = events[e].data.u64;
                epoll_ctl(epoll, EPOLL_CTL_MOD, c.fd, &event);
            }
            if (!(events[e].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) continue;
            for (;;) {
                const ssize_t got = recv(c.fd, buffer.data(), buffer.size(), 0);
                if (got > 0) {
                    const double now = wallNow();
                    c.bytes += static_cast<uint64_t>(got);
                    if (now >= windowStart && now < windowEnd)
                        c.windowBytes += static_cast<uint64_t>(got);
                    if (!c.feed(buffer.data(), static_cast<size_t>(got), now, reader)) {
                        closeConnection(c, "unreadable stream");
                        break;
                    }
                    if (static_cast<size_t>(got) < buffer.size()) break;
                    continue;
                }
                if (got == 0) {
                    closeConnection(c, "closed by the server");
                } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                    closeConnection(c, std::string("recv: ") + std::strerror(errno));
                }
                break;
            }
        }
    }
    const double runSeconds = monoNow() - startMono;
    for (Connection& c : connections) closeConnection(c, "");
    close(epoll);

    // Where the frame numbers were sent from, when latency is measured by them.
    const bool byFrame = !options.frameTimes.empty();
    std::unordered_map<long, double> sentAt;
    if (byFrame) {
        std::ifstream in(options.frameTimes);
        long frame = 0;
        double t = 0;
        while (in >> frame >> t) sentAt[frame % 65536] = t;  // 16 bits are drawn
    }

    std::vector<double> latencies;
    std::vector<double> sampled;  // of the --decode connections only
    std::vector<double> perClient;
    uint64_t windowBytes = 0, decodedOk = 0, decodedFailed = 0, unmatched = 0, repeats = 0;
    uint64_t connected = 0, closedEarly = 0;
    std::map<std::string, int> errors;
    for (size_t i = 0; i < connections.size(); ++i) {
        const Connection& c = connections[i];
        connected += c.connected ? 1 : 0;
        if (!c.error.empty()) {
            ++closedEarly;
            ++errors[c.error];
        }
        windowBytes += c.windowBytes;
        uint64_t inWindow = 0;
        long lastFrame = -1;
        for (const Part& p : c.parts) {
            if (p.arrived < windowStart || p.arrived >= windowEnd) continue;
            ++inWindow;
            const bool decoded = static_cast<int>(i) < options.decode;
            if (decoded) {
                if (p.frame < 0) {
                    ++decodedFailed;
                } else {
                    ++decodedOk;
                    if (p.frame == lastFrame) ++repeats;
                    lastFrame = p.frame;
                }
            }
            if (!byFrame) {
                if (std::isnan(p.timestamp)) continue;
                latencies.push_back((p.arrived - p.timestamp) * 1e3);
                if (decoded) sampled.push_back(latencies.back());
            } else if (decoded && p.frame >= 0) {
                const auto it = sentAt.find(p.frame);
                if (it == sentAt.end()) {
                    ++unmatched;
                } else {
                    latencies.push_back((p.arrived - it->second) * 1e3);
                    sampled.push_back(latencies.back());
                }
            }
        }
        perClient.push_back(static_cast<double>(inWindow));
    }
    std::sort(latencies.begin(), latencies.end());
    std::sort(sampled.begin(), sampled.end());
    std::sort(perClient.begin(), perClient.end());
    const double seconds = options.seconds;
    std::string errorText = "{";
    for (const auto& [why, count] : errors) {
        if (errorText.size() > 1) errorText += ",";
        errorText += quoted(why) + ":" + std::to_string(count);
    }
    errorText += "}";

    std::printf(
        "{\"clients\":%d,\"connected\":%llu,\"seconds\":%s,\"warmup\":%s,\"run_seconds\":%s,"
        "\"latency_source\":\"%s\",\"parts_per_client\":{\"min\":%s,\"median\":%s,\"max\":%s},"
        "\"parts_per_second_per_client\":{\"min\":%s,\"median\":%s},"
        "\"latency_ms\":{\"p50\":%s,\"p95\":%s,\"max\":%s,\"n\":%zu},"
        "\"latency_ms_decoded\":{\"p50\":%s,\"p95\":%s,\"max\":%s,\"n\":%zu},\"bytes\":%llu,"
        "\"decoded\":{\"connections\":%d,\"ok\":%llu,\"failed\":%llu,\"unmatched\":%llu,"
        "\"repeats\":%llu},\"closed_early\":%llu,\"errors\":%s}\n",
        options.clients, static_cast<unsigned long long>(connected), number(seconds, 1).c_str(),
        number(options.warmup, 1).c_str(), number(runSeconds, 2).c_str(),
        byFrame ? "frame-number" : "x-timestamp", number(perClient.front(), 0).c_str(),
        number(percentile(perClient, 50), 0).c_str(), number(perClient.back(), 0).c_str(),
        number(perClient.front() / seconds).c_str(),
        number(percentile(perClient, 50) / seconds).c_str(),
        number(percentile(latencies, 50)).c_str(), number(percentile(latencies, 95)).c_str(),
        number(latencies.empty() ? NAN : latencies.back()).c_str(), latencies.size(),
        number(percentile(sampled, 50)).c_str(), number(percentile(sampled, 95)).c_str(),
        number(sampled.empty() ? NAN : sampled.back()).c_str(), sampled.size(),
        static_cast<unsigned long long>(windowBytes), std::min(options.decode, options.clients),
        static_cast<unsigned long long>(decodedOk), static_cast<unsigned long long>(decodedFailed),
        static_cast<unsigned long long>(unmatched), static_cast<unsigned long long>(repeats),
        static_cast<unsigned long long>(closedEarly), errorText.c_str());
    return 0;
}
