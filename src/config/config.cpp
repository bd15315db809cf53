#include "hlsd/config.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "auth/credentials.h"
#include "config/config_detail.h"
#include "hlsd/source.h"
#include "http/client_address.h"

namespace hlsd {
namespace config_detail {

[[noreturn]] void fail(const std::string& origin, const std::string& key, const std::string& msg) {
    throw ConfigError(origin + ": " + key + ": " + msg);
}

const std::string& originOf(const Config& c, const std::string& key) {
    static const std::string kDefault = "default";
    auto it = c.origin.find(key);
    return it == c.origin.end() ? kDefault : it->second;
}

std::string formatNumber(double v) {
    std::ostringstream out;
    out << v;
    return out.str();
}

}  // namespace config_detail

using namespace config_detail;

namespace {

double toDouble(const std::string& key, const std::string& text, const std::string& origin) {
    double value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() ||
        !std::isfinite(value)) {
        fail(origin, key, "expected a number, got \"" + text + "\"");
    }
    return value;
}

int toInt(const std::string& key, const std::string& text, const std::string& origin) {
    int value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
        fail(origin, key, "expected a whole number, got \"" + text + "\"");
    }
    return value;
}

bool toBool(const std::string& key, const std::string& text, const std::string& origin) {
    std::string t = text;
    std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return std::tolower(c); });
    if (t == "true" || t == "yes" || t == "on" || t == "1") return true;
    if (t == "false" || t == "no" || t == "off" || t == "0") return false;
    fail(origin, key, "expected true or false, got \"" + text + "\"");
}

std::string oneOf(const std::string& key, const std::string& value, const std::string& origin,
                  const std::vector<std::string>& allowed) {
    if (std::find(allowed.begin(), allowed.end(), value) != allowed.end()) return value;
    std::string list;
    for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
    fail(origin, key, "expected one of " + list + ", got \"" + value + "\"");
}

}  // namespace

const std::vector<std::string>& configKeys() {
    static const std::vector<std::string> keys = {"source",
                                                  "loop",
                                                  "realtime",
                                                  "exit_on_eof",
                                                  "segment_time",
                                                  "segment_wrap",
                                                  "list_size",
                                                  "part_duration",
                                                  "hold_plain_playlists",
                                                  "keyframe_interval",
                                                  "container",
                                                  "output_dir",
                                                  "width",
                                                  "height",
                                                  "fps",
                                                  "bitrate",
                                                  "encoder",
                                                  "encoder_device",
                                                  "profile",
                                                  "rotation",
                                                  "hflip",
                                                  "vflip",
                                                  "exposure_mode",
                                                  "awb",
                                                  "brightness",
                                                  "mjpeg_quality",
                                                  "mjpeg_width",
                                                  "mjpeg_height",
                                                  "mjpeg_fps",
                                                  "log_level",
                                                  "listen",
                                                  "allow_origin",
                                                  "player_dir",
                                                  "max_clients",
                                                  "http_loops",
                                                  "login_failures",
                                                  "login_lockout",
                                                  "max_request_size",
                                                  "http_timeout",
                                                  "header_timeout",
                                                  "tls_cert",
                                                  "tls_key",
                                                  "trusted_proxies"};
    return keys;
}

namespace {

// systemd passes a service's credentials (LoadCredential=) in a directory only known at run
// time; a path may name it as unit files do. Unset (hlsd run by hand, --check-config), the
// value stays as it is: unexpandedCredentials() says so.
std::string expandCredentials(const std::string& value) {
    const size_t at = value.find(kCredentialsVariable);
    const char* dir = std::getenv("CREDENTIALS_DIRECTORY");
    if (at == std::string::npos || !dir || !*dir) return value;
    return value.substr(0, at) + dir + value.substr(at + kCredentialsVariable.size());
}

}  // namespace

