// What a handler sees of a job, and the handler type itself. Handlers run on the worker's
// handler threads, never on its I/O thread, so a slow handler never delays heartbeats.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <stop_token>
#include <string>
#include <string_view>

namespace corsair::worker {

// The worker sends at most one PROGRESS per job this often; see JobContext::report_progress().
inline constexpr std::chrono::milliseconds kMinProgressInterval{100};

// Where JobContext::report_progress() delivers a report, already clamped and truncated.
using ProgressSink = std::function<void(std::uint32_t percent, std::string_view message)>;

// One attempt of one job. `payload` is valid only during the handler call.
struct JobContext {
    std::string id;
    std::string queue;
    std::uint32_t attempt = 1;
    std::string_view payload;
    // Requested when the worker stops without draining, or when the broker abandons this attempt
    // (it timed out or was cancelled): a long handler should check it and give up. Once it is
    // requested, nothing the handler returns or throws reaches the broker.
    std::stop_token stop_token;
    // Set by the worker. Empty in a context built by hand (a handler's own tests): reports are dropped.
    ProgressSink progress_sink = {};
    // The largest result the broker takes (its --max-payload, told in its HEARTBEAT). A larger
    // result fails the attempt for good (FAIL permanent), so a handler that produces its result
    // piece by piece may stop at this size. No limit in a context built by hand.
    std::size_t max_result_bytes = std::numeric_limits<std::size_t>::max();

    // Reports how far the job has got: sent to the broker as PROGRESS, which keeps the latest and
    // forwards it to a producer waiting on the job. `percent` is clamped to 0..100, `message` cut
    // to protocol::kMaxProgressMessageBytes. Call from the handler's own thread (reports from
    // other threads are dropped). Never blocks on the network and never throws. The worker sends
    // at most one PROGRESS per job every kMinProgressInterval; a report held back by that limit is
    // replaced by a newer one, and the latest is always sent before the job's DONE or FAIL.
    void report_progress(std::uint32_t percent, std::string_view message = {}) const;
};

// Returns the job's result (sent as DONE). Throwing fails the attempt: the exception's what()
// is sent as the FAIL error text, and the broker may retry the job. Throw PermanentFailure
// (permanent_failure.hpp) when retrying cannot help.
using Handler = std::function<std::string(const JobContext&)>;

}  // namespace corsair::worker
