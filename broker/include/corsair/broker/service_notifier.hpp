// The broker's side of systemd's notify protocol (sd_notify(3), a Type=notify unit,
// docs/service.md): READY=1 once the journal is recovered and both endpoints are bound, STATUS=
// with a one-line summary, WATCHDOG=1 from the event loop while the unit asks for it
// (WatchdogSec=), STOPPING=1 when a stop begins. Owned by the broker's loop thread.
//
// Not started by a service manager (NOTIFY_SOCKET unset), the notifier is off: every call returns
// at once and next_due() is never, so the loop pays one time comparison per turn.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include <spdlog/logger.h>

namespace corsair::broker {

class ServiceNotifier {
public:
    using TimePoint = std::chrono::steady_clock::time_point;
    // Sends one notification, KEY=VALUE lines joined by '\n'; returns as sd_notify() does: > 0
    // sent, 0 no service manager to tell, < 0 a negative errno.
    using Send = std::function<int(const std::string&)>;
    // The summary sent as STATUS=, made only when a status is due.
    using MakeStatus = std::function<std::string()>;

    // How often the status is looked at; it is sent only when its text changed.
    static constexpr std::chrono::seconds kStatusInterval{2};

    // Off: sends nothing.
    ServiceNotifier() = default;
    // On, sending through `send`. With a `watchdog_timeout` (0: none), WATCHDOG=1 goes out every
    // half of it, as sd_watchdog_enabled(3) advises, so that one late turn is not a missed ping.
    ServiceNotifier(Send send, std::chrono::microseconds watchdog_timeout, std::shared_ptr<spdlog::logger> log);

    // On when NOTIFY_SOCKET is set and this build has libsystemd (CORSAIR_SYSTEMD), sending with
    // sd_notify(); with the watchdog sd_watchdog_enabled() reports (WATCHDOG_USEC, and
    // WATCHDOG_PID naming this process when it is set). Logs at info when on, and warns when
    // NOTIFY_SOCKET is set in a build without libsystemd.
    static ServiceNotifier from_environment(std::shared_ptr<spdlog::logger> log);
    // Whether this build can speak to a service manager.
    static bool is_supported() noexcept;

    bool is_on() const noexcept { return static_cast<bool>(send_); }
    std::chrono::microseconds watchdog_timeout() const noexcept { return watchdog_timeout_; }

    // READY=1 with STATUS=`status`; the watchdog and the status clocks start at `now`.
    void ready(const std::string& status, TimePoint now);
    // STOPPING=1 with STATUS=`status`. May be sent more than once (a drain, then a stop at once).
    void stopping(const std::string& status);
    // When the loop should call send_due() next: TimePoint::max() while off or before ready().
    TimePoint next_due() const noexcept { return next_due_; }
    // Sends what is due at `now` as one notification: WATCHDOG=1 if a ping is due, and STATUS= if
    // a status is due and make_status() differs from the last one sent. Never blocks: one
    // datagram on a local socket.
    void send_due(TimePoint now, const MakeStatus& make_status);

private:
    void send(const std::string& text);

    Send send_;
    std::chrono::microseconds watchdog_timeout_{0};
    std::shared_ptr<spdlog::logger> log_;
    TimePoint next_ping_ = TimePoint::max();
    TimePoint next_status_ = TimePoint::max();
    TimePoint next_due_ = TimePoint::max();
    std::string last_status_;
    bool is_failing_ = false;  // the last send failed, and was logged
};

}  // namespace corsair::broker
