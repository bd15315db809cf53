#include "auth/access_gate.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cstring>

namespace hlsd {
namespace {

constexpr size_t kMaxChecked = 4096;     // remembered header digests
constexpr size_t kMaxAddresses = 16384;  // addresses with recent failures
constexpr size_t kMaxQueue = 256;        // passwords waiting for a check

// A hash to check unknown users against, so that they take as long as known ones (the time of
// an answer does not tell which names exist). Made once, with the default cost.
const std::string& decoyHash() {
    static const std::string hash = hashPassword("hlsd decoy");
    return hash;
}

}  // namespace

size_t AccessGate::DigestHash::operator()(const Digest& d) const {
    size_t h;
    std::memcpy(&h, d.data(), sizeof h);
    return h;
}

AccessGate::AccessGate(std::vector<User> users, GateLimits limits)
    : users_(std::move(users)), limits_(limits) {
    if (!users_.empty()) {
        decoyHash();
        thread_ = std::thread([this] { run(); });
    }
}

AccessGate::~AccessGate() {
    stop();
}

void AccessGate::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        for (auto& [digest, value] : queue_) OPENSSL_cleanse(value.data(), value.size());
        queue_.clear();
    }
    work_.notify_all();
    if (thread_.joinable()) thread_.join();
}

AccessGate::Stats AccessGate::stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
}

// Under mutex_. Records a failure; true when the address is (now) locked out.
bool AccessGate::failed(const std::string& ip, Clock::time_point now) {
    if (addresses_.size() >= kMaxAddresses && !addresses_.count(ip)) {
        // Many addresses failing at once: forget those whose failures are all old.
        std::erase_if(addresses_, [&](const auto& a) {
            return a.second.lockedUntil <= now &&
                   (a.second.failures.empty() || a.second.failures.back() < now - limits_.window);
        });
        if (addresses_.size() >= kMaxAddresses) addresses_.clear();
    }
    Address& a = addresses_[ip];
    while (!a.failures.empty() && a.failures.front() < now - limits_.window) a.failures.pop_front();
    a.failures.push_back(now);
    if (static_cast<int>(a.failures.size()) >= limits_.failures) {
        a.lockedUntil = now + limits_.lockout;
        a.failures.clear();
    }
    return a.lockedUntil > now;
}

AccessGate::Decision AccessGate::permit(const User& user, unsigned needed, std::string token) {
    Decision d;
    d.user = user.name;
    if ((user.permissions & needed) != needed) {
        d.kind = Decision::Forbidden;
        d.why = "user " + user.name + " may not " + (needed & kMetrics ? "read metrics" : "view");
        ++stats_.forbidden;
        return d;
    }
    d.kind = Decision::Allow;
    d.token = std::move(token);
    ++stats_.allowed;
    return d;
}

AccessGate::Decision AccessGate::decide(std::string_view authorization, std::string_view token,
                                        const std::string& ip, unsigned needed,
                                        Clock::time_point now, int64_t nowUnix) {
    Decision d;
    if (users_.empty() || needed == 0) return d;  // Allow
    std::lock_guard lock(mutex_);
    if (auto it = addresses_.find(ip); it != addresses_.end() && it->second.lockedUntil > now) {
        d.kind = Decision::TooMany;
        d.retryAfter = static_cast<int>(
            std::chrono::ceil<std::chrono::seconds>(it->second.lockedUntil - now).count());
        ++stats_.limited;
        return d;
    }
    auto deny = [&](std::string why, bool counts) {
        Decision no;
        no.kind = Decision::Unauthenticated;
        no.why = std::move(why);
        ++stats_.unauthenticated;
        if (counts && failed(ip, now)) {
            no.kind = Decision::TooMany;
            no.retryAfter = static_cast<int>(limits_.lockout.count());
        }
        return no;
    };
    if (!token.empty()) {
        if (nowUnix < 0) {
            nowUnix = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
        }
        const User* user = nullptr;
        const TokenCheck c = checkToken(token, users_, nowUnix, &user);
        if (c != TokenCheck::Valid) return deny(tokenCheckText(c), true);
        return permit(*user, needed, std::string(token));
    }
    if (authorization.empty()) return deny("credentials required", false);
    Digest digest;
    SHA256(reinterpret_cast<const unsigned char*>(authorization.data()), authorization.size(),
           digest.data());
    if (auto it = checked_.find(digest); it != checked_.end()) {
        if (now - it->second.at <
            (it->second.ok ? Clock::duration(limits_.remember) : Clock::duration(limits_.window))) {
            if (!it->second.ok) return deny("wrong user or password", true);
            for (const User& u : users_) {
                if (u.name == it->second.user) return permit(u, needed, {});
            }
        }
        checked_.erase(it);  // too old, or its user is gone
    }
    if (!parseBasic(authorization)) return deny("malformed Authorization header", true);
    // A password to check: on the gate's thread; the request waits (held, no thread) for it.
    const bool queued =
        std::any_of(queue_.begin(), queue_.end(), [&](const auto& q) { return q.first == digest; });
    if (!queued) {
        if (queue_.size() >= kMaxQueue) return deny("too many logins at once", true);
        queue_.emplace_back(digest, std::string(authorization));
        work_.notify_one();
    }
    d.kind = Decision::Checking;
    d.until = now + limits_.wait;
    d.ready = [this, digest] {
        std::lock_guard guard(mutex_);
        return checked_.count(digest) > 0;
    };
    return d;
}

void AccessGate::run() {
    std::unique_lock lock(mutex_);
    for (;;) {
        work_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (stopping_) return;
        auto [digest, value] = std::move(queue_.front());
        queue_.pop_front();
        lock.unlock();
        bool ok = false;
        std::string name;
        if (auto basic = parseBasic(value)) {
            const User* user = nullptr;
            for (const User& u : users_) {
                if (u.name == basic->first) user = &u;
            }
            // An unknown name costs a check too: the answer's time does not tell it apart.
            ok = passwordMatches(basic->second, user ? user->passwordHash : decoyHash()) && user;
            if (ok) name = user->name;
            OPENSSL_cleanse(basic->second.data(), basic->second.size());
        }
        OPENSSL_cleanse(value.data(), value.size());
        lock.lock();
        if (checked_.size() >= kMaxChecked) {
            const auto now = Clock::now();
            std::erase_if(checked_, [&](const auto& c) {
                return now - c.second.at >= (c.second.ok ? Clock::duration(limits_.remember)
                                                         : Clock::duration(limits_.window));
            });
            if (checked_.size() >= kMaxChecked) checked_.clear();
        }
        checked_[digest] = Checked{ok, name, Clock::now()};
        ++stats_.checks;
        lock.unlock();
        if (onChecked_) onChecked_();
        lock.lock();
    }
}

}  // namespace hlsd
