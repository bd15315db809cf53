#include <cctype>
#include <charconv>
#include <cmath>
#include <string>

#include "hlsd/config.h"

namespace hlsd {

std::optional<int64_t> parseBitrate(const std::string& text) {
    if (text.empty()) return std::nullopt;
    std::string number = text;
    double scale = 1.0;
    switch (std::tolower(static_cast<unsigned char>(text.back()))) {
        case 'k':
            scale = 1e3;
            number.pop_back();
            break;
        case 'm':
            scale = 1e6;
            number.pop_back();
            break;
        case 'g':
            scale = 1e9;
            number.pop_back();
            break;
        default:
            break;
    }
    double value = 0;
    auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
    if (ec != std::errc() || end != number.data() + number.size() || number.empty()) {
        return std::nullopt;
    }
    double bits = value * scale;
    if (!std::isfinite(bits) || bits < 1.0 || bits > 1e10) return std::nullopt;
    return static_cast<int64_t>(std::llround(bits));
}

}  // namespace hlsd

namespace hlsd {

bool parseListen(const std::string& text, std::string& host, int& port) {
    std::string h, p;
    if (!text.empty() && text[0] == '[') {  // [v6]:port
        auto close = text.find(']');
        if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
            return false;
        }
        h = text.substr(1, close - 1);
        p = text.substr(close + 2);
        if (h.empty()) return false;
    } else if (auto colon = text.rfind(':'); colon != std::string::npos) {
        if (text.find(':') != colon) return false;  // a bare IPv6 address needs brackets
        h = text.substr(0, colon);
        p = text.substr(colon + 1);
    } else {
        p = text;
    }
    if (h.empty()) h = "0.0.0.0";
    if (p.empty() || p.size() > 5) return false;
    for (char c : p) {
        if (c < '0' || c > '9') return false;
    }
    int value = std::stoi(p);
    if (value > 65535) return false;
    host = h;
    port = value;
    return true;
}

}  // namespace hlsd
