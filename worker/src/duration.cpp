#include "corsair/worker/duration.hpp"

#include <cstdint>

namespace corsair::worker {

namespace {

// Microseconds in one unit; 0 when `unit` is not a unit.
std::int64_t unit_microseconds(std::string_view unit) noexcept {
    if (unit == "us") return 1;
    if (unit == "ms") return 1'000;
    if (unit == "s") return 1'000'000;
    if (unit == "m") return 60'000'000;
    if (unit == "h") return 3'600'000'000;
    return 0;
}

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

constexpr std::int64_t kMaxMicroseconds = 100LL * 365 * 24 * 3'600'000'000LL;

}  // namespace

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) noexcept {
    if (text == "0") return std::chrono::milliseconds{0};
    if (text.empty()) return std::nullopt;
    std::int64_t total_us = 0;
    std::size_t i = 0;
    while (i < text.size()) {
        std::int64_t whole = 0;
        std::size_t digits = 0;
        for (; i < text.size() && is_digit(text[i]); ++i, ++digits) {
            if (whole > kMaxMicroseconds) return std::nullopt;
            whole = whole * 10 + (text[i] - '0');
        }
        // Fraction kept as numerator/denominator, at most 9 digits (finer than a microsecond).
        std::int64_t fraction = 0;
        std::int64_t scale = 1;
        std::size_t fraction_digits = 0;
        if (i < text.size() && text[i] == '.') {
            ++i;
            for (; i < text.size() && is_digit(text[i]); ++i, ++fraction_digits) {
                if (fraction_digits < 9) {
                    fraction = fraction * 10 + (text[i] - '0');
                    scale *= 10;
                }
            }
            if (fraction_digits == 0) return std::nullopt;
        }
        if (digits == 0 && fraction_digits == 0) return std::nullopt;
        const std::size_t unit_start = i;
        while (i < text.size() && !is_digit(text[i]) && text[i] != '.') ++i;
        const std::int64_t unit = unit_microseconds(text.substr(unit_start, i - unit_start));
        if (unit == 0) return std::nullopt;
        if (whole > kMaxMicroseconds / unit) return std::nullopt;
        total_us += whole * unit + fraction * unit / scale;
        if (total_us > kMaxMicroseconds) return std::nullopt;
    }
    return std::chrono::milliseconds{total_us / 1000};
}

std::string format_duration(std::chrono::milliseconds duration) {
    auto ms = duration.count();
    if (ms == 0) return "0s";
    std::string text;
    if (ms < 0) {
        text = "-";
        ms = -ms;
    }
    const std::int64_t hours = ms / 3'600'000;
    const std::int64_t minutes = ms / 60'000 % 60;
    const std::int64_t seconds = ms / 1000 % 60;
    const std::int64_t millis = ms % 1000;
    if (hours != 0) text += std::to_string(hours) + "h";
    if (minutes != 0) text += std::to_string(minutes) + "m";
    if (seconds != 0) text += std::to_string(seconds) + "s";
    if (millis != 0) text += std::to_string(millis) + "ms";
    return text;
}

}  // namespace corsair::worker
