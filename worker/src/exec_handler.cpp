#include "corsair/worker/exec_handler.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <utility>

extern char** environ;

#include "command_path.hpp"
#include "command_reaper.hpp"
#include "corsair/protocol/duration.hpp"
#include "corsair/worker/not_started.hpp"

namespace corsair::worker {

namespace {

// Poll timeout: how often a running child is checked for a stop request.
constexpr int kStopCheckMilliseconds = static_cast<int>(ExecHandler::kStopCheckInterval.count());
// Raw stderr kept while reading; trimmed to the tail once the child is done.
constexpr std::size_t kStderrBufferBytes = 64 * 1024;
constexpr std::string_view kProgressPrefix = "corsair-progress";
// A longer stderr line is never taken for a progress line, so a partial line stays bounded.
constexpr std::size_t kMaxProgressLineBytes = 4096;

class Fd {
public:
    Fd() = default;
    ~Fd() { reset(); }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    void adopt(int fd) noexcept {
        reset();
        fd_ = fd;
    }
    int get() const noexcept { return fd_; }
    int release() noexcept { return std::exchange(fd_, -1); }
    bool is_open() const noexcept { return fd_ >= 0; }
    void reset() noexcept {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }

private:
    int fd_ = -1;
};

struct Pipe {
    Fd read;
    Fd write;
};

void make_pipe(Pipe& pipe) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe2");
    pipe.read.adopt(fds[0]);
    pipe.write.adopt(fds[1]);
}

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

// Blocks SIGPIPE on this thread while we write to a child that may have exited, and discards
// the SIGPIPE such a write leaves pending, so the process-wide disposition stays untouched.
class SigpipeBlock {
public:
    SigpipeBlock() {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGPIPE);
        ::pthread_sigmask(SIG_BLOCK, &set, &previous_);
    }
    ~SigpipeBlock() {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGPIPE);
        const timespec zero{0, 0};
        while (::sigtimedwait(&set, nullptr, &zero) > 0) {
        }
        ::pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
    }
    SigpipeBlock(const SigpipeBlock&) = delete;
    SigpipeBlock& operator=(const SigpipeBlock&) = delete;

private:
    sigset_t previous_;
};

std::vector<std::string> child_environment(const JobContext& job) {
    std::vector<std::string> env;
    for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
        const std::string_view text(*entry);
        if (text.starts_with("CORSAIR_JOB_ID=") || text.starts_with("CORSAIR_QUEUE=") ||
            text.starts_with("CORSAIR_ATTEMPT=")) {
            continue;
        }
        env.emplace_back(text);
    }
    env.push_back("CORSAIR_JOB_ID=" + job.id);
    env.push_back("CORSAIR_QUEUE=" + job.queue);
    env.push_back("CORSAIR_ATTEMPT=" + std::to_string(job.attempt));
    return env;
}

// The last kStderrTailLines lines of `text`, at most kStderrTailBytes, without trailing newlines.
std::string stderr_tail(std::string_view text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
    std::size_t start = text.size();
    for (std::size_t lines = 0; start > 0; --start) {
        if (text[start - 1] == '\n' && ++lines == ExecHandler::kStderrTailLines) break;
    }
    text.remove_prefix(start);
    if (text.size() > ExecHandler::kStderrTailBytes) text.remove_prefix(text.size() - ExecHandler::kStderrTailBytes);
    return std::string(text);
}

bool is_blank(char c) { return c == ' ' || c == '\t'; }

