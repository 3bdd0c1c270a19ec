// The `corsair` command-line tool: flag parsing (CLI11) and the commands it dispatches to.
// Everything runs on the calling thread; main.cpp only builds the context and the streams.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>

#include <zmq.hpp>

#include "cli_diagnostics.hpp"
#include "corsair/options/endpoint.hpp"
#include "corsair/options/exit_code.hpp"
#include "corsair/producer/producer.hpp"

namespace corsair::producer::cli {

// The table shared by all three programs (docs/cli.md §Exit codes, `corsair --help`).
using ExitCode = options::ExitCode;

inline constexpr const char* kDefaultBroker = "tcp://127.0.0.1:5555";
inline constexpr const char* kBrokerEnvironmentVariable = options::kProducerEndpointVariable;

struct CommonOptions {
    std::string broker = kDefaultBroker;
    bool is_json = false;
    // --wait-timeout: how long a command waits for the broker to say anything before giving up (exit 3).
    std::chrono::milliseconds wait_timeout{10'000};
    // --curve-server-key and --curve-key (docs/security.md): both or neither.
    std::string curve_server_key_file;
    std::string curve_key_file;
};

// How `submit --file` reads its jobs.
enum class FileFormat {
    lines,   // one payload per line; the newline is not part of it; blank lines are skipped
    ndjson,  // one JSON object per line: {"payload": text} or {"payload_base64": base64}
};

struct SubmitOptions {
    CommonOptions common;
    std::string queue;
    std::string payload;       // PAYLOAD; "-" (or --payload-file -) reads it whole from stdin
    std::string payload_file;  // --payload-file FILE: one job, the file's bytes as they are
    std::string file;          // --file FILE: one job per line ("-": stdin)
    FileFormat file_format = FileFormat::lines;
    bool should_wait = false;
    std::size_t window = 1000;
    std::uint32_t submit_batch = 64;  // jobs per SUBMITS (docs/protocol.md §5.33); 1 = one SUBMIT each
    JobOptions job;  // --priority, --timeout, --at, ...: applied to every job
};

// What a command reads and writes, and the wall clock (for --at; tests inject a fixed one).
struct CliStreams {
    std::ostream& out;
    std::ostream& err;
    std::istream& in;
    bool is_err_terminal = false;  // draw the progress bar
    std::function<std::chrono::system_clock::time_point()> now = [] { return std::chrono::system_clock::now(); };
    bool is_out_terminal = false;  // end a printed result with a newline
    // What is said on stderr, filtered by --log-level and shaped by --log-format: always through
    // `log`, never `err` directly (only the progress bar draws on `err` itself).
    Diagnostics log{err};
};

// The `corsair` command line, built once and run for any number of argvs. Building its ~20
// commands costs far more than parsing one argv (fuzz_command_line parses millions).
class CliApp {
public:
    CliApp();
    ~CliApp();
    CliApp(const CliApp&) = delete;
    CliApp& operator=(const CliApp&) = delete;

    // Parses argv and runs the chosen command; returns the process exit code. Nothing an
    // earlier run parsed carries over.
    int run(zmq::context_t& context, int argc, const char* const* argv, CliStreams& streams);

private:
    struct Commands;
    std::unique_ptr<Commands> commands_;
};

// Parses argv and runs the chosen command with a CliApp of its own; returns the process exit code.
int run_cli(zmq::context_t& context, int argc, const char* const* argv, CliStreams& streams);

int run_submit(zmq::context_t& context, const SubmitOptions& options, CliStreams& streams);
int run_submit_file(zmq::context_t& context, const SubmitOptions& options, CliStreams& streams);
int run_status(zmq::context_t& context, const CommonOptions& options, const std::string& id, CliStreams& streams);
// `output_path` non-empty: the result's bytes go to that file instead of stdout.
int run_result(zmq::context_t& context, const CommonOptions& options, const std::string& id,
               const std::string& output_path, CliStreams& streams);
int run_stats(zmq::context_t& context, const CommonOptions& options, CliStreams& streams);
int run_cancel(zmq::context_t& context, const CommonOptions& options, const std::string& id, CliStreams& streams);
// `target` is a job id, or with `is_whole_queue` a queue whose dead set is retried.
int run_retry(zmq::context_t& context, const CommonOptions& options, const std::string& target, bool is_whole_queue,
              CliStreams& streams);
// An empty `id` purges the queue's whole dead set.
int run_purge(zmq::context_t& context, const CommonOptions& options, const std::string& queue, const std::string& id,
              CliStreams& streams);
int run_dead(zmq::context_t& context, const CommonOptions& options, const std::string& queue, std::uint32_t limit,
             CliStreams& streams);
int run_pause(zmq::context_t& context, const CommonOptions& options, const std::string& queue, bool should_pause,
              CliStreams& streams);
int run_queue(zmq::context_t& context, const CommonOptions& options, const protocol::QueueSettings& settings,
              CliStreams& streams);

// The exit code for a failed Producer call.
ExitCode exit_code_for(const ProducerError& error);
// Reports a failed Producer call (as {"error":{...}} on stdout with --json, else on stderr),
// naming the broker for a timeout and the endpoint to use for wrong_endpoint; `id` is the job
// the request named, if any. Returns the exit code.
int report_error(const ProducerError& error, const CommonOptions& options, const std::string& id,
                 CliStreams& streams);
// Prints a usage error (JSON with --json) and returns 2.
int report_usage(const CommonOptions& options, const std::string& command, const std::string& message,
                 CliStreams& streams);
// Producer settings for a command: its broker, and status checks well inside its --wait-timeout.
ProducerOptions producer_options_for(const CommonOptions& options);

}  // namespace corsair::producer::cli
