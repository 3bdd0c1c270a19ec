#include "command_reaper.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstring>

#include "corsair/worker/not_started.hpp"

namespace corsair::worker {

namespace {

// The reaper's "kill the command" signal, from the worker or as its parent-death signal. Not
// SIGTERM: a supervisor may send that to the worker's whole group to make the worker drain.
constexpr int kKillSignal = SIGUSR1;
// Where the reaper and the command find their descriptors once the others are closed.
constexpr int kReportFd = 3;

enum ReportTag : std::int32_t { kStartError = 'E', kWaitStatus = 'S' };
struct ReportRecord {
    std::int32_t tag;
    std::int32_t value;
};

// Async-signal-safe: a short write to a pipe is atomic.
void report(std::int32_t tag, std::int32_t value, int fd = kReportFd) noexcept {
    const ReportRecord record{tag, value};
    [[maybe_unused]] const auto written = ::write(fd, &record, sizeof record);
}

// What the forked processes may use: pointers into memory prepared before the fork.
struct Launch {
    const char* path;
    char* const* argv;
    char* const* env;
    int stdio[3];
    int report;
    pid_t worker;
};

// In the command, after the reaper's fork: never returns.
[[noreturn]] void exec_command(const Launch& launch, pid_t reaper) noexcept {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != reaper) ::_exit(127);  // the reaper is already gone: PDEATHSIG came too early
    ::setpgid(0, 0);
    // Ignored signals stay ignored across exec (the worker ignores SIGPIPE): give the defaults back.
    struct sigaction defaults {};
    defaults.sa_handler = SIG_DFL;
    for (int signal_number : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, kKillSignal}) {
        ::sigaction(signal_number, &defaults, nullptr);
    }
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execve(launch.path, launch.argv, launch.env);
    report(kStartError, errno);
    ::_exit(127);
}

// Moves stdin, stdout, stderr and the report pipe to 0..3 and closes every other descriptor the
// fork copied from the worker (other jobs' pipes among them, whose ends must not be held open).
bool arrange_descriptors(const Launch& launch) noexcept {
    const int wanted[4] = {launch.stdio[0], launch.stdio[1], launch.stdio[2], launch.report};
    int moved[4];
    for (int i = 0; i < 4; ++i) {
        moved[i] = ::fcntl(wanted[i], F_DUPFD, 10);  // clear of 0..3, so no dup2 below clobbers a source
        if (moved[i] < 0) return false;
    }
    for (int i = 0; i < 4; ++i) {
        if (::dup2(moved[i], i) < 0) return false;
    }
    if (::syscall(SYS_close_range, 4u, ~0u, 0u) != 0) {
        for (int fd = 4; fd < 65536; ++fd) ::close(fd);
    }
    ::fcntl(kReportFd, F_SETFD, FD_CLOEXEC);  // the command's exec closes it; a failed exec still has it
    return true;
}

// Waits for the command; kills its group when asked (or when the worker dies), and once it has
// exited. Returns the command's wait status.
int wait_for_command(pid_t command, pid_t worker, const sigset_t& waited) noexcept {
    for (;;) {
        siginfo_t info{};
        const int signal_number = ::sigwaitinfo(&waited, &info);
        if (signal_number == kKillSignal && (info.si_pid == worker || ::getppid() != worker)) {
            ::kill(-command, SIGKILL);
        }
        int status = 0;
        if (::waitpid(command, &status, WNOHANG) == command) {
            ::kill(-command, SIGKILL);  // whatever it left behind in its group ends with it
            return status;
        }
    }
}

