#include "hlsd/log.h"

#include <mutex>

#include <spdlog/sinks/stdout_color_sinks.h>

extern "C" {
#include <libavutil/log.h>
}

namespace hlsd {
namespace {

std::mutex gMutex;
spdlog::level::level_enum gLevel = spdlog::level::info;

spdlog::sink_ptr sharedSink() {
    static spdlog::sink_ptr sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    return sink;
}

}  // namespace

std::shared_ptr<spdlog::logger> logger(const std::string& name) {
    std::lock_guard lock(gMutex);
    if (auto existing = spdlog::get(name)) return existing;
    auto created = std::make_shared<spdlog::logger>(name, sharedSink());
    created->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ [%n] %v");
    created->set_level(gLevel);
    spdlog::register_logger(created);
    return created;
}

bool setLogLevel(const std::string& level) {
    auto parsed = spdlog::level::from_str(level);
    // from_str answers "off" for anything it does not know.
    if (parsed == spdlog::level::off && level != "off") return false;
    std::lock_guard lock(gMutex);
    gLevel = parsed;
    spdlog::apply_all([parsed](const std::shared_ptr<spdlog::logger>& l) { l->set_level(parsed); });
    return true;
}

void routeLibavLogs() {
    av_log_set_callback([](void* avcl, int level, const char* fmt, va_list args) {
        if (level > AV_LOG_VERBOSE) return;
        char line[1024];
        int prefix = 1;
        av_log_format_line2(avcl, level, fmt, args, line, sizeof line, &prefix);
        std::string text(line);
        while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
        if (text.empty()) return;
        static auto log = logger("libav");
        // libav* reports what it recovers from as errors; our own code decides what is fatal.
        if (level <= AV_LOG_ERROR) {
            log->warn("{}", text);
        } else if (level <= AV_LOG_WARNING) {
            log->debug("{}", text);
        } else {
            log->trace("{}", text);
        }
    });
}

}  // namespace hlsd
