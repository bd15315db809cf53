// hlsd: Source → Segmenter → SegmentStore → HttpServer (and disk mirror).
// This file only wires the stages.
#include <csignal>
#include <cstdio>
#include <iostream>
#include <random>

#include "auth/access_gate.h"
#include "cli.h"
#include "hlsd/http.h"
#include "hlsd/log.h"
#include "hlsd/mjpeg.h"
#include "hlsd/segmenter.h"
#include "hlsd/source.h"
#include "hlsd/store.h"
#include "http/tls.h"
#include "mjpeg/frame_jpeg.h"
#include "service/notify.h"
#include "source/camera_source.h"

namespace {

// A short per-process prefix so a segment URL never names two different contents.
std::string makeRunPrefix() {
    static const char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    std::random_device rd;
    std::string prefix;
    for (int i = 0; i < 6; ++i) prefix += kAlphabet[rd() % (sizeof kAlphabet - 1)];
    return prefix;
}

hlsd::Rational toRational(double fps) {
    // 29.97 → 30000/1001, 30 → 30/1
    for (int den : {1, 1001}) {
        double num = fps * den;
        if (std::abs(num - std::round(num)) < 1e-3)
            return {static_cast<int>(std::lround(num)), den};
    }
    return {static_cast<int>(std::lround(fps * 1000)), 1000};
}

// --list-cameras: what libcamera sees, one line each; none is not an error.
int listCamerasCommand() {
    try {
        auto cameras = hlsd::listCameras();
        if (cameras.empty()) {
            std::cout << "no cameras found (libcamera sees none)\n";
            return 0;
        }
        for (const auto& c : cameras) {
            std::cout << c.index << ": " << c.model << "  id " << c.id
                      << "  (--source camera:" << c.index << ")\n";
        }
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "hlsd: " << e.what() << "\n";
        return 1;
    }
}

}  // namespace

