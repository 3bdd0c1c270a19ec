// JobOptions: how one submitted job is scheduled and retried (docs/jobs.md). A value type; the
// default is a plain job that takes every setting from its queue.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace corsair::producer {

struct JobOptions {
    std::int32_t priority = 0;                             // kMinPriority..kMaxPriority; higher runs first
    std::optional<std::uint32_t> max_attempts;             // 1..kMaxAttemptsLimit; absent: the queue's
    std::optional<std::chrono::milliseconds> backoff;      // 1ms..24h: delay before the first retry, doubled each time
    std::optional<std::chrono::milliseconds> backoff_max;  // 1ms..24h: cap on that delay
    std::optional<std::uint32_t> backoff_jitter_pct;       // 0..100: +/- this percentage
    std::optional<std::chrono::milliseconds> timeout;      // per attempt, 0..7d; 0 = none; absent: the queue's
    std::chrono::milliseconds delay{0};                    // 0..365d: ready this long after acceptance
    std::optional<std::chrono::system_clock::time_point> run_at;  // or ready at this time (not with delay)
    std::string unique_key;  // at most kMaxUniqueKeyBytes; empty = none. A live job in the same queue
                             // holding the key stands for this submit (Accepted::job_id)

    bool operator==(const JobOptions&) const = default;
};

// Throws ProducerError (invalid, bad_field_value) naming the first field out of its protocol range,
// e.g. "priority must be between -1000 and 1000", or a run_at not after `now` or more than 365 days
// ahead of it. Never blocks.
void validate(const JobOptions& options, std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

// run_at as the wire carries it: whole milliseconds since the Unix epoch.
std::uint64_t unix_milliseconds(std::chrono::system_clock::time_point time);

}  // namespace corsair::producer