void setConfigValue(Config& c, const std::string& key, const std::string& value,
                    const std::string& origin) {
    if (key == "source") {
        if (value.empty()) fail(origin, key, "must not be empty (test, -, file:PATH or a URL)");
        c.source = value;
    } else if (key == "loop") {
        c.loop = toBool(key, value, origin);
    } else if (key == "realtime") {
        c.realtime = toBool(key, value, origin);
    } else if (key == "exit_on_eof") {
        c.exitOnEof = toBool(key, value, origin);
    } else if (key == "segment_time") {
        c.segmentTime = toDouble(key, value, origin);
    } else if (key == "segment_wrap") {
        c.segmentWrap = toInt(key, value, origin);
    } else if (key == "list_size") {
        c.listSize = toInt(key, value, origin);
    } else if (key == "part_duration") {
        c.partDuration = toDouble(key, value, origin);
    } else if (key == "hold_plain_playlists") {
        c.holdPlainPlaylists = toBool(key, value, origin);
    } else if (key == "keyframe_interval") {
        c.keyframeInterval = toDouble(key, value, origin);
    } else if (key == "container") {
        if (value != "mpegts" && value != "fmp4")
            fail(origin, key, "expected mpegts or fmp4, got \"" + value + "\"");
        c.container = value;
    } else if (key == "output_dir") {
        c.outputDir = value;
    } else if (key == "width") {
        c.width = toInt(key, value, origin);
    } else if (key == "height") {
        c.height = toInt(key, value, origin);
    } else if (key == "fps") {
        c.fps = toDouble(key, value, origin);
    } else if (key == "bitrate") {
        auto bits = parseBitrate(value);
        if (!bits) {
            fail(origin, key,
                 "expected bits per second like 2000000, 2000k or 2M, got \"" + value + "\"");
        }
        c.bitrate = *bits;
    } else if (key == "log_level") {
        static const std::vector<std::string> levels = {"trace", "debug",    "info", "warn",
                                                        "error", "critical", "off"};
        if (std::find(levels.begin(), levels.end(), value) == levels.end()) {
            fail(origin, key,
                 "expected one of trace, debug, info, warn, error, critical, off, got \"" + value +
                     "\"");
        }
        c.logLevel = value;
    } else if (key == "listen") {
        std::string host;
        int port = 0;
        if (!parseListen(value, host, port)) {
            fail(origin, key,
                 "expected ADDRESS:PORT like 0.0.0.0:8080, 127.0.0.1:0 or [::]:8080, got \"" +
                     value + "\"");
        }
        c.listen = value;
    } else if (key == "allow_origin") {
        c.allowOrigin = value;
    } else if (key == "player_dir") {
        c.playerDir = value;
    } else if (key == "max_clients") {
        c.maxClients = toInt(key, value, origin);
    } else if (key == "login_failures") {
        c.loginFailures = toInt(key, value, origin);
        if (c.loginFailures < 1 || c.loginFailures > 100000)
            fail(origin, key, "must be 1..100000, got " + value);
    } else if (key == "login_lockout") {
        c.loginLockout = toInt(key, value, origin);
        if (c.loginLockout < 1 || c.loginLockout > 86400)
            fail(origin, key, "must be 1..86400 seconds, got " + value);
    } else if (key == "http_loops") {
        c.httpLoops = toInt(key, value, origin);
    } else if (key == "max_request_size") {
        c.maxRequestSize = toInt(key, value, origin);
    } else if (key == "http_timeout") {
        c.httpTimeout = toInt(key, value, origin);
    } else if (key == "header_timeout") {
        c.headerTimeout = toInt(key, value, origin);
    } else if (key == "trusted_proxies") {
        std::string why;
        if (!TrustedProxies::parse(value, &why)) fail(origin, key, why);
        c.trustedProxies = value;
    } else if (key == "tls_cert" || key == "tls_key") {
        (key == "tls_cert" ? c.tlsCert : c.tlsKey) = expandCredentials(value);
    } else if (key == "encoder") {
        c.encoder = oneOf(key, value, origin, {"auto", "v4l2m2m", "x264"});
    } else if (key == "encoder_device") {
        c.encoderDevice = value;
    } else if (key == "profile") {
        c.profile = oneOf(key, value, origin, {"baseline", "main", "high"});
    } else if (key == "rotation") {
        c.rotation = toInt(key, value, origin);
        if (c.rotation != 0 && c.rotation != 180) {
            fail(origin, key, "must be 0 or 180 (sensors cannot rotate by 90), got " + value);
        }
    } else if (key == "hflip") {
        c.hflip = toBool(key, value, origin);
    } else if (key == "vflip") {
        c.vflip = toBool(key, value, origin);
    } else if (key == "exposure_mode") {
        c.exposureMode = oneOf(key, value, origin, {"normal", "short", "long", "custom"});
    } else if (key == "awb") {
        c.awb = oneOf(key, value, origin,
                      {"auto", "incandescent", "tungsten", "fluorescent", "indoor", "daylight",
                       "cloudy", "custom"});
    } else if (key == "brightness") {
        c.brightness = toDouble(key, value, origin);
        if (c.brightness < -1 || c.brightness > 1) fail(origin, key, "must be -1..1, got " + value);
    } else if (key == "mjpeg_quality") {
        c.mjpegQuality = toInt(key, value, origin);
        if (c.mjpegQuality < 1 || c.mjpegQuality > 100)
            fail(origin, key, "must be 1..100, got " + value);
    } else if (key == "mjpeg_width" || key == "mjpeg_height") {
        const int v = toInt(key, value, origin);
        if (v != 0 && (v < 16 || v > 8192 || v % 2 != 0))
            fail(origin, key, "must be 0 (the source's) or even, 16..8192, got " + value);
        (key == "mjpeg_width" ? c.mjpegWidth : c.mjpegHeight) = v;
    } else if (key == "mjpeg_fps") {
        c.mjpegFps = toDouble(key, value, origin);
        if (c.mjpegFps != 0 && (c.mjpegFps < 0.5 || c.mjpegFps > 240))
            fail(origin, key, "must be 0 (every frame) or 0.5..240, got " + value);
    } else {
        throw ConfigError(origin + ": unknown key \"" + key + "\"");
    }
    c.origin[key] = origin;
}

