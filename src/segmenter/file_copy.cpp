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
    if (fd < 0) {  // no memfd: the bytes are served from memory as before
        --live;
        return nullptr;
    }
    return std::shared_ptr<FileCopy>(new FileCopy(fd));
}

bool FileCopy::append(const std::vector<uint8_t>& bytes, uint64_t& at) {
    at = size_;
    size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::pwrite(fd_, bytes.data() + done, bytes.size() - done,
                                   static_cast<off_t>(size_ + done));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        done += static_cast<size_t>(n);
    }
    size_ += done;
    return true;
}

std::shared_ptr<const FileCopy> FileCopy::of(const std::vector<uint8_t>& bytes) {
    if (bytes.empty()) return nullptr;
    auto file = create();
    uint64_t at = 0;
    if (!file || !file->append(bytes, at)) return nullptr;
    return file;
}

FileCopy::~FileCopy() {
    ::close(fd_);
    --live;
}

}  // namespace hlsd
