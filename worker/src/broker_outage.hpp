// BrokerOutage: how long the worker has been cut off from its broker, and when to say so at warn
// level: once the outage is as long as the liveness window, then once a minute, so that a worker
// alone for hours says so without flooding its log. Plain data on the Worker's I/O thread.
#pragma once

#include <chrono>
#include <optional>

namespace corsair::worker {

class BrokerOutage {
public:
    using Clock = std::chrono::steady_clock;
    static constexpr std::chrono::seconds kWarningInterval{60};

    // The broker was lost; it was last heard at `last_heard`. A second call while the outage goes
    // on (a reconnect that failed) changes nothing.
    void begin(Clock::time_point last_heard, std::chrono::milliseconds liveness_window) {
        if (since_) return;
        since_ = last_heard;
        next_warning_ = last_heard + liveness_window;
    }
    // The broker answered again; returns how long the outage lasted, or nullopt if there was none.
    std::optional<Clock::duration> end(Clock::time_point now) {
        if (!since_) return std::nullopt;
        const auto length = now - *since_;
        since_.reset();
        return length;
    }
    // How long the outage has lasted, when a warning is due at `now` (the next one is then a
    // kWarningInterval later); nullopt when none is.
    std::optional<Clock::duration> warning_due(Clock::time_point now) {
        if (!since_ || now < next_warning_) return std::nullopt;
        next_warning_ = now + kWarningInterval;
        return now - *since_;
    }
    // When the next warning is due, for the loop's poll timeout; nullopt without an outage.
    std::optional<Clock::time_point> next_warning() const {
        return since_ ? std::optional(next_warning_) : std::nullopt;
    }

private:
    std::optional<Clock::time_point> since_;
    Clock::time_point next_warning_{};
};

}  // namespace corsair::worker
