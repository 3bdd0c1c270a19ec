// NotStarted: thrown by a handler when its attempt could not even begin for a reason that is the
// worker's, not the job's (ExecHandler: the command is missing or not executable, exec failed, no
// process could be forked). The worker sends FAIL with not_started, the broker puts the job back
// without counting the attempt, and the worker takes no jobs for a while (worker/README.md).
#pragma once

#include <stdexcept>

namespace corsair::worker {

class NotStarted : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

}  // namespace corsair::worker
