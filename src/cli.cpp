#include "cli.h"

#include <iostream>
#include <map>

#include <CLI/CLI.hpp>

extern "C" {
#include <libavformat/version.h>
}

namespace hlsd {
namespace {

struct FlagSpec {
    const char* key;
    const char* flag;
    const char* help;
};

// Value flags, one per config key that takes a value.
const FlagSpec kValueFlags[] = {
    {"source", "--source",
     "auto | camera[:N|:ID] | test | file:PATH | - (stdin: H.264 or MPEG-TS) | URL"},
    {"segment_time", "--segment-time", "target segment duration, seconds (fractional ok)"},
    {"segment_wrap", "--segment-wrap", "segments kept in memory and on disk (≥ list-size)"},
    {"list_size", "--list-size", "segments listed in the live playlist"},
    {"part_duration", "--part-duration", "LL-HLS part length, seconds (0: no parts)"},
    {"hold_plain_playlists", "--hold-plain-playlists",
     "LL-HLS: answer a playlist request without _HLS_msn when the open segment completes "
     "(true|false)"},
    {"keyframe_interval", "--keyframe-interval",
     "seconds between keyframes of the camera/test encoder (0: one per part, or per segment)"},
    {"container", "--container", "segment container: mpegts or fmp4"},
    {"output_dir", "--output-dir", "also mirror segments and index.m3u8 here ('' = memory)"},
    {"width", "--width", "test pattern width"},
    {"height", "--height", "test pattern height"},
    {"fps", "--fps", "test pattern rate; timestamps of raw H.264 that has none"},
    {"bitrate", "--bitrate", "test pattern bitrate: 2000000, 2000k, 2M"},
    {"log_level", "--log-level", "trace | debug | info | warn | error | critical | off"},
    {"listen", "--listen", "HTTP address:port (0.0.0.0:8080, [::]:8080, 127.0.0.1:0)"},
    {"allow_origin", "--allow-origin", "Access-Control-Allow-Origin ('' = none)"},
    {"player_dir", "--player-dir", "directory of index.html, player.js, hls.min.js"},
    {"max_clients", "--max-clients", "HTTP connections open at once (more get 503)"},
    {"http_loops", "--http-loops", "HTTP event threads (0: one per CPU)"},
    {"login_failures", "--login-failures", "failed logins from one address in a minute before 429"},
    {"login_lockout", "--login-lockout", "seconds an address gets 429 after login_failures"},
    {"max_request_size", "--max-request-size", "bytes of request line + headers (more: 431)"},
    {"http_timeout", "--http-timeout", "seconds: keep-alive idle; a stalled write or read"},
    {"header_timeout", "--header-timeout", "seconds for a request's headers to arrive (408)"},
    {"tls_cert", "--tls-cert", "HTTPS: certificate chain, PEM (SIGHUP reloads it)"},
    {"tls_key", "--tls-key", "HTTPS: the certificate's private key, PEM"},
    {"trusted_proxies", "--trusted-proxies",
     "proxies/edges whose X-Forwarded-For names the client (addresses, networks)"},
    {"encoder", "--encoder", "auto | v4l2m2m | x264"},
    {"encoder_device", "--encoder-device", "the V4L2 H.264 encoder auto looks for"},
    {"profile", "--profile", "H.264 profile: baseline | main | high"},
    {"rotation", "--rotation", "camera rotation: 0 | 180"},
    {"exposure_mode", "--exposure-mode", "camera: normal | short | long | custom"},
    {"awb", "--awb", "camera white balance: auto | daylight | cloudy | indoor | ..."},
    {"brightness", "--brightness", "camera brightness -1..1"},
    {"mjpeg_quality", "--mjpeg-quality", "JPEG quality of MJPEG and snapshots, 1..100"},
    {"mjpeg_width", "--mjpeg-width", "MJPEG and snapshot width (0: the source's)"},
    {"mjpeg_height", "--mjpeg-height", "MJPEG and snapshot height (0: the source's)"},
    {"mjpeg_fps", "--mjpeg-fps", "at most this many MJPEG pictures a second (0: every frame)"},
};

}  // namespace

CommandLine parseCommandLine(int argc, char** argv) {
    CommandLine result;
    CLI::App app{
        "hlsd: live H.264 (camera, test pattern, file, stdin, RTSP) to HLS, in one "
        "process"};
    app.set_version_flag("--version", std::string("hlsd ") + HLSD_VERSION + " (libavformat " +
                                          AV_STRINGIFY(LIBAVFORMAT_VERSION) + ")");
    std::string configPath;
    app.add_option("-c,--config", configPath, "YAML configuration file (e.g. conf/hlsd.yml)");
    app.add_flag("--check-config", result.checkConfig, "validate the configuration and exit");

    std::map<std::string, std::string> values;
    std::map<std::string, CLI::Option*> options;
    for (const auto& f : kValueFlags) {
        options[f.key] = app.add_option(f.flag, values[f.key], f.help)
                             ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    }
    bool loop = false, noLoop = false, noRealtime = false, realtime = false, exitOnEof = false;
    bool hflip = false, vflip = false;
    app.add_flag("--list-cameras", result.listCameras, "print the cameras libcamera sees and exit");
    app.add_flag("--hash-password", result.hashPassword,
                 "read a password (not echoed) and print its hash for users: in the config");
    app.add_flag("--make-token", result.makeToken,
                 "print a token URL parameter for --user (from the config's users)");
    app.add_option("--user", result.tokenUser, "the user --make-token makes a token for");
    app.add_option("--expires", result.tokenExpires,
                   "how long a --make-token token lasts: 30d, 12h, 90m (default: until the "
                   "user's password changes)");
    auto* hflipOpt = app.add_flag("--hflip", hflip, "mirror the camera image horizontally");
    auto* vflipOpt = app.add_flag("--vflip", vflip, "flip the camera image vertically");
    auto* loopOpt = app.add_flag("--loop", loop, "repeat a file source forever");
    auto* noLoopOpt = app.add_flag("--no-loop", noLoop, "do not repeat a file source");
    auto* noRtOpt = app.add_flag("--no-realtime", noRealtime,
                                 "read files as fast as possible (batch jobs, benchmarks)");
    auto* rtOpt = app.add_flag("--realtime", realtime, "pace files at their native rate");
    auto* eofOpt = app.add_flag("--exit-on-eof", exitOnEof,
                                "exit when the source ends (writes #EXT-X-ENDLIST)");
    loopOpt->excludes(noLoopOpt);
    noRtOpt->excludes(rtOpt);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        result.done = true;
        if (e.get_exit_code() == 0) {  // --help, --version
            app.exit(e);
            return result;
        }
        std::cerr << "hlsd: " << e.what() << " (see hlsd --help)\n";
        result.exitCode = 2;
        return result;
    }

    try {
        if (!configPath.empty()) loadConfigFile(configPath, result.config);
        for (const auto& f : kValueFlags) {
            if (options[f.key]->count()) {
                setConfigValue(result.config, f.key, values[f.key],
                               std::string("command line ") + f.flag);
            }
        }
        auto setFlag = [&](CLI::Option* opt, const char* key, const char* value) {
            if (opt->count()) {
                setConfigValue(result.config, key, value,
                               "command line " + opt->get_name(false, true));
            }
        };
        setFlag(loopOpt, "loop", "true");
        setFlag(noLoopOpt, "loop", "false");
        setFlag(noRtOpt, "realtime", "false");
        setFlag(rtOpt, "realtime", "true");
        setFlag(eofOpt, "exit_on_eof", "true");
        setFlag(hflipOpt, "hflip", "true");
        setFlag(vflipOpt, "vflip", "true");
        validateConfig(result.config);
    } catch (const ConfigError& e) {
        std::cerr << "hlsd: configuration error: " << e.what() << "\n";
        result.done = true;
        result.exitCode = 2;
    }
    return result;
}

}  // namespace hlsd
