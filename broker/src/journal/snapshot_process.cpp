#include "snapshot_process.hpp"

#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <utility>

namespace corsair::broker {

namespace {

int open_pidfd(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

// Closes every descriptor from `first` up to (not including) `end`; `end` 0 means "all above".
void close_from(unsigned first, unsigned end) {
    if (end != 0 && first >= end) return;
    ::syscall(SYS_close_range, first, end == 0 ? ~0U : end - 1, 0);
}

[[noreturn]] void run_child(pid_t parent, JournalFile& file, const SnapshotProcess::Writer& write) {
    // Die with the broker: an orphan could keep writing a compaction file a restarted broker
    // has already cleared. The parent may have died before the prctl took effect.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(ESRCH);
    // Inherited listening sockets would keep a restarted broker from binding its ports, and the
    // data directory's lock descriptor would keep it from locking the directory.
    const auto keep = static_cast<unsigned>(file.descriptor());
    close_from(3, keep);
    close_from(keep + 1, 0);
    int error = 0;
    try {
        error = write(file);
    } catch (...) {
        error = ENOMEM;  // encoding allocates; nothing else throws
    }
    if (error == 0) error = file.sync_data();
    // _exit: no destructors, no atexit handlers, no flushing of the parent's stdio buffers.
    ::_exit(error > 0 && error < 256 ? error : (error == 0 ? 0 : 1));
}

}  // namespace

std::optional<SnapshotProcess> SnapshotProcess::start(JournalFile& file, const Writer& write, std::string& error) {
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) {
        error = std::string("fork: ") + std::strerror(errno);
        return std::nullopt;
    }
    if (pid == 0) run_child(parent, file, write);
    const int pidfd = open_pidfd(pid);
    if (pidfd < 0) {
        error = std::string("pidfd_open: ") + std::strerror(errno);
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
        return std::nullopt;
    }
    return SnapshotProcess(pid, pidfd);
}

SnapshotProcess::SnapshotProcess(SnapshotProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), pidfd_(std::exchange(other.pidfd_, -1)) {}

SnapshotProcess& SnapshotProcess::operator=(SnapshotProcess&& other) noexcept {
    if (this != &other) {
        stop();
        pid_ = std::exchange(other.pid_, -1);
        pidfd_ = std::exchange(other.pidfd_, -1);
    }
    return *this;
}

SnapshotProcess::~SnapshotProcess() { stop(); }

std::string SnapshotProcess::reap() {
    if (pid_ < 0) return "not running";
    int status = 0;
    pid_t reaped = -1;
    do {
        reaped = ::waitpid(pid_, &status, 0);
    } while (reaped < 0 && errno == EINTR);
    const int wait_error = errno;
    pid_ = -1;
    ::close(std::exchange(pidfd_, -1));
    if (reaped < 0) return std::string("waitpid: ") + std::strerror(wait_error);
    if (WIFEXITED(status)) {
        const int code = WEXITSTATUS(status);
        if (code == 0) return {};
        return "exit " + std::to_string(code) + ": " + std::strerror(code);
    }
    if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
    return "ended with status " + std::to_string(status);
}

void SnapshotProcess::stop() noexcept {
    if (pid_ < 0) return;
    ::kill(pid_, SIGKILL);
    try {
        reap();
    } catch (...) {
    }
}

}  // namespace corsair::broker
