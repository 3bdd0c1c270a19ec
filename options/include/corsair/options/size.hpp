// The size grammar every Corsair flag that takes bytes accepts (docs/cli.md §Sizes and
// durations), and its formatter. Pure functions; no state.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace corsair::options {

namespace detail {

// Bytes in one unit; 0 when `unit` is not a unit. Every unit is binary (1k = 1024): decimal
// "KB"/"MB"/"GB" are refused rather than guessed, since 8MB read as 8,000,000 would quietly
// refuse an 8 MiB payload.
constexpr std::uint64_t size_unit_bytes(std::string_view unit) noexcept {
    if (unit.empty() || unit == "B") return 1;
    if (unit == "k" || unit == "K" || unit == "KiB") return std::uint64_t{1} << 10;
    if (unit == "M" || unit == "MiB") return std::uint64_t{1} << 20;
    if (unit == "G" || unit == "GiB") return std::uint64_t{1} << 30;
    if (unit == "T" || unit == "TiB") return std::uint64_t{1} << 40;
    return 0;
}

}  // namespace detail

// Decimal digits and an optional unit right after them: "1048576", "512B", "64k", "64K",
// "64KiB", "8M", "8MiB", "256MiB", "1G", "1GiB", "1T", "1TiB" (all powers of 1024). Returns
// nullopt for anything else (empty, a sign, a fraction, spaces, KB/MB/GB, overflow). Never throws.
constexpr std::optional<std::uint64_t> parse_size(std::string_view text) noexcept {
    std::size_t i = 0;
    std::uint64_t value = 0;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
        const auto digit = static_cast<std::uint64_t>(text[i] - '0');
        if (value > (UINT64_MAX - digit) / 10) return std::nullopt;
        value = value * 10 + digit;
    }
    if (i == 0) return std::nullopt;
    const std::uint64_t unit = detail::size_unit_bytes(text.substr(i));
    if (unit == 0 || value > UINT64_MAX / unit) return std::nullopt;
    return value * unit;
}

// The shortest exact form: "0B", "1000B", "64KiB", "8MiB", "1GiB", "1536KiB".
// parse_size(format_size(n)) == n for every n.
inline std::string format_size(std::uint64_t bytes) {
    if (bytes == 0) return "0B";
    const struct {
        unsigned shift;
        const char* unit;
    } units[] = {{40, "TiB"}, {30, "GiB"}, {20, "MiB"}, {10, "KiB"}};
    for (const auto& u : units) {
        const std::uint64_t size = std::uint64_t{1} << u.shift;
        if (bytes % size == 0) return std::to_string(bytes / size) + u.unit;
    }
    return std::to_string(bytes) + "B";
}

}  // namespace corsair::options
