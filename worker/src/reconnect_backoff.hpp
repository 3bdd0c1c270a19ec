// The wait before each reconnect to a lost broker: pure functions, so the schedule is tested
// without a clock or a broker. The cap sits near the broker's liveness window, so that workers
// are back within seconds of a broker restart; the jitter spreads out the workers that lost the
// same broker at the same moment.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace corsair::worker {

// The cap of the reconnect backoff: the liveness window of the broker last heard (interval x
// liveness, 3 s at the defaults), kept within [min, max] (WorkerOptions::reconnect_min, _max).
constexpr std::chrono::milliseconds reconnect_cap(std::chrono::milliseconds liveness_window,
                                                  std::chrono::milliseconds min, std::chrono::milliseconds max) {
    return std::clamp(liveness_window, min, std::max(min, max));
}

// The wait before the `tries`-th reconnect in a row (1 for the first): `min` doubled for each
// earlier try, at most `cap`, then "equal jitter": a point in [d/2, d] picked by `unit_random`
// (in [0, 1)), so the wait is never less than half of the schedule's.
constexpr std::chrono::milliseconds reconnect_delay(std::uint32_t tries, std::chrono::milliseconds min,
                                                    std::chrono::milliseconds cap, double unit_random) {
    auto delay = std::min(min, cap);
    for (std::uint32_t i = 1; i < tries && delay < cap; ++i) delay = std::min(delay * 2, cap);
    const auto half = delay.count() / 2;
    const auto jitter = static_cast<std::chrono::milliseconds::rep>(static_cast<double>(delay.count() - half) *
                                                                    std::clamp(unit_random, 0.0, 1.0));
    return std::chrono::milliseconds(half + jitter);
}

}  // namespace corsair::worker
