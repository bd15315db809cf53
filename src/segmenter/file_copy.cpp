#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

#include "hlsd/segment.h"

namespace hlsd {
namespace {

std::atomic<int> live{0};

}  // namespace

std::shared_ptr<FileCopy> FileCopy::create() {
    if (live.fetch_add(1) >= kMaxLive) {
        --live;
        return nullptr;
    }
    const int fd = ::memfd_create("hlsd-segment", MFD_CLOEXEC);
    if (fd < 0) {  // no memfd: the bytes are served from memory
        --live;
        return nullptr;
    }
    return std::shared_ptr<FileCopy>(new FileCopy(fd));
}

FileCopy::~FileCopy() {
    ::close(fd_);
    --live;
}

bool FileCopy::append(const std::vector<uint8_t>& bytes, uint64_t& offset) {
    size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::pwrite(fd_, bytes.data() + done, bytes.size() - done,
                                   static_cast<off_t>(size_ + done));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        done += static_cast<size_t>(n);
    }
    offset = size_;
    size_ += bytes.size();
    return true;
}

}  // namespace hlsd
