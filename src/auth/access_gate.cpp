#include "auth/access_gate.h"

#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace hlsd {
namespace {

constexpr size_t kMaxChecked = 4096;     // remembered digests
constexpr size_t kMaxAddresses = 16384;  // addresses with recent failures
constexpr size_t kMaxQueue = 256;        // passwords waiting for a check, from every address

}  // namespace

std::string addressKey(const std::string& ip) {
    in6_addr v6{};
    if (ip.find(':') == std::string::npos || inet_pton(AF_INET6, ip.c_str(), &v6) != 1) return ip;
    if (IN6_IS_ADDR_V4MAPPED(&v6)) return ip.substr(ip.rfind(':') + 1);  // ::ffff:a.b.c.d
    char text[INET6_ADDRSTRLEN] = {};
    std::memset(v6.s6_addr + 8, 0, 8);
    inet_ntop(AF_INET6, &v6, text, sizeof text);
    return std::string(text) + "/64";
}

size_t AccessGate::DigestHash::operator()(const Digest& d) const {
    size_t h;
    std::memcpy(&h, d.data(), sizeof h);
    return h;
}

AccessGate::AccessGate(std::vector<User> users, GateLimits limits)
    : users_(std::move(users)), limits_(limits) {
    if (users_.empty()) return;
    if (RAND_bytes(key_.data(), static_cast<int>(key_.size())) != 1)
        throw std::runtime_error("cannot make a random key for the access gate");
    thread_ = std::thread([this] { run(); });
}

AccessGate::~AccessGate() {
    stop();
    OPENSSL_cleanse(key_.data(), key_.size());
}

void AccessGate::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        for (auto& p : queue_) OPENSSL_cleanse(p.header.data(), p.header.size());
        queue_.clear();
    }
    work_.notify_all();
    if (thread_.joinable()) thread_.join();
}

AccessGate::Stats AccessGate::stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
}

AccessGate::Digest AccessGate::digestOf(char kind, std::string_view value) const {
    std::string message(1, kind);
    message.append(value);
    Digest d{};
    unsigned int length = 0;
    HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
         reinterpret_cast<const unsigned char*>(message.data()), message.size(), d.data(), &length);
    OPENSSL_cleanse(message.data(), message.size());
    return d;
}

const User* AccessGate::find(std::string_view name) const {
    for (const User& u : users_) {
        if (u.name == name) return &u;
    }
    return nullptr;
}

// Under mutex_. One more failed check from `address`; enough of them lock it out.
void AccessGate::failed(const std::string& address, Clock::time_point now) {
    if (addresses_.size() >= kMaxAddresses && !addresses_.count(address)) {
        // Many addresses failing at once: forget those with nothing recent, never a lockout
        // or a check in flight.
        std::erase_if(addresses_, [&](const auto& a) {
            return a.second.lockedUntil <= now && a.second.checks == 0 &&
                   (a.second.failures.empty() || a.second.failures.back() < now - limits_.window);
        });
        if (addresses_.size() >= kMaxAddresses) return;  // full of live entries: not recorded
    }
    Address& a = addresses_[address];
    while (!a.failures.empty() && a.failures.front() < now - limits_.window) a.failures.pop_front();
    a.failures.push_back(now);
    if (static_cast<int>(a.failures.size()) >= limits_.failures) {
        a.lockedUntil = now + limits_.lockout;
        a.failures.clear();
    }
}

// Under mutex_.
bool AccessGate::locked(const std::string& address, Clock::time_point now, int& retryAfter) {
    auto it = addresses_.find(address);
    if (it == addresses_.end() || it->second.lockedUntil <= now) return false;
    retryAfter = static_cast<int>(
        std::chrono::ceil<std::chrono::seconds>(it->second.lockedUntil - now).count());
    return true;
}

AccessGate::Decision AccessGate::permit(const User& user, unsigned needed, std::string token,
                                        int64_t expiresUnix) {
    Decision d;
    d.user = user.name;
    if ((user.permissions & needed) != needed) {
        d.kind = Decision::Forbidden;
        d.why = "user " + user.name + " may not " + (needed & kMetrics ? "read metrics" : "view");
        ++stats_.forbidden;
        return d;
    }
    d.token = std::move(token);
    d.expiresUnix = expiresUnix;
    return d;
}

