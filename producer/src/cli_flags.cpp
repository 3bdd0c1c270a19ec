#include "cli_flags.hpp"

#include <charconv>
#include <cstdint>
#include <limits>

#include "corsair/options/flags.hpp"
#include "corsair/protocol/duration.hpp"
#include "corsair/protocol/limits.hpp"
#include "timestamp.hpp"

namespace corsair::producer::cli {

namespace {

using protocol::unexpected;
using std::chrono::milliseconds;

template <class T>
using Checked = protocol::Result<T, std::string>;

std::string got(const std::string& text) { return " (got '" + text + "')"; }

// Whole decimal digits with an optional leading '-'; nothing else, no overflow.
std::optional<std::int64_t> parse_integer(const std::string& text) {
    std::int64_t value = 0;
    const char* end = text.data() + text.size();
    const auto [ptr, error] = std::from_chars(text.data(), end, value);
    if (error != std::errc() || ptr != end || text.empty()) return std::nullopt;
    return value;
}

Checked<std::int64_t> integer_flag(const char* flag, const std::string& text, std::int64_t min, std::int64_t max) {
    const auto value = parse_integer(text);
    if (!value || *value < min || *value > max) {
        return unexpected(std::string(flag) + " must be an integer from " + std::to_string(min) + " to " +
                          std::to_string(max) + got(text));
    }
    return *value;
}

Checked<std::uint64_t> count_flag(const char* flag, const std::string& text) {
    std::uint64_t value = 0;
    const char* end = text.data() + text.size();
    const auto [ptr, error] = std::from_chars(text.data(), end, value);
    if (error != std::errc() || ptr != end || text.empty()) {
        return unexpected(std::string(flag) + " must be a whole number" + got(text));
    }
    return value;
}

// "20" or "20%".
Checked<std::uint32_t> percent_flag(const char* flag, const std::string& text) {
    const std::string digits = !text.empty() && text.back() == '%' ? text.substr(0, text.size() - 1) : text;
    const auto value = parse_integer(digits);
    if (!value || *value < 0 || *value > 100) {
        return unexpected(std::string(flag) + " must be a percentage from 0 to 100" + got(text));
    }
    return static_cast<std::uint32_t>(*value);
}

// A duration in whole milliseconds within [min, max], in the wording every program shares
// ("--timeout: 'soon' is not a duration: ..."). Anything under 1ms but above 0 is refused
// rather than rounded to 0, which means "none" for a timeout.
Checked<milliseconds> duration_flag(const char* flag, const std::string& text, milliseconds min, milliseconds max,
                                    const char* note = "") {
    if (auto problem = options::duration_check(text, min, max); !problem.empty()) {
        return unexpected(std::string(flag) + ": " + problem + note);
    }
    return std::chrono::duration_cast<milliseconds>(*protocol::parse_duration(text));
}

const milliseconds kMaxBackoff(protocol::kMaxBackoffMs);
const milliseconds kMaxTimeout(protocol::kMaxTimeoutMs);
const milliseconds kMaxDelay(protocol::kMaxDelayMs);
constexpr const char* kNone = "; 0 = none";

}  // namespace

#define CORSAIR_CHECK_FLAG(var, expr) \
    auto var = (expr);                \
    if (!var) return unexpected(var.error());

protocol::Result<JobOptions, std::string> job_options_from(const JobFlags& flags,
                                                           std::chrono::system_clock::time_point now) {
    JobOptions options;
    if (flags.priority) {
        CORSAIR_CHECK_FLAG(value,
                           integer_flag("--priority", *flags.priority, protocol::kMinPriority, protocol::kMaxPriority));
        options.priority = static_cast<std::int32_t>(*value);
    }
    if (flags.max_attempts) {
        CORSAIR_CHECK_FLAG(value, integer_flag("--max-attempts", *flags.max_attempts, 1, protocol::kMaxAttemptsLimit));
        options.max_attempts = static_cast<std::uint32_t>(*value);
    }
    if (flags.timeout) {
        CORSAIR_CHECK_FLAG(value, duration_flag("--timeout", *flags.timeout, milliseconds(0), kMaxTimeout, kNone));
        options.timeout = *value;
    }
    if (flags.delay) {
        CORSAIR_CHECK_FLAG(value, duration_flag("--delay", *flags.delay, milliseconds(0), kMaxDelay));
        options.delay = *value;
    }
    if (flags.at) {
        if (flags.delay) return unexpected(std::string("--delay and --at cannot be used together"));
        const auto time = parse_timestamp(*flags.at);
        if (!time) {
            return unexpected("--at must be an RFC 3339 time such as 2030-01-31T16:00:00Z or "
                              "2030-01-31T17:00:00+01:00, or @UNIX_SECONDS (for a time relative to now, use --delay)" +
                              got(*flags.at));
        }
        if (*time <= now) {
            return unexpected("--at must be in the future (" + format_timestamp(*time) + " is before now, " +
                              format_timestamp(now) + ")");
        }
        if (*time - now > kMaxDelay) {
            return unexpected("--at must be at most " + protocol::format_duration(kMaxDelay) + " (365 days) ahead (" +
                              format_timestamp(*time) + " is later than that)");
        }
        options.run_at = *time;
    }
    if (flags.unique_key) {
        if (flags.unique_key->empty() || flags.unique_key->size() > protocol::kMaxUniqueKeyBytes) {
            return unexpected("--unique must be 1 to " + std::to_string(protocol::kMaxUniqueKeyBytes) + " bytes (got " +
                              std::to_string(flags.unique_key->size()) + ")");
        }
        options.unique_key = *flags.unique_key;
    }
    if (flags.backoff) {
        CORSAIR_CHECK_FLAG(value, duration_flag("--backoff", *flags.backoff, milliseconds(1), kMaxBackoff));
        options.backoff = *value;
    }
    if (flags.backoff_max) {
        CORSAIR_CHECK_FLAG(value, duration_flag("--backoff-max", *flags.backoff_max, milliseconds(1), kMaxBackoff));
        options.backoff_max = *value;
    }
    if (flags.jitter) {
        CORSAIR_CHECK_FLAG(value, percent_flag("--jitter", *flags.jitter));
        options.backoff_jitter_pct = *value;
    }
    return options;
}

protocol::Result<protocol::QueueSettings, std::string> queue_settings_from(const std::string& queue,
                                                                           const QueueFlags& flags) {
    protocol::QueueSettings settings;
    settings.queue = queue;
    if (flags.max_length) {
        CORSAIR_CHECK_FLAG(value, count_flag("--max-length", *flags.max_length));
        settings.max_length = *value;
    }
    if (flags.max_attempts) {
        CORSAIR_CHECK_FLAG(value, integer_flag("--max-attempts", *flags.max_attempts, 1, protocol::kMaxAttemptsLimit));
        settings.retry.max_attempts = static_cast<std::uint32_t>(*value);
    }
    if (flags.timeout) {
        CORSAIR_CHECK_FLAG(value, duration_flag("--timeout", *flags.timeout, milliseconds(0), kMaxTimeout, kNone));
        settings.timeout_ms = static_cast<std::uint64_t>(value->count());
    }
    if (flags.backoff) {
        CORSAIR_CHECK_FLAG(value, duration_flag("--backoff", *flags.backoff, milliseconds(1), kMaxBackoff));
        settings.retry.backoff_ms = static_cast<std::uint64_t>(value->count());
    }
    if (flags.backoff_max) {
        CORSAIR_CHECK_FLAG(value, duration_flag("--backoff-max", *flags.backoff_max, milliseconds(1), kMaxBackoff));
        settings.retry.backoff_max_ms = static_cast<std::uint64_t>(value->count());
    }
    if (flags.jitter) {
        CORSAIR_CHECK_FLAG(value, percent_flag("--jitter", *flags.jitter));
        settings.retry.backoff_jitter_pct = *value;
    }
    if (flags.dead_max) {
        CORSAIR_CHECK_FLAG(value, count_flag("--dead-max", *flags.dead_max));
        settings.dead_max_count = *value;
    }
    if (flags.dead_max_age) {
        CORSAIR_CHECK_FLAG(value, duration_flag("--dead-max-age", *flags.dead_max_age, milliseconds(1),
                                                milliseconds(protocol::kMaxDeadAgeMs)));
        settings.dead_max_age_ms = static_cast<std::uint64_t>(value->count());
    }
    return settings;
}

#undef CORSAIR_CHECK_FLAG

}  // namespace corsair::producer::cli
