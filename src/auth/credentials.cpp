#include "auth/credentials.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <charconv>
#include <cstring>
#include <memory>
#include <stdexcept>

namespace hlsd {
namespace {

bool nameChar(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

std::string base64url(const unsigned char* data, size_t size) {
    static const char kAlphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    for (size_t i = 0; i < size; i += 3) {
        uint32_t n = static_cast<uint32_t>(data[i]) << 16;
        if (i + 1 < size) n |= static_cast<uint32_t>(data[i + 1]) << 8;
        if (i + 2 < size) n |= data[i + 2];
        out += kAlphabet[(n >> 18) & 63];
        out += kAlphabet[(n >> 12) & 63];
        if (i + 1 < size) out += kAlphabet[(n >> 6) & 63];
        if (i + 2 < size) out += kAlphabet[n & 63];
    }
    return out;
}

std::string tokenMac(const User& user, std::string_view expiry) {
    const std::string message = "hlsd-token " + user.name + " " + std::string(expiry);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    HMAC(EVP_sha256(), user.passwordHash.data(), static_cast<int>(user.passwordHash.size()),
         reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &length);
    return base64url(mac, length);
}

}  // namespace

std::string checkUserName(std::string_view name) {
    if (name.empty() || name.size() > 64) return "must be 1..64 characters";
    for (char c : name) {
        if (!nameChar(c)) return "may only hold letters, digits, '_' and '-'";
    }
    return "";
}

std::string checkPasswordHash(const std::string& hash) {
    const bool known =
        hash.rfind("$y$", 0) == 0 || hash.rfind("$6$", 0) == 0 || hash.rfind("$2b$", 0) == 0;
    if (!known)
        return "must be a crypt(3) hash: yescrypt ($y$…), SHA-512 ($6$…) or bcrypt ($2b$…); "
               "make one with `hlsd --hash-password`";
    // libxcrypt knows the method and the settings are well formed when it can hash with them.
    crypt_data data{};
    const char* out = crypt_r("check", hash.c_str(), &data);
    if (!out || out[0] == '*') return "is not a valid crypt(3) hash (libxcrypt rejects it)";
    return "";
}

bool passwordMatches(const std::string& password, const std::string& hash) {
    auto data = std::make_unique<crypt_data>();  // 32 KiB: not on the stack
    const char* out = crypt_r(password.c_str(), hash.c_str(), data.get());
    // "*0" / "*1": a failed computation (libxcrypt never returns a hash starting with '*').
    const bool ok = out && out[0] != '*' && constantTimeEqual(out, hash);
    OPENSSL_cleanse(data.get(), sizeof *data);
    return ok;
}

std::string hashPassword(const std::string& password) {
    char setting[CRYPT_GENSALT_OUTPUT_SIZE];
    if (!crypt_gensalt_rn("$y$", 0, nullptr, 0, setting, sizeof setting))
        throw std::runtime_error(std::string("cannot make a salt: ") + std::strerror(errno));
    auto data = std::make_unique<crypt_data>();
    const char* out = crypt_r(password.c_str(), setting, data.get());
    if (!out || out[0] == '*') throw std::runtime_error("libxcrypt could not hash the password");
    std::string hash = out;
    OPENSSL_cleanse(data.get(), sizeof *data);
    return hash;
}

bool constantTimeEqual(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::optional<std::pair<std::string, std::string>> parseBasic(std::string_view header) {
    // RFC 7617: the scheme is case-insensitive, then one or more spaces.
    if (header.size() < 6) return std::nullopt;
    static const char kScheme[] = "basic";
    for (size_t i = 0; i < 5; ++i) {
        if ((header[i] | 0x20) != kScheme[i]) return std::nullopt;
    }
    header.remove_prefix(5);
    if (header.empty() || header.front() != ' ') return std::nullopt;
    while (!header.empty() && header.front() == ' ') header.remove_prefix(1);
    while (!header.empty() && header.back() == ' ') header.remove_suffix(1);
    if (header.empty() || header.size() > 1024 || header.size() % 4 != 0) return std::nullopt;
    std::string decoded(header.size() / 4 * 3, '\0');
    const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(decoded.data()),
                                  reinterpret_cast<const unsigned char*>(header.data()),
                                  static_cast<int>(header.size()));
    if (n < 0) return std::nullopt;
    size_t size = static_cast<size_t>(n);
    // EVP_DecodeBlock counts the padding's zero bytes: take them off.
    for (size_t pad = 0; pad < 2 && header[header.size() - 1 - pad] == '='; ++pad) --size;
    decoded.resize(size);
    const size_t colon = decoded.find(':');
    if (colon == std::string::npos || decoded.find('\0') != std::string::npos) return std::nullopt;
    return std::make_pair(decoded.substr(0, colon), decoded.substr(colon + 1));
}

std::string makeToken(const User& user, int64_t expiresUnix) {
    const std::string expiry = std::to_string(expiresUnix);
    return user.name + "." + expiry + "." + tokenMac(user, expiry);
}

TokenCheck checkToken(std::string_view token, const std::vector<User>& users, int64_t nowUnix,
                      const User** who, int64_t* expiresOut) {
    if (who) *who = nullptr;
    const size_t first = token.find('.');
    const size_t second = first == std::string_view::npos ? first : token.find('.', first + 1);
    if (second == std::string_view::npos || token.size() > 256) return TokenCheck::Malformed;
    const std::string_view name = token.substr(0, first);
    const std::string_view expiry = token.substr(first + 1, second - first - 1);
    const std::string_view mac = token.substr(second + 1);
    int64_t expires = 0;
    const auto [end, ec] = std::from_chars(expiry.data(), expiry.data() + expiry.size(), expires);
    if (ec != std::errc() || end != expiry.data() + expiry.size() || expires < 0)
        return TokenCheck::Malformed;
    const User* user = nullptr;
    for (const User& u : users) {
        if (u.name == name) user = &u;
    }
    if (!user) return TokenCheck::UnknownUser;
    if (!constantTimeEqual(tokenMac(*user, expiry), mac)) return TokenCheck::BadSignature;
    if (expires != 0 && expires <= nowUnix) return TokenCheck::Expired;
    if (who) *who = user;
    if (expiresOut) *expiresOut = expires;
    return TokenCheck::Valid;
}

const char* tokenCheckText(TokenCheck c) {
    switch (c) {
        case TokenCheck::Valid:
            return "valid";
        case TokenCheck::Malformed:
            return "malformed token";
        case TokenCheck::UnknownUser:
            return "token of an unknown user";
        case TokenCheck::BadSignature:
            return "token altered, or its user's password changed";
        case TokenCheck::Expired:
            return "token expired";
    }
    return "?";
}

}  // namespace hlsd
