// The `corsair` command-line tool: flag parsing (CLI11) and the commands it dispatches to.
// Everything runs on the calling thread; main.cpp only builds the context and the streams.
#pragma once

#include <chrono>
#include <cstddef>
#include <iosfwd>
#include <string>

#include <zmq.hpp>

#include "corsair/producer/producer.hpp"

namespace corsair::producer::cli {

// Documented in `corsair --help`.
enum class ExitCode : int {
    ok = 0,
    job_failed = 1,   // a job failed, was refused, or is unknown / not done
    usage = 2,        // bad flags or arguments, or input that breaks a protocol limit
    unreachable = 3,  // the broker did not answer in time
};

inline constexpr const char* kDefaultBroker = "tcp://127.0.0.1:5555";
inline constexpr const char* kBrokerEnvironmentVariable = "CORSAIR_BROKER";

struct CommonOptions {
    std::string broker = kDefaultBroker;
    bool is_json = false;
    // How long a command waits for the broker to say anything before giving up (exit 3).
    std::chrono::milliseconds timeout{10'000};
};

struct SubmitOptions {
    CommonOptions common;
    std::string queue;
    std::string payload;
    std::string file;  // empty: submit `payload`; "-": read stdin
    bool should_wait = false;
    std::size_t window = 1000;
};

struct CliStreams {
    std::ostream& out;
    std::ostream& err;
    std::istream& in;
    bool is_err_terminal = false;  // draw the progress bar
};

// Parses argv and runs the chosen command; returns the process exit code.
int run_cli(zmq::context_t& context, int argc, const char* const* argv, CliStreams& streams);

int run_submit(zmq::context_t& context, const SubmitOptions& options, CliStreams& streams);
int run_submit_file(zmq::context_t& context, const SubmitOptions& options, CliStreams& streams);
int run_status(zmq::context_t& context, const CommonOptions& options, const std::string& id, CliStreams& streams);
int run_result(zmq::context_t& context, const CommonOptions& options, const std::string& id, CliStreams& streams);
int run_stats(zmq::context_t& context, const CommonOptions& options, CliStreams& streams);

// The exit code for a failed Producer call.
ExitCode exit_code_for(const ProducerError& error);
// Producer settings for a command: its broker, and status checks well inside its --timeout.
ProducerOptions producer_options_for(const CommonOptions& options);

}  // namespace corsair::producer::cli
