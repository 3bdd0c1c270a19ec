#include "child_process.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string_view>
#include <utility>

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "deadline.hpp"

extern char** environ;

namespace corsair::test {

namespace {

using Clock = std::chrono::steady_clock;

int milliseconds_left(Clock::time_point deadline) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
    return left <= 0 ? 0 : static_cast<int>(left);
}

// Between fork and exec: async-signal-safe calls only, as the parent may have other threads.
[[noreturn]] void exec_child(char* const* argv, char* const* env, pid_t parent, int stdout_fd,
                             const char* stderr_path) {
    // Dies with its parent: a test runner or bench killed by a timeout must not leave brokers behind.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);  // the parent already died between fork and prctl
    // O_CLOEXEC: dup2 clears it on the copies, so only fds 0-2 reach the new program.
    const int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    dup2(null_fd, STDIN_FILENO);
    dup2(stdout_fd >= 0 ? stdout_fd : null_fd, STDOUT_FILENO);
    if (stderr_path[0] != '\0') {
        const int err_fd = open(stderr_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (err_fd >= 0) dup2(err_fd, STDERR_FILENO);
    }
    execve(argv[0], argv, env);
    _exit(127);
}

// The sanitizer's report in the child's stderr log: from its first line on, or the log's tail.
std::string sanitizer_report(const std::string& stderr_path, pid_t pid) {
    std::ifstream file(stderr_path, std::ios::binary);
    const std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    constexpr std::size_t kTailBytes = 16384;
    auto start = std::min(text.find("==" + std::to_string(pid) + "=="), text.find("runtime error:"));
    if (start == std::string::npos) start = text.size() > kTailBytes ? text.size() - kTailBytes : 0;
    const auto line_start = text.rfind('\n', start);
    return text.substr(line_start == std::string::npos ? 0 : line_start + 1, 4 * kTailBytes);
}

}  // namespace

ChildProcess::ChildProcess(std::vector<std::string> argv, std::vector<std::string> extra_env, std::string stderr_path,
                           Stdout out)
    : program_(argv.empty() ? std::string() : argv[0]), stderr_path_(stderr_path) {
    int pipe_fds[2] = {-1, -1};
    if (out == Stdout::captured && pipe2(pipe_fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
    for (auto& e : extra_env) env.push_back(std::move(e));
    std::vector<char*> c_argv, c_env;
    for (auto& a : argv) c_argv.push_back(a.data());
    c_argv.push_back(nullptr);
    for (auto& e : env) c_env.push_back(e.data());
    c_env.push_back(nullptr);
    const pid_t parent = getpid();

    pid_ = fork();
    if (pid_ == 0) exec_child(c_argv.data(), c_env.data(), parent, pipe_fds[1], stderr_path.c_str());
    if (pipe_fds[1] >= 0) close(pipe_fds[1]);
    if (pid_ < 0) {
        if (pipe_fds[0] >= 0) close(pipe_fds[0]);
        throw std::runtime_error("fork failed");
    }
    stdout_fd_ = pipe_fds[0];
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : program_(std::move(other.program_)),
      stderr_path_(std::move(other.stderr_path_)),
      pid_(other.pid_),
      stdout_fd_(other.stdout_fd_),
      is_reaped_(other.is_reaped_),
      buffer_(std::move(other.buffer_)),
      captured_(std::move(other.captured_)) {
    other.pid_ = -1;
    other.stdout_fd_ = -1;
    other.is_reaped_ = true;
}

ChildProcess::~ChildProcess() {
    kill_and_reap();
    if (stdout_fd_ >= 0) close(stdout_fd_);
}

void ChildProcess::signal(int signal_number) const {
    if (pid_ > 0 && !is_reaped_) ::kill(pid_, signal_number);
}

void ChildProcess::kill_and_reap() {
    if (pid_ <= 0 || is_reaped_) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    note_reaped(status);
}

void ChildProcess::note_reaped(int status) {
    is_reaped_ = true;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != kSanitizerExitCode) return;
    std::fprintf(
        stderr, "corsair-test: %s (pid %d) exited with code %d, a sanitizer report:\n%s\n", program_.c_str(),
        static_cast<int>(pid_), kSanitizerExitCode,
        stderr_path_.empty() ? "(on this process's stderr, above)" : sanitizer_report(stderr_path_, pid_).c_str());
    std::fflush(stderr);
    std::_Exit(kSanitizerExitCode);
}

std::optional<std::string> ChildProcess::read_line(std::chrono::milliseconds timeout) {
    return read_line_until(Clock::now() + scaled(timeout));
}

std::optional<std::string> ChildProcess::read_line_until(Clock::time_point deadline) {
    for (;;) {
        if (const auto end = buffer_.find('\n'); end != std::string::npos) {
            std::string line = buffer_.substr(0, end);
            buffer_.erase(0, end + 1);
            return line;
        }
        if (!fill_buffer(deadline)) {
            if (stdout_fd_ >= 0 || buffer_.empty()) return std::nullopt;
            return std::exchange(buffer_, {});  // end of file: the unterminated rest
        }
    }
}

bool ChildProcess::fill_buffer(Clock::time_point deadline) {
    for (;;) {
        if (stdout_fd_ < 0) return false;
        pollfd item{stdout_fd_, POLLIN, 0};
        const int ready = poll(&item, 1, milliseconds_left(deadline));
        if (ready < 0 && errno == EINTR) continue;
        if (ready <= 0) return false;
        char chunk[4096];
        const ssize_t count = ::read(stdout_fd_, chunk, sizeof chunk);
        if (count < 0 && errno == EINTR) continue;
        if (count <= 0) {
            close(stdout_fd_);
            stdout_fd_ = -1;
            return false;
        }
        buffer_.append(chunk, static_cast<std::size_t>(count));
        captured_.append(chunk, static_cast<std::size_t>(count));
        return true;
    }
}

std::optional<std::string> ChildProcess::wait_for_line(const std::string& needle, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + scaled(timeout);
    for (;;) {
        if (milliseconds_left(deadline) <= 0) return std::nullopt;
        auto line = read_line_until(deadline);
        if (!line) return std::nullopt;
        if (line->find(needle) != std::string::npos) return line;
    }
}

std::optional<int> ChildProcess::wait_exit(std::chrono::milliseconds timeout) {
    if (is_reaped_) return 0;
    const auto deadline = Clock::now() + scaled(timeout);
    // A pidfd becomes readable when the child exits: wait on it rather than re-polling waitpid.
    const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));
    for (;;) {
        int status = 0;
        if (waitpid(pid_, &status, WNOHANG) == pid_) {
            if (pidfd >= 0) close(pidfd);
            note_reaped(status);
            return status;
        }
        const int left = milliseconds_left(deadline);
        if (left <= 0 || pidfd < 0) {
            if (pidfd >= 0) close(pidfd);
            return std::nullopt;
        }
        pollfd item{pidfd, POLLIN, 0};
        poll(&item, 1, left);
    }
}

bool ChildProcess::is_running() {
    if (is_reaped_ || pid_ <= 0) return false;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
        note_reaped(status);
        return false;
    }
    return true;
}

bool process_has_ended(pid_t pid) {
    if (::kill(pid, 0) != 0 && errno == ESRCH) return true;
    // Read with read(2), not a stream: the process may be reaped between
    // kill(0) and the read, and libstdc++'s filebuf then throws (ESRCH).
    const std::string path = "/proc/" + std::to_string(pid) + "/stat";
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return true;
    char buffer[512];
    const ssize_t got = ::read(fd, buffer, sizeof buffer);
    ::close(fd);
    if (got <= 0) return true;
    const std::string_view text(buffer, static_cast<std::size_t>(got));
    const auto paren = text.rfind(')');
    return paren != std::string_view::npos && paren + 2 < text.size() && text[paren + 2] == 'Z';
}

}  // namespace corsair::test