namespace {

// users:
//   - name: alice
//     password_hash: "$y$j9T$..."
//     permissions: [view, metrics]
void loadUsers(const YAML::Node& list, const std::string& where, const std::string& path,
               Config& config) {
    if (list.IsNull()) return;
    if (!list.IsSequence())
        throw ConfigError(where +
                          ": users: expected a list of users (- name: ..., "
                          "password_hash: ..., permissions: [view, metrics])");
    for (const auto& u : list) {
        const std::string at = path + ":" + std::to_string(u.Mark().line + 1);
        if (!u.IsMap()) throw ConfigError(at + ": users: each user is a mapping (name: ...)");
        Config::UserEntry entry;
        entry.origin = at;
        bool hasPermissions = false;
        for (const auto& field : u) {
            const std::string name = field.first.IsScalar() ? field.first.Scalar() : "";
            const YAML::Node& value = field.second;
            if (name == "name" && value.IsScalar()) {
                entry.name = value.Scalar();
            } else if (name == "password_hash" && value.IsScalar()) {
                entry.passwordHash = value.Scalar();
            } else if (name == "permissions" && value.IsSequence()) {
                hasPermissions = true;
                for (const auto& p : value) {
                    const std::string perm = p.IsScalar() ? p.Scalar() : "";
                    if (perm == "view") {
                        entry.view = true;
                    } else if (perm == "metrics") {
                        entry.metrics = true;
                    } else {
                        throw ConfigError(at + ": users: permissions: unknown \"" + perm +
                                          "\" (view, metrics)");
                    }
                }
            } else {
                throw ConfigError(at + ": users: unknown or malformed field \"" + name +
                                  "\" (name, password_hash, permissions: [view, metrics])");
            }
        }
        if (entry.name.empty()) throw ConfigError(at + ": users: a user without a name");
        if (entry.passwordHash.empty())
            throw ConfigError(at + ": users: " + entry.name +
                              " has no password_hash (make one with `hlsd --hash-password`)");
        if (!hasPermissions)
            throw ConfigError(at + ": users: " + entry.name +
                              " has no permissions (view, metrics, or both)");
        for (const auto& other : config.users) {
            if (other.name == entry.name)
                throw ConfigError(at + ": users: " + entry.name + " is listed twice (also at " +
                                  other.origin + ")");
        }
        config.users.push_back(std::move(entry));
    }
}

}  // namespace

void loadConfigFile(const std::string& path, Config& config) {
    {
        std::ifstream probe(path);
        if (!probe) {
            throw ConfigError(path + ": cannot read config file: " + std::strerror(errno));
        }
    }
    YAML::Node root;
    try {
        root = YAML::LoadFile(path);
    } catch (const YAML::Exception& e) {
        throw ConfigError(path + ":" + std::to_string(e.mark.line + 1) +
                          ": invalid YAML: " + e.msg);
    }
    if (root.IsNull()) return;  // an empty file: all defaults
    if (!root.IsMap()) {
        throw ConfigError(path + ":" + std::to_string(root.Mark().line + 1) +
                          ": expected a mapping of key: value at the top level");
    }
    for (const auto& item : root) {
        const std::string where = path + ":" + std::to_string(item.first.Mark().line + 1);
        // A list or mapping as a key (`? [a]: 1`, `{a: b}: c`): as<std::string>() would throw
        // yaml-cpp's own exception, past the "FILE:LINE" error.
        if (!item.first.IsScalar() && !item.first.IsNull()) {
            throw ConfigError(where + ": expected a key name, not a list or mapping");
        }
        const std::string key = item.first.as<std::string>();
        if (key == "users") {
            loadUsers(item.second, where, path, config);
            continue;
        }
        if (key == "http_threads") {  // retired: configurations from before it still load
            config.retired.push_back(where +
                                     ": http_threads is no longer used (connections are "
                                     "served by event loops, see http_loops); remove it");
            continue;
        }
        const auto& keys = configKeys();
        if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
            throw ConfigError(where + ": unknown key \"" + key + "\"");
        }
        const YAML::Node& value = item.second;
        if (value.IsNull()) {
            if (key != "output_dir" && key != "allow_origin" && key != "player_dir" &&
                key != "tls_cert" && key != "tls_key" && key != "trusted_proxies") {
                fail(where, key, "has no value");
            }
            setConfigValue(config, key, "", where);
            continue;
        }
        if (!value.IsScalar()) fail(where, key, "expected a single value, not a list or mapping");
        setConfigValue(config, key, value.Scalar(), where);
    }
}

}  // namespace hlsd
