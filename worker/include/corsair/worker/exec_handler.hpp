// ExecHandler: a Handler that runs a command per job, without a shell. The payload goes to the
// child's stdin, its stdout is the result. Called on a handler thread; one child per call.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

#include "corsair/protocol/limits.hpp"
#include "corsair/worker/handler.hpp"

namespace corsair::worker {

class ExecHandler {
public:
    // Most stderr kept for the failure message: the last kStderrTailLines lines, at most kStderrTailBytes.
    static constexpr std::size_t kStderrTailLines = 20;
    static constexpr std::size_t kStderrTailBytes = 4096;

    // `argv[0]` is searched in PATH unless it contains a '/'. Throws std::invalid_argument if argv is empty.
    explicit ExecHandler(std::vector<std::string> argv,
                         std::size_t max_output_bytes = protocol::kDefaultMaxPayloadBytes);

    // Blocks until the child exits. The child gets CORSAIR_JOB_ID, CORSAIR_QUEUE and CORSAIR_ATTEMPT
    // in its environment and runs in its own process group. Returns its stdout if it exits with 0;
    // otherwise throws std::runtime_error: "exit status 3: <stderr tail>", "killed by signal 9",
    // "command not found: NAME", "output too large: ...". When job.stop_token is requested the whole
    // process group is killed.
    std::string operator()(const JobContext& job) const;

    const std::vector<std::string>& argv() const noexcept { return argv_; }

private:
    std::vector<std::string> argv_;
    std::size_t max_output_bytes_;
};

}  // namespace corsair::worker
