// The job flags of `corsair submit` and the settings flags of `corsair queue`, as typed on the
// command line, and their checked conversion to typed values. Every error names its flag, so a
// bad value is reported (exit 2) before anything is sent. Pure functions; used by the CLI thread.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "corsair/producer/job_options.hpp"
#include "corsair/protocol/messages.hpp"
#include "corsair/protocol/result.hpp"

namespace corsair::producer::cli {

// Each is set only when its flag was given.
struct JobFlags {
    std::optional<std::string> priority;      // --priority N
    std::optional<std::string> max_attempts;  // --max-attempts N
    std::optional<std::string> timeout;       // --timeout DURATION (0 = none)
    std::optional<std::string> delay;         // --delay DURATION
    std::optional<std::string> at;            // --at TIME (RFC 3339 or @UNIX_SECONDS)
    std::optional<std::string> unique_key;    // --unique KEY
    std::optional<std::string> backoff;       // --backoff DURATION
    std::optional<std::string> backoff_max;   // --backoff-max DURATION
    std::optional<std::string> jitter;        // --jitter PCT
};

struct QueueFlags {
    std::optional<std::string> max_length;    // --max-length N (0 = unlimited)
    std::optional<std::string> max_attempts;  // --max-attempts N
    std::optional<std::string> timeout;       // --timeout DURATION (0 = none)
    std::optional<std::string> backoff;       // --backoff DURATION
    std::optional<std::string> backoff_max;   // --backoff-max DURATION
    std::optional<std::string> jitter;        // --jitter PCT
    std::optional<std::string> dead_max;      // --dead-max N
    std::optional<std::string> dead_max_age;  // --dead-max-age DURATION
};

// The JobOptions the flags ask for, or an error naming the first bad flag, e.g. "--priority must
// be an integer from -1000 to 1000 (got '5000')". `now` decides whether --at is in the past.
protocol::Result<JobOptions, std::string> job_options_from(const JobFlags& flags,
                                                           std::chrono::system_clock::time_point now);

// A QUEUE request for `queue` setting the given fields, or an error naming the first bad flag.
protocol::Result<protocol::QueueSettings, std::string> queue_settings_from(const std::string& queue,
                                                                           const QueueFlags& flags);

}  // namespace corsair::producer::cli
