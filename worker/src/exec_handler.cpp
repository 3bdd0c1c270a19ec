#include "corsair/worker/exec_handler.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>

extern char** environ;

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

std::vector<char*> c_strings(std::vector<std::string>& strings) {
    std::vector<char*> pointers;
    pointers.reserve(strings.size() + 1);
    for (auto& s : strings) pointers.push_back(s.data());
    pointers.push_back(nullptr);
    return pointers;
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
        message = "killed by signal " + std::to_string(WTERMSIG(status));
        const char* name = ::sigabbrev_np(WTERMSIG(status));
        if (name != nullptr) message += std::string(" (SIG") + name + ")";
    } else {
        message = "ended with wait status " + std::to_string(status);
    }
    const std::string tail = stderr_tail(stderr_text);
    if (!tail.empty()) message += ": " + tail;
    return message;
}

class SpawnSetup {
public:
    SpawnSetup() {
        ::posix_spawn_file_actions_init(&actions_);
        ::posix_spawnattr_init(&attributes_);
    }
    ~SpawnSetup() {
        ::posix_spawn_file_actions_destroy(&actions_);
        ::posix_spawnattr_destroy(&attributes_);
    }
    SpawnSetup(const SpawnSetup&) = delete;
    SpawnSetup& operator=(const SpawnSetup&) = delete;
    posix_spawn_file_actions_t actions_;
    posix_spawnattr_t attributes_;
};

}  // namespace

ExecHandler::ExecHandler(std::vector<std::string> argv, std::size_t max_output_bytes)
    : argv_(std::move(argv)), max_output_bytes_(max_output_bytes) {
    if (argv_.empty() || argv_.front().empty()) throw std::invalid_argument("ExecHandler needs a command");
}

std::string ExecHandler::operator()(const JobContext& job) const {
    Pipe input, output, errors;
    make_pipe(input);
    make_pipe(output);
    make_pipe(errors);

    SpawnSetup setup;
    ::posix_spawn_file_actions_adddup2(&setup.actions_, input.read.get(), STDIN_FILENO);
    ::posix_spawn_file_actions_adddup2(&setup.actions_, output.write.get(), STDOUT_FILENO);
    ::posix_spawn_file_actions_adddup2(&setup.actions_, errors.write.get(), STDERR_FILENO);
    // Own process group, so that a timeout or a stop can kill the command and all its children.
    // Signal mask and dispositions are reset: the worker blocks SIGINT/SIGTERM and ignores SIGPIPE.
    sigset_t empty, defaults;
    sigemptyset(&empty);
    sigemptyset(&defaults);
    for (int signal_number : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT}) sigaddset(&defaults, signal_number);
    ::posix_spawnattr_setflags(&setup.attributes_,
                               POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    ::posix_spawnattr_setpgroup(&setup.attributes_, 0);
    ::posix_spawnattr_setsigmask(&setup.attributes_, &empty);
    ::posix_spawnattr_setsigdefault(&setup.attributes_, &defaults);

    std::vector<std::string> args = argv_;
    std::vector<std::string> env = child_environment(job);
    auto arg_pointers = c_strings(args);
    auto env_pointers = c_strings(env);
    pid_t pid = -1;
    const int spawn_error = ::posix_spawnp(&pid, argv_.front().c_str(), &setup.actions_, &setup.attributes_,
                                           arg_pointers.data(), env_pointers.data());
    if (spawn_error == ENOENT) throw std::runtime_error("command not found: " + argv_.front());
    if (spawn_error == EACCES) throw std::runtime_error("permission denied: " + argv_.front());
    if (spawn_error != 0) {
        throw std::runtime_error("cannot start " + argv_.front() + ": " + std::strerror(spawn_error));
    }
    input.read.reset();
    output.write.reset();
    errors.write.reset();
    set_nonblocking(input.write.get());
    set_nonblocking(output.read.get());
    set_nonblocking(errors.read.get());

    SigpipeBlock sigpipe_block;
    std::string result;
    StderrReader stderr_reader(job);
    std::size_t written = 0;
    const std::string_view payload = job.payload;
    if (payload.empty()) input.write.reset();
    bool is_output_too_large = false;
    bool was_stopped = false;
    char buffer[64 * 1024];

    auto kill_group = [pid] { ::kill(-pid, SIGKILL); };

    while (output.read.is_open() || errors.read.is_open()) {
        pollfd fds[3];
        nfds_t count = 0;
        int out_index = -1, err_index = -1, in_index = -1;
        if (output.read.is_open()) out_index = static_cast<int>(count), fds[count++] = {output.read.get(), POLLIN, 0};
        if (errors.read.is_open()) err_index = static_cast<int>(count), fds[count++] = {errors.read.get(), POLLIN, 0};
        if (input.write.is_open()) in_index = static_cast<int>(count), fds[count++] = {input.write.get(), POLLOUT, 0};
        const int ready = ::poll(fds, count, kStopCheckMilliseconds);
        if (ready < 0 && errno != EINTR) break;
        if (!was_stopped && job.stop_token.stop_requested()) {
            was_stopped = true;
            kill_group();
        }
        if (ready <= 0) continue;

        if (in_index >= 0 && fds[in_index].revents != 0) {
            const ssize_t n = ::write(input.write.get(), payload.data() + written, payload.size() - written);
            if (n > 0) written += static_cast<std::size_t>(n);
            // EPIPE: the child closed its stdin without reading everything, which is its right.
            if ((n < 0 && errno != EAGAIN && errno != EINTR) || written == payload.size()) input.write.reset();
        }
        if (out_index >= 0 && fds[out_index].revents != 0) {
            const ssize_t n = ::read(output.read.get(), buffer, sizeof buffer);
            if (n > 0) {
                if (!is_output_too_large) {
                    result.append(buffer, static_cast<std::size_t>(n));
                    if (result.size() > max_output_bytes_) {
                        is_output_too_large = true;
                        result.clear();
                        kill_group();
                    }
                }
            } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
                output.read.reset();
            }
        }
        if (err_index >= 0 && fds[err_index].revents != 0) {
            const ssize_t n = ::read(errors.read.get(), buffer, sizeof buffer);
            if (n > 0) {
                stderr_reader.append(std::string_view(buffer, static_cast<std::size_t>(n)));
            } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
                stderr_reader.finish();
                errors.read.reset();
            }
        }
    }
    input.write.reset();

    // Both pipes are closed, so the child is exiting; poll for it so a stop request still counts.
    int status = 0;
    for (auto pause = std::chrono::milliseconds(1);;) {
        const pid_t waited = ::waitpid(pid, &status, WNOHANG);
        if (waited == pid) break;
        if (waited < 0 && errno != EINTR)
            throw std::runtime_error("waitpid failed: " + std::string(std::strerror(errno)));
        if (!was_stopped && job.stop_token.stop_requested()) {
            was_stopped = true;
            kill_group();
        }
        std::this_thread::sleep_for(pause);
        pause = std::min(pause * 2, std::chrono::milliseconds(kStopCheckMilliseconds));
    }

    if (is_output_too_large) {
        throw std::runtime_error("output too large: more than " + std::to_string(max_output_bytes_) +
                                 " bytes on stdout; command killed");
    }
    if (was_stopped) throw std::runtime_error("worker stopping: command killed");
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return result;
    if (WIFEXITED(status) && WEXITSTATUS(status) == kPermanentFailureExitCode) {
        throw PermanentFailure(describe_status(status, stderr_reader.text()));
    }
    throw std::runtime_error(describe_status(status, stderr_reader.text()));
}

}  // namespace corsair::worker
