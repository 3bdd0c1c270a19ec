// ExecHandler: a Handler that runs a command per job, without a shell. The payload goes to the
// child's stdin, its stdout is the result. Called on a handler thread; one child per call.
//
// What the command may tell the worker:
//   exit 0                          done: stdout is the result
//   exit 100                        permanent failure (kPermanentFailureExitCode): FAIL with
//                                   is_permanent, so the broker does not retry the job
//   any other exit, or a signal     failure, retried by the broker while attempts remain
//   "corsair-progress <percent> [message]" as a line on stderr
//                                   progress: percent is a whole number (clamped to 0..100),
//                                   message the rest of the line (cut to 256 bytes); e.g.
//                                   `corsair-progress 40 resized 4 of 10`. Such lines are not
//                                   part of the stderr tail used as the error text; a line that
//                                   starts with corsair-progress but does not parse stays in it.
// When the job is abandoned by the broker (timed out, cancelled) or the worker stops, the
// command's whole process group is killed with SIGKILL; so it is when the command exits (what
// it left running in its group), and when the worker dies, even by SIGKILL: each command runs
// under a small reaper process of its own (src/command_reaper.hpp).
// A command that cannot be started (not found, not executable, exec or fork failed) throws
// NotStarted: the job is not at fault, and the worker gives it back uncounted.
#pragma once

#include <chrono>
#include <cstddef>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "corsair/protocol/limits.hpp"
#include "corsair/worker/handler.hpp"
#include "corsair/worker/not_started.hpp"
#include "corsair/worker/permanent_failure.hpp"

namespace corsair::worker {

// A command that exits with this status has failed for good: ExecHandler throws PermanentFailure.
inline constexpr int kPermanentFailureExitCode = 100;

class ExecHandler {
public:
    // Most stderr kept for the failure message: the last kStderrTailLines lines, at most kStderrTailBytes.
    static constexpr std::size_t kStderrTailLines = 20;
    static constexpr std::size_t kStderrTailBytes = 4096;
    // How often a running command is checked for a stop request.
    static constexpr std::chrono::milliseconds kStopCheckInterval{100};

    // `argv[0]` is searched in PATH unless it contains a '/'. Throws std::invalid_argument if argv is empty.
    // Stdout is cut at the smaller of `max_output_bytes` and the job's max_result_bytes (the
    // broker's limit); by default only the broker's limit applies. A command still running
    // `timeout` after it started is killed with its process group and the attempt fails
    // ("timed out after 30s: command killed"), to be retried by the broker; 0 = no limit.
    explicit ExecHandler(std::vector<std::string> argv,
                         std::size_t max_output_bytes = std::numeric_limits<std::size_t>::max(),
                         std::chrono::milliseconds timeout = std::chrono::milliseconds(0));

    // Blocks until the child exits. The child gets CORSAIR_JOB_ID, CORSAIR_QUEUE and CORSAIR_ATTEMPT
    // in its environment and runs in its own process group. Returns its stdout if it exits with 0;
    // on exit 100 throws PermanentFailure ("exit status 100: <stderr tail>"); otherwise throws
    // std::runtime_error: "exit status 3: <stderr tail>", "killed by signal KILL (9)",
    // "output too large: ..." (a PermanentFailure). Throws NotStarted when the command could not be started:
    // "command not found in PATH: 'NAME'", "command is not executable (permission denied):
    // 'PATH'", "cannot start the command 'NAME': Exec format error". Progress lines on stderr become
    // job.report_progress() calls as they arrive. When job.stop_token is requested the whole
    // process group is killed (within kStopCheckInterval) and it throws "worker stopping: command killed".
    std::string operator()(const JobContext& job) const;

private:
    std::vector<std::string> argv_;
    std::size_t max_output_bytes_;
    std::chrono::milliseconds timeout_;
};

}  // namespace corsair::worker
