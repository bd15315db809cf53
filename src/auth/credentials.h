// Who may watch: users with crypt(3) password hashes, and signed tokens for the players and
// dashboards that cannot send a password. Pure functions; no state, no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hlsd {

enum Permission : unsigned {
    kView = 1,     // the page, playlists, media, streams, MJPEG, snapshots
    kMetrics = 2,  // /metrics
};

struct User {
    std::string name;          // [A-Za-z0-9_-]: it travels in tokens and URLs as it is
    std::string passwordHash;  // crypt(3): yescrypt $y$, SHA-512 $6$, bcrypt $2b$
    unsigned permissions = 0;  // Permission bits
};

// "" when `name` may be a user's name, else why not.
std::string checkUserName(std::string_view name);
// "" when libxcrypt can check `hash` (one of the prefixes above, well formed), else why not.
std::string checkPasswordHash(const std::string& hash);

// crypt(3) of `password` with the hash's own salt and cost, compared in constant time. Slow on
// purpose (yescrypt: tens of milliseconds): never on an event loop.
bool passwordMatches(const std::string& password, const std::string& hash);
// A new yescrypt hash with libxcrypt's default cost. Throws std::runtime_error.
std::string hashPassword(const std::string& password);

// Equal bytes, in a time that depends only on the lengths.
bool constantTimeEqual(std::string_view a, std::string_view b);

// HTTP Basic: "Basic base64(user:password)" → {user, password}; nullopt when malformed.
std::optional<std::pair<std::string, std::string>> parseBasic(std::string_view header);

// Tokens: NAME.EXPIRY.MAC with EXPIRY Unix seconds (0: never) and MAC the base64url
// HMAC-SHA256 of "hlsd-token NAME EXPIRY", keyed with the user's password hash. hlsd keeps no
// list: a token is valid while its user exists with the same password hash (changing the
// password revokes every token of that user) and until it expires. Whoever can read the
// configuration can make tokens; it already holds the hashes, so it must be readable only by
// root and hlsd.
std::string makeToken(const User& user, int64_t expiresUnix);
enum class TokenCheck { Valid, Malformed, UnknownUser, BadSignature, Expired };
// `expires`: the token's expiry (Unix seconds, 0: never), when Valid.
TokenCheck checkToken(std::string_view token, const std::vector<User>& users, int64_t nowUnix,
                      const User** who, int64_t* expires = nullptr);
const char* tokenCheckText(TokenCheck c);

}  // namespace hlsd