int main(int argc, char** argv) {
    using namespace hlsd;
    // Signals are taken synchronously below; every thread inherits this mask.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGHUP);  // reload the TLS certificate (otherwise it would end hlsd)
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    // A file-size limit (ulimit -f, systemd's LimitFSIZE=) must fail the mirror's write with
    // EFBIG, which it reports and recovers from, not kill the process serving from memory.
    std::signal(SIGXFSZ, SIG_IGN);

    CommandLine cli = parseCommandLine(argc, argv);
    if (cli.done) return cli.exitCode;
    const Config& config = cli.config;
    setLogLevel(config.logLevel);
    routeLibavLogs();
    auto log = logger("main");
    for (const auto& warning : configWarnings(config)) log->warn("{}", warning);
    if (cli.listCameras) return listCamerasCommand();
    if (cli.hashPassword) return hashPasswordCommand();
    if (cli.makeToken) return makeTokenCommand(config, cli.tokenUser, cli.tokenExpires);
    const std::string unexpanded = unexpandedCredentials(config);
    if (cli.checkConfig) {
        // The TLS files too: a key that does not load would otherwise only show at start.
        if (!unexpanded.empty()) {
            std::cout << "note: " << unexpanded << "; the TLS files are checked at start\n";
        } else if (!config.tlsCert.empty()) {
            try {
                TlsContext check(config.tlsCert, config.tlsKey);
            } catch (const std::exception& e) {
                std::cerr << "hlsd: configuration error: " << e.what() << "\n";
                return 2;
            }
        }
        std::cout << "configuration OK\n";
        return 0;
    }
    if (!unexpanded.empty()) {
        std::cerr << "hlsd: configuration error: " << unexpanded << "\n";
        return 2;
    }

    SourceOptions sourceOptions;
    sourceOptions.spec = config.source;
    sourceOptions.realtime = config.realtime;
    sourceOptions.width = config.width;
    sourceOptions.height = config.height;
    sourceOptions.fps = toRational(config.fps);
    sourceOptions.bitrate = config.bitrate;
    sourceOptions.keyframeInterval = effectiveKeyframeInterval(config);
    sourceOptions.camera.encoder = config.encoder;
    sourceOptions.camera.encoderDevice = config.encoderDevice;
    sourceOptions.camera.profile = config.profile;
    sourceOptions.camera.rotation = config.rotation;
    sourceOptions.camera.hflip = config.hflip;
    sourceOptions.camera.vflip = config.vflip;
    sourceOptions.camera.exposureMode = config.exposureMode;
    sourceOptions.camera.awb = config.awb;
    sourceOptions.camera.brightness = config.brightness;

    StoreOptions storeOptions;
    storeOptions.segmentWrap = static_cast<size_t>(config.segmentWrap);
    storeOptions.listSize = static_cast<size_t>(config.listSize);
    storeOptions.segmentTime = config.segmentTime;
    storeOptions.partDuration = config.partDuration;
    storeOptions.container = config.container == "fmp4" ? Container::Fmp4 : Container::MpegTs;

    SegmenterOptions segmenterOptions;
    segmenterOptions.segmentTime = config.segmentTime;
    segmenterOptions.partDuration = config.partDuration;
    segmenterOptions.container = storeOptions.container;
    segmenterOptions.runPrefix = makeRunPrefix();

    HttpOptions httpOptions;
    parseListen(config.listen, httpOptions.host, httpOptions.port);  // validated already
    httpOptions.allowOrigin = config.allowOrigin;
    httpOptions.maxClients = config.maxClients;
    httpOptions.loops = config.httpLoops;
    httpOptions.maxRequestSize = static_cast<size_t>(config.maxRequestSize);
    httpOptions.timeout = config.httpTimeout;
    httpOptions.headerTimeout = config.headerTimeout;
    httpOptions.tlsCert = config.tlsCert;
    httpOptions.tlsKey = config.tlsKey;
    httpOptions.trustedProxies = config.trustedProxies;
    httpOptions.playerDir = config.playerDir.empty() ? HLSD_PLAYER_DIR : config.playerDir;
    httpOptions.segmentTime = config.segmentTime;
    httpOptions.holdPlainPlaylists = config.holdPlainPlaylists;
    httpOptions.container = storeOptions.container;

    RunnerOptions runnerOptions;
    runnerOptions.loop = config.loop;
    runnerOptions.exitOnEof = config.exitOnEof;

    try {
        SegmentStore store(storeOptions);
        std::unique_ptr<DiskMirror> mirror;
        if (!config.outputDir.empty()) {
            try {
                mirror = std::make_unique<DiskMirror>(config.outputDir, storeOptions.segmentWrap);
            } catch (const std::exception& e) {
                log->error("{}", e.what());
                return 2;
            }
            store.addObserver([&mirror](auto snapshot) { mirror->update(std::move(snapshot)); });
        }
        Segmenter segmenter(segmenterOptions, [&store](std::shared_ptr<const Segment> s) {
            store.publish(std::move(s));
        });
        MjpegOptions mjpegOptions;
        mjpegOptions.quality = config.mjpegQuality;
        mjpegOptions.width = config.mjpegWidth;
        mjpegOptions.height = config.mjpegHeight;
        mjpegOptions.fps = config.mjpegFps;
        // The camera and the test pattern (auto is one of them) hand MJPEG their raw pictures;
        // the other sources only have H.264, which it decodes.
        const SourceKind kind = classifySource(config.source);
        mjpegOptions.rawFrames =
            kind == SourceKind::Auto || kind == SourceKind::Camera || kind == SourceKind::Test;
        MjpegHub mjpeg(mjpegOptions, segmenter);  // the packets pass through to the segmenter
        if (mjpegOptions.rawFrames) {
            sourceOptions.frameTap = &mjpeg;
            // The camera gives MJPEG a second stream at its size, where it has one.
            if (config.mjpegWidth > 0 || config.mjpegHeight > 0) {
                jpegSize(JpegOptions{config.mjpegQuality, config.mjpegWidth, config.mjpegHeight},
                         config.width, config.height, sourceOptions.loresWidth,
                         sourceOptions.loresHeight);
            }
        }
        SourceRunner runner(makeSource(sourceOptions), mjpeg, runnerOptions);
        httpOptions.health = [&runner, &segmenter, &mirror] {
            PipelineHealth h;
            h.droppedFrames = runner.droppedFrames();
            h.droppedPackets = segmenter.droppedPackets();
            if (mirror)
                h.mirror = mirror->healthy() ? PipelineHealth::Mirror::Ok
                                             : PipelineHealth::Mirror::Failing;
            return h;
        };
        httpOptions.mjpeg = &mjpeg;
        std::vector<User> users;
        for (const auto& u : config.users)
            users.push_back(
                User{u.name, u.passwordHash,
                     (u.view ? unsigned{kView} : 0u) | (u.metrics ? unsigned{kMetrics} : 0u)});
        GateLimits gateLimits;
        gateLimits.failures = config.loginFailures;
        gateLimits.lockout = std::chrono::seconds(config.loginLockout);
        AccessGate gate(std::move(users), gateLimits);
        httpOptions.access = &gate;
        HttpServer http(httpOptions, store);
        store.addObserver([&http](const auto&) { http.wake(); });
        mjpeg.onPicture([&http] { http.wake(); });
        gate.onChecked([&http] { http.wake(); });  // a password checked: its request goes on
        // However this scope ends, the threads that wake `http` (MJPEG's, the password
        // checker's) stop before `http` is destroyed.
        struct StopFirst {
            MjpegHub& hub;
            AccessGate& gate;
            ~StopFirst() {
                hub.stop();
                gate.stop();
            }
        } stopWakersFirst{mjpeg, gate};
        try {
            http.start();
        } catch (const std::exception& e) {
            log->error("{}", e.what());
            return 2;
        }
        if (gate.open()) {
            log->warn(
                "no users in the configuration: anyone who can reach {} can watch and read "
                "/metrics (users: in the config file)",
                http.url());
        } else {
            log->info("access: {} user(s); Basic or ?token= needed for all but /healthz",
                      config.users.size());
        }

        log->info("hlsd {}: segment_time {} s, segment_wrap {}, list_size {}, run prefix {}{}",
                  HLSD_VERSION, config.segmentTime, config.segmentWrap, config.listSize,
                  segmenterOptions.runPrefix,
                  config.outputDir.empty() ? "" : ", writing to " + config.outputDir);
        mjpeg.start();
        runner.start();
        ServiceNotifier notifier;  // systemd Type=notify; nothing without $NOTIFY_SOCKET
        notifier.status("waiting for the first segment");

        bool signalled = false;
        while (runner.outcome() == SourceRunner::Outcome::Running) {
            timespec tick{0, 100'000'000};
            int sig = sigtimedwait(&signals, nullptr, &tick);
            if (sig == SIGINT || sig == SIGTERM) {
                log->info("{}: shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
                signalled = true;
                break;
            }
            if (sig == SIGHUP) {
                if (config.tlsCert.empty()) {
                    log->info(
                        "SIGHUP: nothing to reload (no tls_cert; the configuration is read at "
                        "start: restart hlsd to change it)");
                } else {
                    http.reloadTls();
                }
            }
            if (!notifier.isReady() && store.snapshot()->produced > 0)
                notifier.ready("serving " + http.url());
        }
        notifier.stopping("shutting down");
        http.stop();  // stop accepting, finish what is in flight
        runner.stop();
        mjpeg.stop();
        const auto outcome = runner.outcome();
        if (!signalled && outcome == SourceRunner::Outcome::Finished) store.finish();
        if (mirror) mirror->stop();
        if (outcome == SourceRunner::Outcome::Failed) return 2;
        return 0;
    } catch (const SourceError& e) {
        log->error("{}", e.what());
        return 2;
    } catch (const std::exception& e) {
        log->error("{}", e.what());
        return 1;
    }
}
