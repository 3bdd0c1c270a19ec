// The duration grammar every Corsair tool accepts on its command line: a non-negative integer
// followed by a unit, e.g. "250ms", "1s", "2m", "24h" (also "us"). docs/protocol.md §Durations.
#pragma once

#include <charconv>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace corsair::protocol {

// Returns nullopt for anything that is not <digits><unit> or that overflows.
inline std::optional<std::chrono::microseconds> parse_duration(std::string_view text) noexcept {
    std::uint64_t amount = 0;
    const char* begin = text.data();
    const char* end = text.data() + text.size();
    auto [rest, error] = std::from_chars(begin, end, amount);
    if (error != std::errc() || rest == begin) return std::nullopt;
    const std::string_view unit(rest, static_cast<std::size_t>(end - rest));
    std::uint64_t micros_per_unit = 0;
    if (unit == "us") micros_per_unit = 1;
    else if (unit == "ms") micros_per_unit = 1'000;
    else if (unit == "s") micros_per_unit = 1'000'000;
    else if (unit == "m") micros_per_unit = 60'000'000;
    else if (unit == "h") micros_per_unit = 3'600'000'000ULL;
    else return std::nullopt;
    if (amount > static_cast<std::uint64_t>(INT64_MAX) / micros_per_unit) return std::nullopt;
    return std::chrono::microseconds(static_cast<std::int64_t>(amount * micros_per_unit));
}

}  // namespace corsair::protocol
