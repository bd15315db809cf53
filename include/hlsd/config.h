// Configuration: one YAML file, every key overridable by a CLI flag, validated in one place.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace hlsd {

// Names where it happened: "FILE:LINE: key: message" or "--flag: message".
class ConfigError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct Config {
    std::string source = "auto";
    bool loop = false;
    bool realtime = true;
    bool exitOnEof = false;
    double segmentTime = 1.0;
    int segmentWrap = 11;
    int listSize = 5;
    double partDuration = 0.2;       // LL-HLS parts, seconds; 0 = off
    bool holdPlainPlaylists = true;  // LL-HLS: answer a request without _HLS_msn at a segment's end
    double keyframeInterval = 0.0;   // seconds between keyframes we encode; 0 = auto
    std::string container = "fmp4";  // fmp4 | mpegts
    std::string outputDir;
    int width = 1280;
    int height = 720;
    double fps = 30.0;
    int64_t bitrate = 2'000'000;
    std::string logLevel = "info";
    std::string listen = "0.0.0.0:8080";
    std::string allowOrigin = "*";
    std::string playerDir;  // empty: the directory the build or package installed
    int maxClients = 1024;
    int httpLoops = 0;       // 0: one per CPU hlsd may run on
    int loginFailures = 10;  // failed logins from one address within a minute...
    int loginLockout = 60;   // ...and it gets 429 for this many seconds
    int maxRequestSize = 16384;
    int httpTimeout = 5;
    int headerTimeout = 10;
    // HTTPS instead of HTTP on `listen` (both or neither). "${CREDENTIALS_DIRECTORY}" in either
    // is replaced with systemd's credentials directory (LoadCredential=).
    std::string tlsCert;
    std::string tlsKey;
    // Addresses or networks (proxies, caching edges) whose X-Forwarded-For is believed.
    std::string trustedProxies;
    std::string encoder = "auto";
    std::string encoderDevice = "/dev/video11";
    std::string profile = "high";
    int rotation = 0;
    bool hflip = false;
    bool vflip = false;
    std::string exposureMode = "normal";
    std::string awb = "auto";
    double brightness = 0.0;
    int mjpegQuality = 80;
    int mjpegWidth = 0;  // 0: the source's size (in proportion where the other is set)
    int mjpegHeight = 0;
    double mjpegFps = 0;  // 0: every frame of the source

    // Who may watch (`users:` in the file; none: anyone who can reach the port). Checked at load.
    struct UserEntry {
        std::string name;
        std::string passwordHash;
        bool view = false;
        bool metrics = false;
        std::string origin;  // "FILE:LINE"
    };
    std::vector<UserEntry> users;

    // Where each key's value came from ("conf/hlsd.yml:12", "--segment-time"); absent = default.
    std::map<std::string, std::string> origin;
    std::vector<std::string> retired;  // keys that no longer do anything, with where they were
};

// Every key the file may hold, in the order conf/hlsd.yml documents them.
const std::vector<std::string>& configKeys();

// The keyframe interval hlsd's own encoder uses: keyframe_interval, or with 0 (auto) one
// keyframe per LL-HLS part (every part independent) and one per segment without parts.
double effectiveKeyframeInterval(const Config& config);

// Reads a YAML file over the defaults in `config`. Throws ConfigError.
void loadConfigFile(const std::string& path, Config& config);
// Sets one key from its text form (a CLI flag or a YAML scalar). Throws ConfigError(origin).
void setConfigValue(Config& config, const std::string& key, const std::string& value,
                    const std::string& origin);
// Checks the rules between keys. Throws ConfigError naming the key's origin.
void validateConfig(const Config& config);
// "" unless tls_cert or tls_key names ${CREDENTIALS_DIRECTORY} outside a service that sets it
// (then: the problem, naming where the key was set). hlsd cannot start so; --check-config can.
std::string unexpandedCredentials(const Config& config);
// Legal but risky combinations (RFC 8216 §6.2.2), one message each.
std::vector<std::string> configWarnings(const Config& config);

// "2M", "2.5m", "800k", "2000000" → bits per second (decimal SI, case-insensitive).
std::optional<int64_t> parseBitrate(const std::string& text);
// "0.0.0.0:8080", "127.0.0.1:0", "[::]:8080", "[::1]:80", ":8080", "8080" → host and port.
bool parseListen(const std::string& text, std::string& host, int& port);

}  // namespace hlsd
