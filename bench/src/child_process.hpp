// A child process the bench started (fork/exec), owned by the thread that started it. It dies
// with the bench (PR_SET_PDEATHSIG); the destructor SIGKILLs it by PID and reaps it.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace corsair::bench {

class ChildProcess {
public:
    // Starts argv[0] (a path) with argv. stdout is captured for read_line() when
    // `captures_stdout`, else discarded; stderr is appended to `stderr_path` (or discarded if
    // empty). Throws std::runtime_error if fork or the pipe fails; a failed exec shows as exit 127.
    ChildProcess(std::vector<std::string> argv, bool captures_stdout, const std::string& stderr_path);
    ~ChildProcess();
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    pid_t pid() const noexcept { return pid_; }
    // Blocks up to `timeout` for one line of stdout; nullopt on timeout or end of file.
    std::optional<std::string> read_line(std::chrono::milliseconds timeout);
    // SIGKILL by PID, then reap. Idempotent.
    void kill_and_reap();

private:
    pid_t pid_ = -1;
    int stdout_fd_ = -1;
    bool is_reaped_ = false;
    std::string buffer_;
};

}  // namespace corsair::bench
