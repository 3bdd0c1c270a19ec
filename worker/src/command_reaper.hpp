// CommandReaper: starts one job's command under a reaper of its own, so that no command outlives
// its worker (issue 12 point 2). The worker forks the reaper; the reaper forks the command into a
// new process group and waits for it. The reaper holds PR_SET_PDEATHSIG: when the worker dies,
// even by SIGKILL, the reaper kills the command's whole process group and exits; the command
// also holds PR_SET_PDEATHSIG against the reaper. When the command exits, whatever it left in its
// group is killed too. Both forked processes make only async-signal-safe system calls (the worker
// is multi-threaded); everything they need is prepared before the fork.
//
// What it cannot reach: a process that leaves the group (setsid, a daemon) escapes, as it would
// a `kill -- -PGID`; only a cgroup holds those, and none is writable in the containers we run in.
// PR_SET_PDEATHSIG fires when the *thread* that forked the reaper ends, so the calling thread
// must outlive the command: handler threads and the I/O thread do.
//
// Used by ExecHandler on the handler thread that runs the job.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace corsair::worker {

// The reaper's account of the command, read once the reaper has exited.
struct ReaperReport {
    int start_error = 0;             // errno of a command that never started (fork or exec), else 0
    std::optional<int> wait_status;  // the command's wait status; nullopt if the reaper died first
};

class CommandReaper {
public:
    // Starts the reaper, which starts `path` with `argv` and `env` (its stdin, stdout and stderr
    // on the given descriptors, which stay ours to close). Blocks only for the fork. Throws
    // NotStarted (not_started.hpp) when no pipe or process can be made.
    CommandReaper(const std::string& path, const std::vector<std::string>& argv, const std::vector<std::string>& env,
                  int stdin_fd, int stdout_fd, int stderr_fd);
    // Kills the command's group (as kill_command()) and reaps the reaper if that was not done.
    ~CommandReaper();
    CommandReaper(const CommandReaper&) = delete;
    CommandReaper& operator=(const CommandReaper&) = delete;

    // Asks the reaper to SIGKILL the command's whole process group. Non-blocking; idempotent.
    void kill_command() const noexcept;
    // A descriptor that becomes readable when the reaper has exited (a pidfd).
    int exit_fd() const noexcept { return pidfd_; }
    // Reaps the reaper if it has exited and returns what it reported; nullopt while it runs.
    // Never blocks.
    std::optional<ReaperReport> try_finish();

private:
    pid_t pid_ = -1;
    int pidfd_ = -1;
    int report_fd_ = -1;  // our read end of the reaper's report pipe
    bool is_reaped_ = false;
};

}  // namespace corsair::worker
