#include "service/notify.h"

#include <cstring>

#include <systemd/sd-daemon.h>

#include "hlsd/log.h"

namespace hlsd {
namespace {

void send(const std::string& message) {
    // 0: no $NOTIFY_SOCKET (not under systemd); < 0: the socket is gone. Neither stops hlsd.
    int rc = sd_notify(0, message.c_str());
    if (rc < 0) logger("service")->debug("sd_notify: {}", std::strerror(-rc));
}

}  // namespace

void ServiceNotifier::ready(const std::string& status) {
    if (ready_) return;
    ready_ = true;
    send("READY=1\nSTATUS=" + status);
}

void ServiceNotifier::stopping(const std::string& status) {
    send("STOPPING=1\nSTATUS=" + status);
}

void ServiceNotifier::status(const std::string& status) {
    send("STATUS=" + status);
}

}  // namespace hlsd
