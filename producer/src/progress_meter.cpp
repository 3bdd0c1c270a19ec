#include "progress_meter.hpp"

#include <algorithm>
#include <cstdio>

namespace corsair::producer::cli {

std::string human_duration(std::chrono::milliseconds duration) {
    const auto ms = duration.count();
    char text[48];
    if (ms < 1000) {
        std::snprintf(text, sizeof text, "%lldms", static_cast<long long>(ms));
    } else if (ms < 60'000) {
        std::snprintf(text, sizeof text, "%.1fs", static_cast<double>(ms) / 1000.0);
    } else if (ms < 3'600'000) {
        std::snprintf(text, sizeof text, "%lldm%02llds", static_cast<long long>(ms / 60'000),
                      static_cast<long long>(ms / 1000 % 60));
    } else {
        std::snprintf(text, sizeof text, "%lldh%02lldm", static_cast<long long>(ms / 3'600'000),
                      static_cast<long long>(ms / 60'000 % 60));
    }
    return text;
}

double ProgressMeter::rate(std::uint64_t count, Clock::time_point now) const {
    const double seconds = std::chrono::duration<double>(now - start_).count();
    return seconds > 0 ? static_cast<double>(count) / seconds : 0.0;
}

std::string ProgressMeter::line(std::uint64_t count, Clock::time_point now) const {
    constexpr int kBarWidth = 20;
    const double per_second = rate(count, now);
    char text[160];
    if (!total_) {
        std::snprintf(text, sizeof text, "  %llu  %.0f jobs/s", static_cast<unsigned long long>(count), per_second);
        return text;
    }
    const std::uint64_t total = *total_;
    const double fraction = total == 0 ? 1.0 : std::min(1.0, static_cast<double>(count) / static_cast<double>(total));
    std::string bar(kBarWidth, '.');
    std::fill_n(bar.begin(), static_cast<int>(fraction * kBarWidth), '#');
    std::string eta = "?";
    if (count >= total) {
        eta = "0ms";
    } else if (per_second > 0) {
        const double remaining_seconds = static_cast<double>(total - count) / per_second;
        eta = human_duration(std::chrono::milliseconds(static_cast<std::int64_t>(remaining_seconds * 1000)));
    }
    std::snprintf(text, sizeof text, "  %llu/%llu  %3.0f%%  [%s]  %.0f jobs/s  ETA %s",
                  static_cast<unsigned long long>(count), static_cast<unsigned long long>(total), fraction * 100,
                  bar.c_str(), per_second, eta.c_str());
    return text;
}

}  // namespace corsair::producer::cli
