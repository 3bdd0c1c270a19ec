// ProgressMeter: the one-line progress display of `corsair submit --file` (stderr, terminals
// only). It formats; the caller decides when to draw. Used by the CLI thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace corsair::producer::cli {

// Short display form for people, not for parsing back: "250ms", "1.5s", "2m05s", "1h02m".
std::string human_duration(std::chrono::milliseconds duration);

class ProgressMeter {
public:
    using Clock = std::chrono::steady_clock;

    ProgressMeter(std::optional<std::uint64_t> total, Clock::time_point start) : total_(total), start_(start) {}

    // "  1200/5000  24%  [#####.....]  800 jobs/s  ETA 4.8s", or "  1200  800 jobs/s" without a total.
    std::string line(std::uint64_t count, Clock::time_point now) const;
    // Jobs per second since start (0 before any time has passed).
    double rate(std::uint64_t count, Clock::time_point now) const;

private:
    std::optional<std::uint64_t> total_;
    Clock::time_point start_;
};

}  // namespace corsair::producer::cli