// "corsair-progress <percent> [message]" (exec_handler.hpp), without its newline.
std::optional<std::pair<std::uint32_t, std::string_view>> parse_progress_line(std::string_view line) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!line.starts_with(kProgressPrefix)) return std::nullopt;
    line.remove_prefix(kProgressPrefix.size());
    if (line.empty() || !is_blank(line.front())) return std::nullopt;
    while (!line.empty() && is_blank(line.front())) line.remove_prefix(1);
    std::size_t digits = 0;
    while (digits < line.size() && line[digits] >= '0' && line[digits] <= '9') ++digits;
    if (digits == 0 || (digits < line.size() && !is_blank(line[digits]))) return std::nullopt;
    std::uint64_t percent = 0;
    const auto [end, error] = std::from_chars(line.data(), line.data() + digits, percent);
    if (error == std::errc::result_out_of_range) percent = 100;  // report_progress() clamps anyway
    line.remove_prefix(digits);
    while (!line.empty() && is_blank(line.front())) line.remove_prefix(1);
    while (!line.empty() && is_blank(line.back())) line.remove_suffix(1);
    return std::pair{static_cast<std::uint32_t>(std::min<std::uint64_t>(percent, 100)), line};
}

// Splits the child's stderr into lines as it arrives: progress lines go to the job as reports,
// everything else is kept (its last kStderrBufferBytes at least) for the error text.
class StderrReader {
public:
    explicit StderrReader(const JobContext& job) : job_(job) {}

    void append(std::string_view chunk) {
        while (!chunk.empty()) {
            const auto newline = chunk.find('\n');
            const bool ends_line = newline != std::string_view::npos;
            const auto piece = chunk.substr(0, newline);
            chunk.remove_prefix(ends_line ? newline + 1 : chunk.size());
            if (is_long_line_) {
                keep(piece);
            } else {
                line_.append(piece);
            }
            if (line_.size() > kMaxProgressLineBytes) {
                keep(line_);
                line_.clear();
                is_long_line_ = true;
            }
            if (ends_line) end_line("\n");
        }
    }

    // The child closed stderr: a last line without a newline still counts.
    void finish() { end_line(""); }

    const std::string& text() const noexcept { return text_; }

private:
    void end_line(std::string_view newline) {
        if (!is_long_line_) {
            if (const auto progress = parse_progress_line(line_)) {
                job_.report_progress(progress->first, progress->second);
                line_.clear();
                return;  // newline and all: not part of the error text
            }
            keep(line_);
            line_.clear();
        }
        keep(newline);
        is_long_line_ = false;
    }

    void keep(std::string_view bytes) {
        text_.append(bytes);
        if (text_.size() > 2 * kStderrBufferBytes) text_.erase(0, text_.size() - kStderrBufferBytes);
    }

    const JobContext& job_;
    std::string line_;           // the line being read, while it may still be a progress line
    bool is_long_line_ = false;  // the line outgrew kMaxProgressLineBytes: plain text up to its end
    std::string text_;
};

std::string describe_status(int status, std::string_view stderr_text) {
    std::string message;
    if (WIFEXITED(status)) {
        message = "exit status " + std::to_string(WEXITSTATUS(status));
    } else if (WIFSIGNALED(status)) {
        // "killed by signal KILL (9)": the name operators know, the number scripts may match.
        const char* name = ::sigabbrev_np(WTERMSIG(status));
        message = "killed by signal " + std::string(name != nullptr ? name : "?") + " (" +
                  std::to_string(WTERMSIG(status)) + ")";
    } else {
        message = "ended with wait status " + std::to_string(status);
    }
    const std::string tail = stderr_tail(stderr_text);
    if (!tail.empty()) message += ": " + tail;
    return message;
}

// Our ends of the child's stdin, stdout and stderr.
struct ChildPipes {
    Fd input;
    Fd output;
    Fd errors;
};

// The command's path, checked now (it may have been removed or made non-executable since the
// worker started): NotStarted when it cannot run.
std::string command_path(const std::string& name) {
    CommandPath found = find_command(name);
    if (!found.is_found()) throw NotStarted(found.problem);
    return std::move(found.path);
}

