// The exit codes of corsair-broker, corsair-worker and corsair: one table for all three
// (docs/cli.md §Exit codes), so scripts and systemd units read every program the same way.
#pragma once

#include "corsair/protocol/error_code.hpp"

namespace corsair::options {

enum class ExitCode : int {
    ok = 0,
    job_failed = 1,   // the job failed or was cancelled (corsair submit --wait, corsair result)
    usage = 2,        // bad flag, argument, environment variable or endpoint; nothing was done
    try_later = 3,    // refused for now (queue_full, shutting_down, storage_unavailable) or not done yet
    unreachable = 4,  // no answer from the broker in time, or its host cannot be resolved
    refused = 5,      // the broker refused the request and retrying will not help (unknown_job, ...)
    fatal = 6,        // fatal runtime error: cannot bind, data directory locked or damaged, journal unwritable
};

constexpr int exit_status(ExitCode exit_code) noexcept { return static_cast<int>(exit_code); }

// The exit code a broker ERROR means to the program that got it.
constexpr ExitCode exit_code_for(protocol::ErrorCode error) noexcept {
    using protocol::ErrorCode;
    switch (error) {
        case ErrorCode::queue_full:
        case ErrorCode::shutting_down:
        case ErrorCode::storage_unavailable:
        case ErrorCode::too_many_in_flight:
        case ErrorCode::too_many_workers:
        case ErrorCode::internal: return ExitCode::try_later;
        case ErrorCode::wrong_endpoint: return ExitCode::usage;
        default: return ExitCode::refused;
    }
}

// The table as each program's --help shows it.
inline constexpr const char* kExitCodeHelp =
    "Exit codes (the same for corsair-broker, corsair-worker and corsair):\n"
    "  0  success\n"
    "  1  the job failed or was cancelled\n"
    "  2  usage error: a bad flag, argument, environment variable or endpoint (also the broker's\n"
    "     other endpoint: wrong_endpoint); nothing was done\n"
    "  3  try later: refused for now (queue_full, shutting_down, storage_unavailable), or the job\n"
    "     has not ended yet\n"
    "  4  the broker did not answer in time, or its host name cannot be resolved\n"
    "  5  refused: the broker said no and the same request will not succeed (unknown_job,\n"
    "     unknown_queue, wrong_state, id_conflict, payload_too_large, too_many_queues, forbidden,\n"
    "     ...)\n"
    "  6  fatal runtime error (cannot bind an endpoint, data directory locked or damaged, journal\n"
    "     cannot be written)";

}  // namespace corsair::options
