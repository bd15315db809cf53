// Password hashes, Basic headers and tokens, without a server.
#include "auth/credentials.h"

#include <crypt.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cctype>
#include <thread>

#include "auth/access_gate.h"
#include "support/http_client.h"

namespace hlsd {
namespace {

using namespace std::chrono_literals;

TEST(Credentials, HashesCheckInEveryMethodLibxcryptKnows) {
    const std::string yescrypt = hashPassword("s3cret pass");
    EXPECT_EQ(yescrypt.rfind("$y$", 0), 0u) << yescrypt;
    EXPECT_EQ(checkPasswordHash(yescrypt), "");
    EXPECT_TRUE(passwordMatches("s3cret pass", yescrypt));
    EXPECT_FALSE(passwordMatches("s3cret pas", yescrypt));
    EXPECT_FALSE(passwordMatches("", yescrypt));
    // SHA-512 and bcrypt, as other tools (mkpasswd, htpasswd -B) make them.
    const std::string sha512 = "$6$rounds=1000$saltsalt$";
    crypt_data d{};
    const std::string made6 = crypt_r("pw", sha512.c_str(), &d);
    EXPECT_TRUE(passwordMatches("pw", made6));
    const std::string made2b = crypt_r("pw", "$2b$04$abcdefghijklmnopqrstuu", &d);
    EXPECT_EQ(made2b.rfind("$2b$", 0), 0u);
    EXPECT_TRUE(passwordMatches("pw", made2b));
    EXPECT_FALSE(passwordMatches("PW", made2b));
    EXPECT_NE(checkPasswordHash("plaintext"), "");
    EXPECT_NE(checkPasswordHash("$1$md5salt$abc"), "") << "MD5-crypt is not accepted";
    EXPECT_NE(checkPasswordHash("$y$broken"), "");
    EXPECT_EQ(checkUserName("alice_2-b"), "");
    EXPECT_NE(checkUserName("al ice"), "");
    EXPECT_NE(checkUserName("a.b"), "") << "'.' separates a token's fields";
    EXPECT_NE(checkUserName(""), "");
}

TEST(Credentials, BasicHeaders) {
    auto b = parseBasic("Basic YWxpY2U6cDpx");  // alice:p:q (a colon in the password)
    ASSERT_TRUE(b);
    EXPECT_EQ(b->first, "alice");
    EXPECT_EQ(b->second, "p:q");
    b = parseBasic("basic   Ym9iOg==");  // bob: (empty password), any case, several spaces
    ASSERT_TRUE(b);
    EXPECT_EQ(b->first, "bob");
    EXPECT_EQ(b->second, "");
    for (const char* bad :
         {"", "Basic", "Basic ", "Bearer YWxpY2U6cA==", "Basic YWxpY2U", "Basic !!!!",
          "Basic YWxpY2U=", "BasicYWxpY2U6cA==", "Basic AGFsaWNlOnA="})  // "\0alice:p"
        EXPECT_FALSE(parseBasic(bad)) << bad;
}

TEST(Credentials, TokensAreSignedByTheUsersHash) {
    crypt_data d{};
    const std::vector<User> users{{"alice", crypt_r("pw", "$6$rounds=1000$s1$", &d), kView},
                                  {"bob", crypt_r("pw", "$6$rounds=1000$s2$", &d), kView}};
    const std::string never = makeToken(users[0], 0);
    const std::string soon = makeToken(users[0], 1000);
    const User* who = nullptr;
    EXPECT_EQ(checkToken(never, users, 5000, &who), TokenCheck::Valid);
    EXPECT_EQ(who, &users[0]);
    int64_t expires = -1;
    EXPECT_EQ(checkToken(soon, users, 999, &who, &expires), TokenCheck::Valid);
    EXPECT_EQ(expires, 1000);
    EXPECT_EQ(checkToken(soon, users, 1000, &who), TokenCheck::Expired);
    EXPECT_EQ(who, nullptr);
    // Altered: another name, a later expiry, a changed MAC.
    std::string other = never;
    other.replace(0, 5, "bob");
    EXPECT_EQ(checkToken(other, users, 0, nullptr), TokenCheck::BadSignature);
    std::string later = soon;
    later.replace(later.find(".1000.") + 1, 4, "9999");
    EXPECT_EQ(checkToken(later, users, 0, nullptr), TokenCheck::BadSignature);
    std::string mac = never;
    mac.back() = mac.back() == 'A' ? 'B' : 'A';
    EXPECT_EQ(checkToken(mac, users, 0, nullptr), TokenCheck::BadSignature);
    EXPECT_EQ(checkToken("carol.0.abc", users, 0, nullptr), TokenCheck::UnknownUser);
    for (const char* bad : {"", "alice", "alice.0", "alice.x.abc", "alice.-5.abc"})
        EXPECT_EQ(checkToken(bad, users, 0, nullptr), TokenCheck::Malformed) << bad;
    // A new password revokes the user's tokens.
    std::vector<User> changed = users;
    changed[0].passwordHash = crypt_r("new", "$6$rounds=1000$s3$", &d);
    EXPECT_EQ(checkToken(never, changed, 0, nullptr), TokenCheck::BadSignature);
    for (char c : never)
        EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_')
            << "a token goes in URLs as it is: " << never;
}

struct GateFixture {
    crypt_data d{};
    std::vector<User> users{{"alice", crypt_r("pw", "$6$rounds=1000$s1$", &d), kView | kMetrics},
                            {"viewer", crypt_r("pw2", "$6$rounds=1000$s2$", &d), kView}};
};

// Polls `done` until it holds, for at most 5 s: a guard against hanging, not a speed bound
// (a check takes ~10 ms under qemu-aarch64).
template <typename Done>
void waitUntil(Done done) {
    for (int i = 0; i < 2500 && !done(); ++i) std::this_thread::sleep_for(2ms);
}

// Waits for a Checking decision's check, then decides again (what the held request does).
AccessGate::Decision settle(AccessGate& gate, std::string_view auth, const std::string& ip,
                            unsigned needed) {
    auto d = gate.decide(auth, "", ip, needed);
    if (d.kind == AccessGate::Decision::Checking) {
        waitUntil([&] { return d.ready(); });
        d = gate.decide(auth, "", ip, needed);
    }
    return d;
}

TEST(AccessGate, PasswordsAreCheckedOffTheCallersThreadAndRemembered) {
    GateFixture f;
    AccessGate gate(f.users);
    std::atomic<int> checked{0};
    gate.onChecked([&] { ++checked; });
    const std::string alice = test::basicCredentials("alice", "pw");
    auto first = gate.decide(alice, "", "10.0.0.1", kView);
    EXPECT_EQ(first.kind, AccessGate::Decision::Checking) << "never crypt(3) on the caller";
    EXPECT_EQ(settle(gate, alice, "10.0.0.1", kView).kind, AccessGate::Decision::Allow);
    // The checker publishes the result, then calls back outside its lock (the server's wake
    // then finds the result): the callback may come just after ready() is true.
    waitUntil([&] { return checked.load() > 0; });
    EXPECT_EQ(checked.load(), 1);
    // Remembered: allowed at once, no second check.
    const auto again = gate.decide(alice, "", "10.0.0.2", kMetrics);
    EXPECT_EQ(again.kind, AccessGate::Decision::Allow);
    EXPECT_EQ(again.user, "alice");
    EXPECT_EQ(gate.stats().checks, 1u);
    // A viewer without `metrics`.
    const std::string viewer = "Basic dmlld2VyOnB3Mg==";  // viewer:pw2
    EXPECT_EQ(settle(gate, viewer, "10.0.0.1", kMetrics).kind, AccessGate::Decision::Forbidden);
    EXPECT_EQ(gate.decide(viewer, "", "10.0.0.1", kView).kind, AccessGate::Decision::Allow);
    // Nothing needed (/healthz), nothing given: allowed; a route that needs one: 401.
    EXPECT_EQ(gate.decide("", "", "10.0.0.3", 0).kind, AccessGate::Decision::Allow);
    EXPECT_EQ(gate.decide("", "", "10.0.0.3", kView).kind, AccessGate::Decision::Unauthenticated);
}

TEST(AccessGate, GuessingFromOneAddressLocksOutNewGuessesOnly) {
    GateFixture f;
    GateLimits limits;
    limits.failures = 5;
    limits.lockout = 60s;
    AccessGate gate(f.users, limits);
    const std::string right = test::basicCredentials("alice", "pw");
    EXPECT_EQ(settle(gate, right, "10.0.0.9", kView).kind, AccessGate::Decision::Allow);
    for (int i = 0; i < 4; ++i)
        EXPECT_EQ(settle(gate, test::basicCredentials("alice", "guess" + std::to_string(i)),
                         "10.0.0.9", kView)
                      .kind,
                  AccessGate::Decision::Unauthenticated)
            << i;
    // The same wrong guess again is answered from memory and not counted again.
    EXPECT_EQ(gate.decide(test::basicCredentials("alice", "guess0"), "", "10.0.0.9", kView).kind,
              AccessGate::Decision::Unauthenticated);
    auto d =
        settle(gate, test::basicCredentials("alice", "guess4"), "10.0.0.9", kView);  // the fifth
    EXPECT_EQ(d.kind, AccessGate::Decision::TooMany);
    EXPECT_EQ(d.retryAfter, 60);
    // Locked: a new guess, even the right password for another user, is not checked at all...
    const uint64_t checks = gate.stats().checks;
    EXPECT_EQ(gate.decide(test::basicCredentials("viewer", "pw2"), "", "10.0.0.9", kView).kind,
              AccessGate::Decision::TooMany);
    EXPECT_EQ(gate.stats().checks, checks);
    // ...but what was already checked, and a valid token, still pass (a proxy or a NAT shares
    // one address with people who did nothing wrong).
    EXPECT_EQ(gate.decide(right, "", "10.0.0.9", kView).kind, AccessGate::Decision::Allow);
    EXPECT_EQ(gate.decide("", makeToken(f.users[1], 0), "10.0.0.9", kView).kind,
              AccessGate::Decision::Allow);
    // Another address is not affected; an IPv6 host is one address for its whole /64.
    EXPECT_EQ(settle(gate, test::basicCredentials("viewer", "pw2"), "10.0.0.10", kView).kind,
              AccessGate::Decision::Allow);
    EXPECT_EQ(addressKey("2001:db8:1:2:aaaa::1"), addressKey("2001:db8:1:2:bbbb::7"));
    EXPECT_NE(addressKey("2001:db8:1:2::1"), addressKey("2001:db8:1:3::1"));
    EXPECT_EQ(addressKey("::ffff:10.1.2.3"), "10.1.2.3");
    EXPECT_EQ(addressKey("10.1.2.3"), "10.1.2.3");
}

// Many different guesses at once from one address: at most two are checked at a time, and the
// lockout stops the rest from being checked (the old gate queued 256 and checked them all).
TEST(AccessGate, ManyGuessesAtOnceAreNotAllChecked) {
    // yescrypt at its default cost: no check ends while the 100 requests come in.
    const std::vector<User> users{{"alice", hashPassword("pw"), kView}};
    GateLimits limits;
    limits.failures = 5;
    AccessGate gate(users, limits);
    int busy = 0, checking = 0;
    for (int i = 0; i < 100; ++i) {
        const auto d = gate.decide(test::basicCredentials("alice", "g" + std::to_string(i)), "",
                                   "10.0.0.5", kView);
        busy += d.kind == AccessGate::Decision::Busy;
        checking += d.kind == AccessGate::Decision::Checking;
    }
    EXPECT_EQ(checking, 2);
    EXPECT_EQ(busy, 98);
    EXPECT_EQ(gate.stats().unauthenticated, 0u) << "busy is no failure of the person asking";
}

TEST(AccessGate, TokensNeedNoCheckAndAreGivenBack) {
    GateFixture f;
    AccessGate gate(f.users);
    const std::string token = makeToken(f.users[1], 0);
    const auto d = gate.decide("", token, "10.0.0.1", kView);
    EXPECT_EQ(d.kind, AccessGate::Decision::Allow);
    EXPECT_EQ(d.token, token) << "the playlist's URIs carry it on";
    EXPECT_EQ(gate.decide("", token, "10.0.0.1", kMetrics).kind, AccessGate::Decision::Forbidden);
    EXPECT_EQ(gate.stats().checks, 0u);
}

TEST(AccessGate, NoUsersMeansOpen) {
    AccessGate gate({});
    EXPECT_TRUE(gate.open());
    EXPECT_EQ(gate.decide("", "", "1.2.3.4", kView | kMetrics).kind, AccessGate::Decision::Allow);
}

}  // namespace
}  // namespace hlsd