// Starts `argv` under a CommandReaper with the job's environment, in its own process group, its
// stdio on new pipes whose other ends are returned. Throws NotStarted when it cannot be started.
std::unique_ptr<CommandReaper> start_child(const std::vector<std::string>& argv, const JobContext& job,
                                           ChildPipes& ours) {
    const std::string path = command_path(argv.front());
    Pipe input, output, errors;
    try {
        make_pipe(input);
        make_pipe(output);
        make_pipe(errors);
    } catch (const std::system_error& e) {
        throw NotStarted(std::string("cannot start the command: ") + e.what());
    }
    auto reaper = std::make_unique<CommandReaper>(path, argv, child_environment(job), input.read.get(),
                                                  output.write.get(), errors.write.get());
    ours.input.adopt(input.write.release());
    ours.output.adopt(output.read.release());
    ours.errors.adopt(errors.read.release());
    set_nonblocking(ours.input.get());
    set_nonblocking(ours.output.get());
    set_nonblocking(ours.errors.get());
    return reaper;
}

// One started command, from spawn to reaping, on the calling handler thread. It feeds the
// payload to stdin, collects stdout and splits stderr while polling; it then waits for its reaper
// to exit on a pidfd. A stop request, noticed within kStopCheckInterval, kills the whole process group.
class RunningCommand {
public:
    RunningCommand(const std::vector<std::string>& argv, const JobContext& job, std::size_t max_output_bytes,
                   std::chrono::milliseconds timeout)
        : job_(job), max_output_bytes_(max_output_bytes), stderr_reader_(job) {
        if (timeout.count() > 0) deadline_ = std::chrono::steady_clock::now() + timeout;
        reaper_ = start_child(argv, job, pipes_);
    }

    // Until the child has closed stdout and stderr.
    void exchange_pipes();
    // Blocks until the command and its reaper have exited; returns the reaper's report.
    ReaperReport wait_for_exit();

    std::string& result() noexcept { return result_; }
    const std::string& stderr_text() const noexcept { return stderr_reader_.text(); }
    bool is_output_too_large() const noexcept { return is_output_too_large_; }
    bool was_stopped() const noexcept { return was_stopped_; }
    bool has_timed_out() const noexcept { return has_timed_out_; }

private:
    void kill_group() { reaper_->kill_command(); }
    // A stop request, or the handler's timeout passed: the whole process group goes.
    void kill_if_stop_requested() {
        if (was_stopped_ || has_timed_out_) return;
        if (job_.stop_token.stop_requested()) {
            was_stopped_ = true;
            kill_group();
        } else if (deadline_ && std::chrono::steady_clock::now() >= *deadline_) {
            has_timed_out_ = true;
            kill_group();
        }
    }
    void write_input();
    void read_output();
    void read_errors();

    const JobContext& job_;
    std::size_t max_output_bytes_;
    ChildPipes pipes_;
    std::unique_ptr<CommandReaper> reaper_;
    std::size_t written_ = 0;
    std::string result_;
    StderrReader stderr_reader_;
    bool is_output_too_large_ = false;
    bool was_stopped_ = false;
    std::optional<std::chrono::steady_clock::time_point> deadline_;
    bool has_timed_out_ = false;
    char buffer_[64 * 1024];
};

void RunningCommand::exchange_pipes() {
    if (job_.payload.empty()) pipes_.input.reset();
    while (pipes_.output.is_open() || pipes_.errors.is_open()) {
        pollfd fds[3];
        nfds_t count = 0;
        int out_index = -1, err_index = -1, in_index = -1;
        if (pipes_.output.is_open())
            out_index = static_cast<int>(count), fds[count++] = {pipes_.output.get(), POLLIN, 0};
        if (pipes_.errors.is_open())
            err_index = static_cast<int>(count), fds[count++] = {pipes_.errors.get(), POLLIN, 0};
        if (pipes_.input.is_open()) in_index = static_cast<int>(count), fds[count++] = {pipes_.input.get(), POLLOUT, 0};
        const int ready = ::poll(fds, count, kStopCheckMilliseconds);
        if (ready < 0 && errno != EINTR) break;
        kill_if_stop_requested();
        if (ready <= 0) continue;
        if (in_index >= 0 && fds[in_index].revents != 0) write_input();
        if (out_index >= 0 && fds[out_index].revents != 0) read_output();
        if (err_index >= 0 && fds[err_index].revents != 0) read_errors();
    }
    pipes_.input.reset();
}

