// hlsd --hash-password and hlsd --make-token: what an administrator runs to fill `users:` and
// to hand a dashboard a URL.
#include <termios.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <iostream>
#include <string>

#include <openssl/crypto.h>

#include "auth/credentials.h"
#include "cli.h"

namespace hlsd {
namespace {

// A line from the terminal without echo (or from a pipe as it is); false at end of input.
bool readSecret(const char* prompt, std::string& out) {
    const bool tty = isatty(STDIN_FILENO);
    termios saved{};
    if (tty) {
        std::cerr << prompt << std::flush;
        tcgetattr(STDIN_FILENO, &saved);
        termios quiet = saved;
        quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    const bool ok = static_cast<bool>(std::getline(std::cin, out));
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
        std::cerr << "\n";
    }
    return ok;
}

// "30d" → seconds; 0 for "" or "0"; -1 when malformed.
int64_t durationSeconds(const std::string& text) {
    if (text.empty() || text == "0") return 0;
    int64_t n = 0;
    const char* end = text.data() + text.size();
    auto [rest, ec] = std::from_chars(text.data(), end, n);
    if (ec != std::errc() || n <= 0 || rest + 1 != end) return -1;
    const int64_t unit = *rest == 'd'   ? 86400
                         : *rest == 'h' ? 3600
                         : *rest == 'm' ? 60
                         : *rest == 's' ? 1
                                        : 0;
    // At most 100 years: no overflow, and a typo fails instead of wrapping.
    if (unit == 0 || n > 100LL * 366 * 86400 / unit) return -1;
    return n * unit;
}

}  // namespace

int hashPasswordCommand() {
    std::string password, again;
    if (!readSecret("password: ", password) || password.empty()) {
        std::cerr << "hlsd: no password given\n";
        return 2;
    }
    if (isatty(STDIN_FILENO)) {
        if (!readSecret("again: ", again) || again != password) {
            std::cerr << "hlsd: the passwords differ\n";
            return 2;
        }
    }
    int code = 0;
    try {
        std::cout << hashPassword(password) << "\n";
    } catch (const std::exception& e) {
        std::cerr << "hlsd: " << e.what() << "\n";
        code = 1;
    }
    OPENSSL_cleanse(password.data(), password.size());
    OPENSSL_cleanse(again.data(), again.size());
    return code;
}

int makeTokenCommand(const Config& config, const std::string& name, const std::string& expires) {
    if (name.empty()) {
        std::cerr << "hlsd: --make-token needs --user NAME (one of the config's users)\n";
        return 2;
    }
    const int64_t lasts = durationSeconds(expires);
    if (lasts < 0) {
        std::cerr << "hlsd: --expires: expected a duration like 30d, 12h or 90m, got \"" << expires
                  << "\"\n";
        return 2;
    }
    for (const auto& u : config.users) {
        if (u.name != name) continue;
        User user{u.name, u.passwordHash, 0};
        const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count();
        std::cout << makeToken(user, lasts ? now + lasts : 0) << "\n";
        return 0;
    }
    std::cerr << "hlsd: no user \"" << name << "\" in the configuration"
              << (config.users.empty() ? " (it has no users: give -c FILE)" : "") << "\n";
    return 2;
}

}  // namespace hlsd
