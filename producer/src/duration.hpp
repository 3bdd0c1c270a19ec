// Durations on the command line: "250ms", "1s", "1.5s", "2m", "1h".
// Private to the CLI; worker/ has its own copy until the lead moves one into a shared place.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace corsair::producer::cli {

// A non-negative number followed by ms, s, m or h; nullopt for anything else (no unit included).
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

// Short human form: "250ms", "1.5s", "2m05s", "1h02m".
std::string format_duration(std::chrono::milliseconds duration);

}  // namespace corsair::producer::cli