void RunningCommand::write_input() {
    const std::string_view payload = job_.payload;
    const ssize_t n = ::write(pipes_.input.get(), payload.data() + written_, payload.size() - written_);
    if (n > 0) written_ += static_cast<std::size_t>(n);
    // EPIPE: the child closed its stdin without reading everything, which is its right.
    if ((n < 0 && errno != EAGAIN && errno != EINTR) || written_ == payload.size()) pipes_.input.reset();
}

void RunningCommand::read_output() {
    const ssize_t n = ::read(pipes_.output.get(), buffer_, sizeof buffer_);
    if (n > 0) {
        if (is_output_too_large_) return;
        result_.append(buffer_, static_cast<std::size_t>(n));
        if (result_.size() > max_output_bytes_) {
            is_output_too_large_ = true;
            result_.clear();
            kill_group();
        }
    } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        pipes_.output.reset();
    }
}

void RunningCommand::read_errors() {
    const ssize_t n = ::read(pipes_.errors.get(), buffer_, sizeof buffer_);
    if (n > 0) {
        stderr_reader_.append(std::string_view(buffer_, static_cast<std::size_t>(n)));
    } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        stderr_reader_.finish();
        pipes_.errors.reset();
    }
}

ReaperReport RunningCommand::wait_for_exit() {
    // The pipes are closed, so the child is most likely exiting; the reaper's pidfd becomes
    // readable when it has, and the poll timeout lets a stop request still count meanwhile.
    for (;;) {
        if (auto report = reaper_->try_finish()) return *report;
        kill_if_stop_requested();
        pollfd exited{reaper_->exit_fd(), POLLIN, 0};
        if (::poll(&exited, 1, kStopCheckMilliseconds) < 0 && errno != EINTR) {
            throw std::runtime_error("poll on pidfd failed: " + std::string(std::strerror(errno)));
        }
    }
}

}  // namespace

ExecHandler::ExecHandler(std::vector<std::string> argv, std::size_t max_output_bytes,
                         std::chrono::milliseconds timeout)
    : argv_(std::move(argv)), max_output_bytes_(max_output_bytes), timeout_(timeout) {
    if (argv_.empty() || argv_.front().empty()) throw std::invalid_argument("ExecHandler needs a command");
}

std::string ExecHandler::operator()(const JobContext& job) const {
    // The broker's limit, unless this handler was given a smaller one.
    const std::size_t max_output_bytes = std::min(max_output_bytes_, job.max_result_bytes);
    RunningCommand command(argv_, job, max_output_bytes, timeout_);
    SigpipeBlock sigpipe_block;
    command.exchange_pipes();
    const ReaperReport report = command.wait_for_exit();
    if (report.start_error != 0) {
        throw NotStarted("cannot start the command '" + argv_.front() + "': " + std::strerror(report.start_error));
    }
    if (!report.wait_status) {
        throw std::runtime_error("the command's reaper was killed; the command was killed with it");
    }
    const int status = *report.wait_status;

    if (command.is_output_too_large()) {
        // Permanent: the same command on the same payload would only overflow again.
        const bool is_broker_limit = max_output_bytes == job.max_result_bytes;
        throw PermanentFailure("output too large: more than " + std::to_string(max_output_bytes) + " bytes on stdout" +
                               (is_broker_limit ? " (the broker's --max-payload)" : "") + "; command killed");
    }
    if (command.was_stopped()) throw std::runtime_error("worker stopping: command killed");
    // Not permanent: the broker retries it while attempts remain, as for any other failure.
    if (command.has_timed_out()) {
        throw std::runtime_error("timed out after " + protocol::format_duration(timeout_) + ": command killed" +
                                 (command.stderr_text().empty() ? "" : ": " + stderr_tail(command.stderr_text())));
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return std::move(command.result());
    if (WIFEXITED(status) && WEXITSTATUS(status) == kPermanentFailureExitCode) {
        throw PermanentFailure(describe_status(status, command.stderr_text()));
    }
    throw std::runtime_error(describe_status(status, command.stderr_text()));
}

}  // namespace corsair::worker
