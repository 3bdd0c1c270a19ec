// A child process started with fork/exec for integration tests. Owned by one test thread;
// the destructor SIGKILLs it by PID (never by name) and reaps it, so no test leaks a process.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace corsair::test {

class ChildProcess {
public:
    // Starts argv[0] with argv; extra_env entries are "NAME=value". stdout is captured
    // (read_line), stderr goes to `stderr_path` if given, else to the test's stderr.
    explicit ChildProcess(std::vector<std::string> argv, std::vector<std::string> extra_env = {},
                          std::string stderr_path = {});
    ~ChildProcess();
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;
    ChildProcess(ChildProcess&& other) noexcept;
    ChildProcess& operator=(ChildProcess&&) = delete;

    pid_t pid() const noexcept { return pid_; }
    void signal(int signal_number) const;
    // Reads one line of stdout; nullopt at EOF or when the timeout passes first.
    std::optional<std::string> read_line(std::chrono::milliseconds timeout);
    // Reads stdout lines until one contains `needle`; returns it, or nullopt on timeout/EOF.
    std::optional<std::string> wait_for_line(const std::string& needle, std::chrono::milliseconds timeout);
    // Waits for exit; returns the wait status (as from waitpid) or nullopt on timeout.
    std::optional<int> wait_exit(std::chrono::milliseconds timeout);
    bool is_running();
    // Everything read from stdout so far.
    const std::string& stdout_text() const noexcept { return captured_; }

private:
    pid_t pid_ = -1;
    int stdout_fd_ = -1;
    bool reaped_ = false;
    std::string buffer_;
    std::string captured_;
};

// True once `pid` (not necessarily our child) is gone, or is a zombie nobody has reaped yet.
bool process_has_ended(pid_t pid);

}  // namespace corsair::test
