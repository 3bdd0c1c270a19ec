#include "child_process.hpp"

#include <cerrno>
#include <csignal>
#include <stdexcept>

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace corsair::bench {

namespace {

using Clock = std::chrono::steady_clock;

int milliseconds_left(Clock::time_point deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    return left <= 0 ? 0 : static_cast<int>(left);
}

}  // namespace

ChildProcess::ChildProcess(std::vector<std::string> argv, bool captures_stdout, const std::string& stderr_path) {
    int pipe_fds[2] = {-1, -1};
    if (captures_stdout && pipe2(pipe_fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    std::vector<char*> c_argv;
    for (auto& arg : argv) c_argv.push_back(arg.data());
    c_argv.push_back(nullptr);
    const pid_t parent = getpid();

    pid_ = fork();
    if (pid_ < 0) {
        if (captures_stdout) close(pipe_fds[0]), close(pipe_fds[1]);
        throw std::runtime_error("fork failed");
    }
    if (pid_ == 0) {
        // A bench killed by a timeout must not leave brokers and workers behind.
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(127);
        const int null_fd = open("/dev/null", O_RDWR);
        dup2(null_fd, STDIN_FILENO);
        dup2(captures_stdout ? pipe_fds[1] : null_fd, STDOUT_FILENO);
        const int err_fd = stderr_path.empty() ? null_fd : open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        dup2(err_fd >= 0 ? err_fd : null_fd, STDERR_FILENO);
        execv(c_argv[0], c_argv.data());
        _exit(127);
    }
    if (captures_stdout) {
        close(pipe_fds[1]);
        stdout_fd_ = pipe_fds[0];
    }
}

ChildProcess::~ChildProcess() {
    kill_and_reap();
    if (stdout_fd_ >= 0) close(stdout_fd_);
}

std::optional<std::string> ChildProcess::read_line(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        if (const auto end = buffer_.find('\n'); end != std::string::npos) {
            std::string line = buffer_.substr(0, end);
            buffer_.erase(0, end + 1);
            return line;
        }
        if (stdout_fd_ < 0) return std::nullopt;
        pollfd item{stdout_fd_, POLLIN, 0};
        const int ready = poll(&item, 1, milliseconds_left(deadline));
        if (ready < 0 && errno == EINTR) continue;
        if (ready <= 0) return std::nullopt;
        char chunk[4096];
        const ssize_t count = ::read(stdout_fd_, chunk, sizeof chunk);
        if (count < 0 && errno == EINTR) continue;
        if (count <= 0) {
            close(stdout_fd_);
            stdout_fd_ = -1;
            continue;
        }
        buffer_.append(chunk, static_cast<std::size_t>(count));
    }
}

void ChildProcess::kill_and_reap() {
    if (pid_ <= 0 || is_reaped_) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    is_reaped_ = true;
}

}  // namespace corsair::bench
