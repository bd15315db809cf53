#include <cctype>
#include <charconv>
#include <cmath>

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
