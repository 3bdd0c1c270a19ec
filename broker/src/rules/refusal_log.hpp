// Rate-limits the log line of a refusal a peer can repeat at will (a READY past --max-workers, a
// SUBMIT past --max-in-flight): the first refusal is logged, then at most one line per interval,
// telling how many were refused since the last line. Owned by the broker's loop thread.
#pragma once

#include <chrono>
#include <cstdint>

namespace corsair::broker {

class RefusalLog {
public:
    using TimePoint = std::chrono::steady_clock::time_point;

    explicit RefusalLog(std::chrono::milliseconds interval = std::chrono::minutes(1)) : interval_(interval) {}

    // Counts one refusal at `now`. Returns how many refusals the line logged now should report
    // (this one included), or 0 when no line is due.
    std::uint64_t refuse(TimePoint now) {
        ++unlogged_;
        if (has_logged_ && now - last_logged_ < interval_) return 0;
        has_logged_ = true;
        last_logged_ = now;
        const std::uint64_t count = unlogged_;
        unlogged_ = 0;
        return count;
    }

private:
    std::chrono::milliseconds interval_;
    bool has_logged_ = false;
    TimePoint last_logged_{};
    std::uint64_t unlogged_ = 0;
};

}  // namespace corsair::broker
