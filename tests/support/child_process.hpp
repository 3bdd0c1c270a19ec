// A child process started with fork/exec by a test or the bench, owned by the thread that started
// it. It dies with its parent (PR_SET_PDEATHSIG), and the destructor SIGKILLs it by PID (never by
// name) and reaps it, so that neither a failing test nor a killed bench leaks a process.
// A child that exits with kSanitizerExitCode (a sanitizer report, in a CORSAIR_SANITIZE build)
// fails the test however it is reaped: its report is copied to our stderr and this process exits
// with the same code, as it would on a report of its own.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace corsair::test {

// The exit code sanitizer_options.cpp gives every sanitizer report; no corsair program uses it.
inline constexpr int kSanitizerExitCode = 86;

class ChildProcess {
public:
    // Whether the child's stdout comes back through read_line(), or goes to /dev/null (for a
    // child nobody reads, so that it can never block on a full pipe).
    enum class Stdout { captured, discarded };

    // Starts argv[0] (a path) with argv; `extra_env` entries ("NAME=value") are added to this
    // process's environment. stderr is appended to `stderr_path`, or is ours if that is empty;
    // stdin is /dev/null. Throws std::runtime_error if the pipe or fork fails; a failed exec
    // shows as exit status 127.
    explicit ChildProcess(std::vector<std::string> argv, std::vector<std::string> extra_env = {},
                          std::string stderr_path = {}, Stdout out = Stdout::captured);
    ~ChildProcess();
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;
    ChildProcess(ChildProcess&& other) noexcept;
    ChildProcess& operator=(ChildProcess&&) = delete;

    pid_t pid() const noexcept { return pid_; }
    // Sends `signal_number` by PID unless the child is already reaped.
    void signal(int signal_number) const;
    // SIGKILL by PID, then blocks until reaped. Idempotent.
    void kill_and_reap();
    // Blocks up to scaled(`timeout`) (deadline.hpp) for one line of stdout (without its newline);
    // at end of file, the unterminated rest if any. nullopt on timeout or at end of file.
    std::optional<std::string> read_line(std::chrono::milliseconds timeout);
    // The same, until `deadline` as it is.
    std::optional<std::string> read_line_until(std::chrono::steady_clock::time_point deadline);
    // Reads stdout lines until one contains `needle`; returns it, or nullopt on timeout (scaled) or EOF.
    std::optional<std::string> wait_for_line(const std::string& needle, std::chrono::milliseconds timeout);
    // Blocks until the child exits and reaps it; returns the wait status (as from waitpid), or
    // nullopt on timeout (scaled).
    std::optional<int> wait_exit(std::chrono::milliseconds timeout);
    // False once the child has exited (reaping it).
    bool is_running();
    // Everything read from stdout so far.
    const std::string& stdout_text() const noexcept { return captured_; }

private:
    // Reads what the pipe holds into buffer_, waiting until `deadline`; false on timeout or EOF.
    bool fill_buffer(std::chrono::steady_clock::time_point deadline);
    // Marks the child reaped with wait status `status`; a sanitizer report ends this process.
    void note_reaped(int status);

    std::string program_;
    std::string stderr_path_;
    pid_t pid_ = -1;
    int stdout_fd_ = -1;
    bool is_reaped_ = false;
    std::string buffer_;
    std::string captured_;
};

// True once `pid` (not necessarily our child) is gone, or is a zombie nobody has reaped yet.
bool process_has_ended(pid_t pid);

}  // namespace corsair::test
