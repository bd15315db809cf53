#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

#include "hlsd/segment.h"

namespace hlsd {
namespace {

std::atomic<int> live{0};

}  // namespace

std::shared_ptr<const FileCopy> FileCopy::of(const std::vector<uint8_t>& bytes) {
    if (bytes.empty() || live.fetch_add(1) >= kMaxLive) {
        if (!bytes.empty()) --live;
        return nullptr;
    }
    const int fd = ::memfd_create("hlsd-part", MFD_CLOEXEC);
    size_t done = 0;
    while (fd >= 0 && done < bytes.size()) {
        const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        done += static_cast<size_t>(n);
    }
    if (fd < 0 || done < bytes.size()) {  // no memfd: the bytes are served from memory as before
        if (fd >= 0) ::close(fd);
        --live;
        return nullptr;
    }
    return std::shared_ptr<const FileCopy>(new FileCopy(fd));
}

FileCopy::~FileCopy() {
    ::close(fd_);
    --live;
}

}  // namespace hlsd