// In the reaper, after the worker's fork: never returns.
[[noreturn]] void run_reaper(const Launch& launch) noexcept {
    // Every signal blocked: the reaper reacts only to the two it waits for, from the right sender.
    sigset_t all;
    sigfillset(&all);
    ::sigprocmask(SIG_SETMASK, &all, nullptr);
    ::prctl(PR_SET_PDEATHSIG, kKillSignal);
    if (::getppid() != launch.worker) ::_exit(0);  // the worker died before PDEATHSIG was set
    if (!arrange_descriptors(launch)) {
        // Failing, F_DUPFD has moved nothing yet, so the pipe's own descriptor is still the pipe.
        report(kStartError, errno, launch.report);
        ::_exit(0);
    }
    const pid_t self = ::getpid();
    const pid_t command = ::fork();  // single-threaded here: fork is safe
    if (command < 0) {
        report(kStartError, errno);
        ::_exit(0);
    }
    if (command == 0) exec_command(launch, self);
    ::setpgid(command, command);  // as the command does: whichever runs first, the group exists
    for (int fd = 0; fd < 3; ++fd) ::close(fd);  // the worker must see EOF when the command closes them
    sigset_t waited;
    sigemptyset(&waited);
    sigaddset(&waited, SIGCHLD);
    sigaddset(&waited, kKillSignal);
    report(kWaitStatus, wait_for_command(command, launch.worker, waited));
    ::_exit(0);
}

std::vector<char*> c_strings(const std::vector<std::string>& strings) {
    std::vector<char*> pointers;
    pointers.reserve(strings.size() + 1);
    for (const auto& s : strings) pointers.push_back(const_cast<char*>(s.c_str()));
    pointers.push_back(nullptr);
    return pointers;
}

[[noreturn]] void throw_not_started(const char* what, int error) {
    throw NotStarted(std::string("cannot start the command: ") + what + ": " + std::strerror(error));
}

}  // namespace

CommandReaper::CommandReaper(const std::string& path, const std::vector<std::string>& argv,
                             const std::vector<std::string>& env, int stdin_fd, int stdout_fd, int stderr_fd) {
    int report_pipe[2];
    if (::pipe2(report_pipe, O_CLOEXEC) != 0) throw_not_started("pipe", errno);
    const auto arguments = c_strings(argv);
    const auto environment = c_strings(env);
    const Launch launch{path.c_str(), arguments.data(), environment.data(), {stdin_fd, stdout_fd, stderr_fd},
                        report_pipe[1], ::getpid()};
    // The kill signal stays blocked from the fork on, so that a kill_command() arriving before the
    // reaper has set up its own mask waits for it instead of killing it by default.
    sigset_t kill_signal, previous;
    sigemptyset(&kill_signal);
    sigaddset(&kill_signal, kKillSignal);
    ::pthread_sigmask(SIG_BLOCK, &kill_signal, &previous);
    const pid_t pid = ::fork();
    if (pid == 0) run_reaper(launch);
    const int fork_error = errno;
    ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    ::close(report_pipe[1]);
    if (pid < 0) {
        ::close(report_pipe[0]);
        throw_not_started("fork", fork_error);
    }
    pid_ = pid;
    report_fd_ = report_pipe[0];
    // Opened before anything can reap the reaper, so the pid still names it.
    pidfd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
    if (pidfd_ < 0) {
        const int error = errno;
        kill_command();
        ::waitpid(pid_, nullptr, 0);
        is_reaped_ = true;
        throw_not_started("pidfd_open", error);
    }
}

CommandReaper::~CommandReaper() {
    if (!is_reaped_) {
        kill_command();
        ::waitpid(pid_, nullptr, 0);
    }
    if (pidfd_ >= 0) ::close(pidfd_);
    if (report_fd_ >= 0) ::close(report_fd_);
}

void CommandReaper::kill_command() const noexcept {
    // The reaper is our child and not reaped yet, so its pid cannot name another process.
    if (!is_reaped_) ::kill(pid_, kKillSignal);
}

std::optional<ReaperReport> CommandReaper::try_finish() {
    if (is_reaped_) return std::nullopt;
    int status = 0;
    const pid_t waited = ::waitpid(pid_, &status, WNOHANG);
    if (waited != pid_) return std::nullopt;
    is_reaped_ = true;
    // Every writer is gone (the reaper exited; the command closed its copy at exec or exit), so
    // these reads cannot block.
    ReaperReport result;
    ReportRecord record{};
    while (::read(report_fd_, &record, sizeof record) == static_cast<ssize_t>(sizeof record)) {
        if (record.tag == kStartError) result.start_error = record.value;
        if (record.tag == kWaitStatus) result.wait_status = record.value;
    }
    return result;
}

}  // namespace corsair::worker
