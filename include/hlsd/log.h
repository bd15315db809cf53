// Named spdlog loggers per stage, sharing one sink.
#pragma once

#include <memory>
#include <string>

#include <spdlog/spdlog.h>

namespace hlsd {

// The logger for one stage ("source", "segmenter", "store", "config", "main", ...).
std::shared_ptr<spdlog::logger> logger(const std::string& name);
// Sets the level of every logger, present and future. Returns false for an unknown level.
bool setLogLevel(const std::string& level);
// Sends libav* messages to the "libav" logger (errors as warnings, warnings as debug).
void routeLibavLogs();

}  // namespace hlsd
