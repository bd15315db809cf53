// What config.cpp (keys, values, the file) and rules.cpp (checks between keys, warnings) share.
#pragma once

#include <string>

#include "hlsd/config.h"

namespace hlsd::config_detail {

// Throws ConfigError("ORIGIN: KEY: MSG").
[[noreturn]] void fail(const std::string& origin, const std::string& key, const std::string& msg);
// Where a key's value came from ("FILE:LINE", "--flag"), or "default".
const std::string& originOf(const Config& c, const std::string& key);
std::string formatNumber(double v);

inline const std::string kCredentialsVariable = "${CREDENTIALS_DIRECTORY}";

}  // namespace hlsd::config_detail
