#include "corsair/broker/service_notifier.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#if CORSAIR_HAS_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

namespace corsair::broker {

ServiceNotifier::ServiceNotifier(Send send, std::chrono::microseconds watchdog_timeout,
                                 std::shared_ptr<spdlog::logger> log)
    : send_(std::move(send)), watchdog_timeout_(watchdog_timeout), log_(std::move(log)) {}

bool ServiceNotifier::is_supported() noexcept { return CORSAIR_HAS_SYSTEMD != 0; }

ServiceNotifier ServiceNotifier::from_environment(std::shared_ptr<spdlog::logger> log) {
    const char* socket = std::getenv("NOTIFY_SOCKET");
    if (socket == nullptr || *socket == '\0') return {};
#if CORSAIR_HAS_SYSTEMD
    std::uint64_t watchdog_us = 0;
    if (::sd_watchdog_enabled(0, &watchdog_us) <= 0) watchdog_us = 0;
    const std::chrono::microseconds watchdog(watchdog_us);
    log->info("service manager notifications on socket={} watchdog_ms={}", socket,
              std::chrono::duration_cast<std::chrono::milliseconds>(watchdog).count());
    return ServiceNotifier([](const std::string& text) { return ::sd_notify(0, text.c_str()); }, watchdog,
                           std::move(log));
#else
    log->warn("NOTIFY_SOCKET is set, but this broker was built without libsystemd (CORSAIR_SYSTEMD=OFF): a "
              "Type=notify unit will wait for READY=1 in vain; use Type=exec");
    return {};
#endif
}

void ServiceNotifier::ready(const std::string& status, TimePoint now) {
    if (!is_on()) return;
    send("READY=1\nSTATUS=" + status);
    last_status_ = status;
    if (watchdog_timeout_.count() > 0) next_ping_ = now + watchdog_timeout_ / 2;
    next_status_ = now + kStatusInterval;
    next_due_ = std::min(next_ping_, next_status_);
}

void ServiceNotifier::stopping(const std::string& status) {
    if (!is_on()) return;
    send("STOPPING=1\nSTATUS=" + status);
    last_status_ = status;
}

void ServiceNotifier::send_due(TimePoint now, const MakeStatus& make_status) {
    if (!is_on() || now < next_due_) return;
    std::string text;
    if (now >= next_ping_) {
        text = "WATCHDOG=1";
        // From now, not from when it was due: after a stall, one ping, not a burst.
        next_ping_ = now + watchdog_timeout_ / 2;
    }
    if (now >= next_status_) {
        if (auto status = make_status(); status != last_status_) {
            if (!text.empty()) text += '\n';
            text += "STATUS=" + status;
            last_status_ = std::move(status);
        }
        next_status_ = now + kStatusInterval;
    }
    next_due_ = std::min(next_ping_, next_status_);
    if (!text.empty()) send(text);
}

void ServiceNotifier::send(const std::string& text) {
    const int sent = send_(text);
    if (sent > 0) {
        if (is_failing_) log_->info("service manager notifications work again");
        is_failing_ = false;
        return;
    }
    // Once per run of failures: the watchdog's pings would otherwise log twice a timeout.
    if (is_failing_) return;
    is_failing_ = true;
    // An operator must act: without pings the service manager kills the broker at WatchdogSec.
    log_->error("service manager notification not sent error={} text=\"{}\"",
                sent < 0 ? std::strerror(-sent) : "NOTIFY_SOCKET is gone", text.substr(0, text.find('\n')));
}

}  // namespace corsair::broker
