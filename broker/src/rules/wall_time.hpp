// The time of day next to the loop's steady clock: SUBMIT's run_at_ms and the journal's
// timestamps are wall-clock milliseconds, the Scheduler's deadlines are steady time points.
// The clock is injected so tests move it by hand. Owned by the broker's loop thread.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>

namespace corsair::broker {

class WallTime {
public:
    using TimePoint = std::chrono::steady_clock::time_point;
    using Clock = std::function<std::chrono::system_clock::time_point()>;

    explicit WallTime(Clock clock) : clock_(std::move(clock)) {}

    // The time of day now, in milliseconds since the epoch.
    std::chrono::milliseconds now_ms() const {
        return std::chrono::duration_cast<std::chrono::milliseconds>(clock_().time_since_epoch());
    }
    // The wall-clock milliseconds of steady time `at`, given that the steady clock reads `now`
    // (at least 1: 0 means "none" in journal records).
    std::uint64_t ms_at(TimePoint at, TimePoint now) const {
        const auto wall = now_ms() + std::chrono::duration_cast<std::chrono::milliseconds>(at - now);
        return static_cast<std::uint64_t>(std::max<std::int64_t>(1, wall.count()));
    }
    // The steady time of wall-clock milliseconds `wall_ms`, given that the steady clock reads `now`.
    TimePoint steady_at(std::uint64_t wall_ms, TimePoint now) const {
        return now + (std::chrono::milliseconds(static_cast<std::int64_t>(wall_ms)) - now_ms());
    }

private:
    Clock clock_;
};

}  // namespace corsair::broker
