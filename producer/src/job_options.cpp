#include "corsair/producer/job_options.hpp"

#include <string>

#include "corsair/producer/producer_error.hpp"
#include "corsair/protocol/duration.hpp"
#include "corsair/protocol/limits.hpp"

namespace corsair::producer {

namespace {

using std::chrono::milliseconds;

[[noreturn]] void reject(const std::string& message) {
    throw ProducerError(ProducerError::Kind::invalid, protocol::ErrorCode::bad_field_value, message);
}

std::string text_of(milliseconds duration) { return protocol::format_duration(duration); }

void check_range(const char* field, std::int64_t value, std::int64_t min, std::int64_t max) {
    if (value < min || value > max) {
        reject(std::string(field) + " must be between " + std::to_string(min) + " and " + std::to_string(max) +
               " (got " + std::to_string(value) + ")");
    }
}

void check_duration(const char* field, milliseconds value, milliseconds min, milliseconds max) {
    if (value < min || value > max) {
        reject(std::string(field) + " must be between " + text_of(min) + " and " + text_of(max) + " (got " +
               (value.count() < 0 ? "-" + text_of(-value) : text_of(value)) + ")");
    }
}

}  // namespace

void validate(const JobOptions& options, std::chrono::system_clock::time_point now) {
    check_range("priority", options.priority, protocol::kMinPriority, protocol::kMaxPriority);
    if (options.max_attempts) check_range("max_attempts", *options.max_attempts, 1, protocol::kMaxAttemptsLimit);
    const milliseconds max_backoff(protocol::kMaxBackoffMs);
    if (options.backoff) check_duration("backoff", *options.backoff, milliseconds(1), max_backoff);
    if (options.backoff_max) check_duration("backoff_max", *options.backoff_max, milliseconds(1), max_backoff);
    if (options.backoff_jitter_pct) check_range("backoff_jitter_pct", *options.backoff_jitter_pct, 0, 100);
    if (options.timeout) {
        check_duration("timeout", *options.timeout, milliseconds(0), milliseconds(protocol::kMaxTimeoutMs));
    }
    check_duration("delay", options.delay, milliseconds(0), milliseconds(protocol::kMaxDelayMs));
    if (options.run_at) {
        // docs/jobs.md: a job is ready after a delay or at a time, never both.
        if (options.delay.count() != 0) reject("run_at and delay cannot both be set");
        if (*options.run_at <= now) reject("run_at must be in the future");
        // The broker refuses a time further ahead than the longest delay (docs/protocol.md §5.1).
        if (*options.run_at - now > milliseconds(protocol::kMaxDelayMs)) {
            reject("run_at must be at most " + text_of(milliseconds(protocol::kMaxDelayMs)) + " ahead");
        }
    }
    if (options.unique_key.size() > protocol::kMaxUniqueKeyBytes) {
        reject("unique_key is " + std::to_string(options.unique_key.size()) + " bytes; the limit is " +
               std::to_string(protocol::kMaxUniqueKeyBytes));
    }
}

std::uint64_t unix_milliseconds(std::chrono::system_clock::time_point time) {
    const auto ms = std::chrono::floor<milliseconds>(time.time_since_epoch()).count();
    return ms < 0 ? 0 : static_cast<std::uint64_t>(ms);
}

}  // namespace corsair::producer
