// The check every request passes before it is routed, held or counted: Basic credentials or a
// token, the permission the route needs, and a brake on guessing. Thread-safe (every event loop
// asks it); a password is checked off the loops, on the gate's own thread, because crypt(3) is
// slow on purpose, and the loop holds the request meanwhile.
#pragma once

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "auth/credentials.h"

namespace hlsd {

struct GateLimits {
    int failures = 10;  // failed checks from one address within `window`...
    std::chrono::seconds window{60};
    std::chrono::seconds lockout{60};    // ...and it may not try again for this long
    std::chrono::seconds remember{600};  // a right password is trusted this long after its last use
    std::chrono::milliseconds wait{5000};  // a request waits at most this for its check
    int checksPerAddress = 2;              // password checks queued or running per address
};

class AccessGate {
public:
    using Clock = std::chrono::steady_clock;

    AccessGate(std::vector<User> users, GateLimits limits = {});
    ~AccessGate();
    AccessGate(const AccessGate&) = delete;
    AccessGate& operator=(const AccessGate&) = delete;

    bool open() const { return users_.empty(); }  // no users: everyone may do everything
    void stop();  // no more checks (they then wait out their deadline); joins; idempotent
    // Called after each password check (the loops' wake(), so held requests look again).
    void onChecked(std::function<void()> callback) { onChecked_ = std::move(callback); }

    struct Decision {
        enum Kind { Allow, Unauthenticated, Forbidden, TooMany, Busy, Checking } kind = Allow;
        std::string user;
        std::string token;            // Allow through ?token=: the playlists' URIs carry it on
        int64_t expiresUnix = 0;      // ...and when that token expires (0: never)
        std::string why;              // for the 401/403 body (never the credential itself)
        int retryAfter = 0;           // TooMany, Busy: seconds
        Clock::time_point until;      // Checking: wait at most until then...
        std::function<bool()> ready;  // ...or until this says the check is done
    };
    // `authorization`: the header's value; `token`: the ?token= value; `ip`: the peer's
    // address; `needed`: Permission bits the route needs (0: none, e.g. /healthz).
    Decision decide(std::string_view authorization, std::string_view token, const std::string& ip,
                    unsigned needed, Clock::time_point now = Clock::now(), int64_t nowUnix = -1);

    struct Stats {
        uint64_t unauthenticated = 0, forbidden = 0, limited = 0, checks = 0;
    };
    Stats stats() const;

private:
    using Digest = std::array<unsigned char, 32>;
    struct DigestHash {
        size_t operator()(const Digest& d) const;
    };
    struct Checked {
        bool ok = false;
        std::string user;
        Clock::time_point at;
    };
    struct Address {
        std::deque<Clock::time_point> failures;
        Clock::time_point lockedUntil{};
        int checks = 0;  // queued or running
    };
    struct Pending {
        Digest digest;
        std::string header;  // cleansed once checked
        std::string address;
    };

    Digest digestOf(char kind, std::string_view value) const;  // keyed: no offline brute force
    void run();
    void failed(const std::string& address, Clock::time_point now);  // under mutex_
    bool locked(const std::string& address, Clock::time_point now, int& retryAfter);
    Decision permit(const User& user, unsigned needed, std::string token = {},
                    int64_t expiresUnix = 0);
    const User* find(std::string_view name) const;

    const std::vector<User> users_;
    const GateLimits limits_;
    std::array<unsigned char, 32> key_{};  // random, for this process's digests
    std::function<void()> onChecked_;

    mutable std::mutex mutex_;
    std::condition_variable work_;
    std::unordered_map<Digest, Checked, DigestHash> checked_;  // passwords, and bad tokens
    std::deque<Pending> queue_;
    std::vector<Digest> checking_;                        // taken from queue_, being checked now
    std::unordered_map<std::string, Address> addresses_;  // IPv4, or an IPv6 /64
    bool stopping_ = false;
    Stats stats_;
    std::thread thread_;
};

// The address failures are counted by: IPv4 as it is, IPv6 by its /64 (one host has them all).
std::string addressKey(const std::string& ip);

}  // namespace hlsd
