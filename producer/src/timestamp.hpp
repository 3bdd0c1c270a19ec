// Points in time on the `corsair` command line (`submit --at`): RFC 3339 or @UNIX_SECONDS.
// Pure functions; the caller supplies "now" where it matters, so tests are deterministic.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace corsair::producer::cli {

// "2026-11-23T16:00:00Z", "2026-11-23T17:00:00+01:00", "2026-11-23T16:00:00.250Z" (RFC 3339: a
// date, 'T' (or 't' or a space), a time with optional fraction, and 'Z' or an offset +-HH:MM), or
// "@1795449600" / "@1795449600.5" (seconds since the Unix epoch). Fractions finer than a
// millisecond are truncated. Returns nullopt for anything else, including impossible dates
// (2026-02-30) and a missing offset (a time without a zone is ambiguous). Never throws.
std::optional<std::chrono::system_clock::time_point> parse_timestamp(std::string_view text);

// RFC 3339 in UTC, with milliseconds only when there are some: "2026-11-23T16:00:00Z".
std::string format_timestamp(std::chrono::system_clock::time_point time);

}  // namespace corsair::producer::cli
