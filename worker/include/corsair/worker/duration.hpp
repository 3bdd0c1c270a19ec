// Parsing human-written durations for flags such as --heartbeat 250ms or --drain-timeout 2m.
// Shared by every Corsair binary so that all flags accept the same grammar.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace corsair::worker {

// Grammar: one or more <number><unit> terms, e.g. "250ms", "1.5s", "2m", "1m30s", "1500us".
// A number is decimal digits with an optional fraction; units are us, ms, s, m, h. A bare "0"
// is allowed; any other number needs a unit. Sub-millisecond remainders are truncated, so
// "1500us" is 1 ms and "500us" is 0 ms. Returns nullopt on anything else (empty text, a
// missing or unknown unit, a sign, spaces, more than 100 years). Never throws.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) noexcept;

// Formats a duration for logs and help text in the same grammar, e.g. "250ms", "2s", "1m30s".
std::string format_duration(std::chrono::milliseconds duration);

}  // namespace corsair::worker
