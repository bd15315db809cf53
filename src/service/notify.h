// Tells systemd how the service is doing (Type=notify): READY=1 once the first segment is in
// the store, STOPPING=1 on shutdown, STATUS= in between. Without $NOTIFY_SOCKET (not started by
// systemd, e.g. tests or a shell) every call does nothing.
#pragma once

#include <string>

namespace hlsd {

class ServiceNotifier {
public:
    // READY=1 plus a status line; only the first call sends READY.
    void ready(const std::string& status);
    // STOPPING=1 plus a status line.
    void stopping(const std::string& status);
    void status(const std::string& status);
    bool isReady() const { return ready_; }

private:
    bool ready_ = false;
};

}  // namespace hlsd
