// The duration grammar every Corsair tool accepts on its command line, and its formatter.
// docs/protocol.md §16 Durations. One place, so every flag of every binary reads the same way.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace corsair::protocol {

// Longest duration accepted: 100 years, far beyond any sensible timeout, far below overflow.
inline constexpr std::int64_t kMaxDurationMicroseconds = 100LL * 365 * 24 * 3'600'000'000LL;

namespace detail {

// Microseconds in one unit; 0 when `unit` is not a unit.
constexpr std::int64_t unit_microseconds(std::string_view unit) noexcept {
    if (unit == "us") return 1;
    if (unit == "ms") return 1'000;
    if (unit == "s") return 1'000'000;
    if (unit == "m") return 60'000'000;
    if (unit == "h") return 3'600'000'000LL;
    if (unit == "d") return 86'400'000'000LL;
    return 0;
}

constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

}  // namespace detail

// One or more <number><unit> terms: "250ms", "1s", "1.5s", "2m", "1m30s", "24h", "1d", "15us".
// A number is decimal digits with an optional fraction; units are us, ms, s, m, h, d (24 hours,
// as a duration: no calendar or daylight saving). A bare "0"
// is allowed; any other number needs a unit. Fractions finer than a microsecond are truncated.
// Returns nullopt for anything else: empty text, a sign, spaces, a missing or unknown unit, or
// more than kMaxDurationMicroseconds. Never throws.
constexpr std::optional<std::chrono::microseconds> parse_duration(std::string_view text) noexcept {
    using detail::is_digit;
    if (text == "0") return std::chrono::microseconds{0};
    if (text.empty()) return std::nullopt;
    std::int64_t total = 0;
    std::size_t i = 0;
    while (i < text.size()) {
        std::int64_t whole = 0;
        std::size_t digits = 0;
        for (; i < text.size() && is_digit(text[i]); ++i, ++digits) {
            if (whole > kMaxDurationMicroseconds) return std::nullopt;
            whole = whole * 10 + (text[i] - '0');
        }
        // The fraction as numerator / denominator, at most 9 digits (finer than a microsecond).
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
        if (digits == 0) return std::nullopt;
        const std::size_t unit_start = i;
        while (i < text.size() && !is_digit(text[i]) && text[i] != '.') ++i;
        const std::int64_t unit = detail::unit_microseconds(text.substr(unit_start, i - unit_start));
        if (unit == 0) return std::nullopt;
        if (whole > kMaxDurationMicroseconds / unit) return std::nullopt;
        // fraction * unit / scale, split so that no product overflows: fraction < scale <= 1e9,
        // and a day's microseconds times a nine-digit fraction would not fit in 64 bits.
        total += whole * unit + (unit / scale) * fraction + (unit % scale) * fraction / scale;
        if (total > kMaxDurationMicroseconds) return std::nullopt;
    }
    return std::chrono::microseconds{total};
}

// The same grammar, exact and shortest: "0s", "250ms", "1m30s", "1h2m3s4ms", "1500us" stays
// "1ms500us". parse_duration(format_duration(d)) == d for every d >= 0.
inline std::string format_duration(std::chrono::microseconds duration) {
    auto us = duration.count();
    if (us == 0) return "0s";
    std::string text;
    if (us < 0) {
        text = "-";
        us = -us;
    }
    const struct {
        std::int64_t size;
        const char* unit;
    } parts[] = {{3'600'000'000LL, "h"}, {60'000'000, "m"}, {1'000'000, "s"}, {1'000, "ms"}, {1, "us"}};
    for (const auto& part : parts) {
        const auto count = us / part.size;
        us %= part.size;
        if (count != 0) text += std::to_string(count) + part.unit;
    }
    return text;
}

}  // namespace corsair::protocol