AccessGate::Decision AccessGate::decide(std::string_view authorization, std::string_view token,
                                        const std::string& ip, unsigned needed,
                                        Clock::time_point now, int64_t nowUnix) {
    if (users_.empty() || needed == 0) return {};  // Allow
    const std::string address = addressKey(ip);
    auto deny = [&](std::string why) {
        Decision no;
        no.kind = Decision::Unauthenticated;
        no.why = std::move(why);
        ++stats_.unauthenticated;
        return no;
    };
    auto tooMany = [&](int retryAfter) {
        Decision no;
        no.kind = Decision::TooMany;
        no.retryAfter = retryAfter;
        ++stats_.limited;
        return no;
    };
    int retryAfter = 0;
    if (!token.empty()) {
        // An HMAC: cheap, checked here. A valid token passes even while its address is locked
        // out (a proxy or a NAT shares one address); a wrong one counts once per distinct token.
        if (nowUnix < 0) {
            nowUnix = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
        }
        const User* user = nullptr;
        int64_t expires = 0;
        const TokenCheck c = checkToken(token, users_, nowUnix, &user, &expires);
        const Digest digest = digestOf('T', token);
        std::lock_guard lock(mutex_);
        if (c == TokenCheck::Valid) return permit(*user, needed, std::string(token), expires);
        if (locked(address, now, retryAfter)) return tooMany(retryAfter);
        if (checked_.emplace(digest, Checked{false, {}, now}).second) failed(address, now);
        // One answer for a made-up name and a forged MAC: names are not revealed.
        return deny(c == TokenCheck::Expired ? "token expired" : "invalid token");
    }
    if (authorization.empty()) {
        std::lock_guard lock(mutex_);
        return deny("credentials required");
    }
    const Digest digest = digestOf('B', authorization);
    const bool wellFormed = parseBasic(authorization).has_value();
    std::lock_guard lock(mutex_);
    if (auto it = checked_.find(digest); it != checked_.end()) {
        Checked& c = it->second;
        if (c.ok && now - c.at < limits_.remember) {
            // A password already checked passes, also from a locked address.
            if (const User* u = find(c.user)) {
                c.at = now;  // trusted while in use
                return permit(*u, needed, {});
            }
        } else if (!c.ok && now - c.at < limits_.window) {
            if (locked(address, now, retryAfter)) return tooMany(retryAfter);
            return deny("wrong user or password");  // the same guess again: not counted again
        }
        checked_.erase(it);
    }
    // A new password to check: refused while the address is locked or has its checks in flight.
    if (locked(address, now, retryAfter)) return tooMany(retryAfter);
    if (!wellFormed) {
        failed(address, now);
        return deny("malformed Authorization header");
    }
    // Already asked for (queued or being checked): this request waits for the same check.
    const bool queued = std::any_of(queue_.begin(), queue_.end(),
                                    [&](const Pending& p) { return p.digest == digest; }) ||
                        std::find(checking_.begin(), checking_.end(), digest) != checking_.end();
    if (!queued) {
        Address& a = addresses_[address];
        if (a.checks >= limits_.checksPerAddress || queue_.size() >= kMaxQueue) {
            Decision busy;
            busy.kind = Decision::Busy;
            busy.retryAfter = 1;
            return busy;
        }
        ++a.checks;
        queue_.push_back(Pending{digest, std::string(authorization), address});
        work_.notify_one();
    }
    Decision d;
    d.kind = Decision::Checking;
    d.until = now + limits_.wait;
    d.ready = [this, digest, address] {
        std::lock_guard guard(mutex_);
        int unused = 0;  // locked meanwhile: the check is skipped, the answer is 429
        return checked_.count(digest) > 0 || locked(address, Clock::now(), unused);
    };
    return d;
}

void AccessGate::run() {
    std::unique_lock lock(mutex_);
    for (;;) {
        work_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (stopping_) return;
        // In order: with at most checksPerAddress from each address in the queue, one address
        // cannot push the others' checks back by more than that many.
        Pending p = std::move(queue_.front());
        queue_.pop_front();
        checking_.push_back(p.digest);
        int retryAfter = 0;
        const bool skip = locked(p.address, Clock::now(), retryAfter);  // locked meanwhile
        lock.unlock();
        bool ok = false;
        std::string name;
        if (!skip) {
            if (auto basic = parseBasic(p.header)) {
                const User* user = find(basic->first);
                // An unknown name costs a check with the hash of a real user (same method and
                // cost): how long the answer takes does not tell which names exist.
                const std::string& against =
                    user ? user->passwordHash
                         : users_[std::hash<std::string>{}(basic->first) % users_.size()]
                               .passwordHash;
                ok = passwordMatches(basic->second, against) && user;
                if (ok) name = user->name;
                OPENSSL_cleanse(basic->first.data(), basic->first.size());
                OPENSSL_cleanse(basic->second.data(), basic->second.size());
            }
        }
        OPENSSL_cleanse(p.header.data(), p.header.size());
        lock.lock();
        const auto now = Clock::now();
        if (auto it = addresses_.find(p.address); it != addresses_.end() && it->second.checks > 0)
            --it->second.checks;
        std::erase(checking_, p.digest);
        if (skip) continue;  // its request finds the lockout when it is answered
        if (checked_.size() >= kMaxChecked) {
            std::erase_if(checked_, [&](const auto& c) {
                return now - c.second.at >= (c.second.ok ? Clock::duration(limits_.remember)
                                                         : Clock::duration(limits_.window));
            });
            if (checked_.size() >= kMaxChecked) checked_.clear();
        }
        checked_[p.digest] = Checked{ok, name, now};
        if (!ok) failed(p.address, now);
        ++stats_.checks;
        lock.unlock();
        if (onChecked_) onChecked_();
        lock.lock();
    }
}

}  // namespace hlsd
