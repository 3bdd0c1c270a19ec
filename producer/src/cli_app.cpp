#include "cli_app.hpp"

#include <algorithm>
#include <ostream>

#include <CLI/CLI.hpp>

#include "corsair/protocol/duration.hpp"

namespace corsair::producer::cli {

namespace {

constexpr const char* kFooter = R"(Environment:
  CORSAIR_BROKER   broker endpoint used when --broker is not given (default tcp://127.0.0.1:5555)

Durations: a number and a unit (us, ms, s, m, h), e.g. 250ms, 1.5s, 2m, 1m30s.

Exit codes:
  0  success
  1  a job failed, was refused by the broker, is unknown, or is not done yet
  2  usage error (bad flags or arguments, a payload or queue name over the protocol limits)
  3  the broker did not answer before --timeout (not running, or unreachable))";

// A flag value check() has already validated, in whole milliseconds.
std::chrono::milliseconds milliseconds_of(const std::string& text) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(*protocol::parse_duration(text));
}

const CLI::Validator kDurationValidator(
    [](std::string& text) -> std::string {
        if (!protocol::parse_duration(text)) return "not a duration: '" + text + "' (use e.g. 250ms, 1s, 2m)";
        return {};
    },
    "DURATION", "duration");

// --broker, --json and --timeout on every command, so each command's --help lists them.
void add_common_options(CLI::App* command, CommonOptions& options, std::string& timeout_text,
                        const std::string& timeout_help) {
    command->add_option("--broker,-b", options.broker, "Broker endpoint for producers, e.g. tcp://host:5555")
        ->envname(kBrokerEnvironmentVariable)
        ->capture_default_str();
    command->add_flag("--json", options.is_json, "Print one JSON object per line instead of text");
    command->add_option("--timeout,-t", timeout_text, timeout_help)
        ->check(kDurationValidator)
        ->capture_default_str();
}

}  // namespace

ExitCode exit_code_for(const ProducerError& error) {
    switch (error.kind()) {
        case ProducerError::Kind::timeout: return ExitCode::unreachable;
        case ProducerError::Kind::invalid: return ExitCode::usage;
        case ProducerError::Kind::refused: break;
    }
    if (error.code() == protocol::ErrorCode::shutting_down) return ExitCode::unreachable;
    return ExitCode::job_failed;
}

ProducerOptions producer_options_for(const CommonOptions& options) {
    using std::chrono::milliseconds;
    ProducerOptions producer;
    producer.broker_endpoint = options.broker;
    // A quiet broker is asked about awaited jobs a few times per --timeout, so a live broker
    // always answers before the command would give up on it.
    producer.check_after = std::clamp(options.timeout / 3, milliseconds(50), milliseconds(2000));
    producer.resend_after = std::clamp(options.timeout / 3, milliseconds(100), milliseconds(3000));
    producer.window_wait_limit = options.timeout;
    return producer;
}

int run_cli(zmq::context_t& context, int argc, const char* const* argv, CliStreams& streams) {
    CLI::App app{
        "corsair: submit jobs to a Corsair broker and inspect its jobs, queues and workers.\n"
        "Run `corsair COMMAND --help` for the flags of each command."};
    app.name("corsair");
    app.require_subcommand(1);
    app.footer(kFooter);

    SubmitOptions submit;
    std::string submit_timeout = "10s";
    auto* submit_command = app.add_subcommand(
        "submit",
        "Submit a job (QUEUE PAYLOAD) or one job per line of a file (QUEUE --file FILE).\n"
        "Single job: prints its id; with --wait prints the result bytes to stdout as they are, or the\n"
        "error to stderr with exit code 1 if the job failed.\n"
        "--file: jobs are pipelined (at most --window awaiting acceptance). A progress bar is drawn\n"
        "on stderr when it is a terminal, then a summary line. Ids are not printed in text mode (a\n"
        "million of them is noise); with --json one object per job is printed: {\"id\"} once accepted,\n"
        "or with --wait {\"id\",\"state\",\"attempt\",\"result\"|\"error\"} once it ended. Exit code 1 if any\n"
        "job was refused or (with --wait) failed.");
    submit_command->add_option("QUEUE", submit.queue, "Queue to submit to")->required();
    auto* payload_option = submit_command->add_option("PAYLOAD", submit.payload, "The job's payload (bytes)");
    submit_command
        ->add_option("--file,-f", submit.file,
                     "Submit one job per line of FILE ('-' reads stdin); the newline is not part of the "
                     "payload and blank lines are skipped")
        ->excludes(payload_option);
    submit_command->add_flag("--wait,-w", submit.should_wait,
                             "Wait for the job(s) to end and report the result(s)");
    submit_command->add_option("--window", submit.window, "With --file: max jobs awaiting acceptance")
        ->check(CLI::Range(1, 1'000'000))
        ->capture_default_str();
    add_common_options(submit_command, submit.common, submit_timeout,
                       "Give up (exit 3) when the broker has not answered for this long; with --wait a live "
                       "broker answers periodic status checks, so long jobs are fine");

    CommonOptions status;
    std::string status_timeout = "10s";
    std::string status_id;
    auto* status_command = app.add_subcommand(
        "status", "Show a job's state, queue, attempt, worker and error. Exit code 1 if the job is unknown.");
    status_command->add_option("JOB_ID", status_id, "The job's id (as printed by submit)")->required();
    add_common_options(status_command, status, status_timeout, "How long to wait for the broker's answer");

    CommonOptions result;
    std::string result_timeout = "10s";
    std::string result_id;
    auto* result_command = app.add_subcommand(
        "result",
        "Print a finished job's result bytes to stdout. Exit code 1 with a message on stderr if the job\n"
        "failed, is not done yet, or is unknown (the broker keeps results for 24 h).");
    result_command->add_option("JOB_ID", result_id, "The job's id (as printed by submit)")->required();
    add_common_options(result_command, result, result_timeout, "How long to wait for the broker's answer");

    CommonOptions stats;
    std::string stats_timeout = "10s";
    auto* stats_command = app.add_subcommand(
        "stats",
        "Show queues (pending, in flight, done, failed), workers (name, queues, capacity, in flight,\n"
        "last heartbeat) and the broker's counters.");
    add_common_options(stats_command, stats, stats_timeout, "How long to wait for the broker's answer");

    try {
        app.parse(argc, argv);
        if (*submit_command && submit.file.empty() && payload_option->count() == 0) {
            throw CLI::ValidationError("submit", "give PAYLOAD or --file FILE");
        }
    } catch (const CLI::ParseError& e) {
        const int code = app.exit(e, streams.out, streams.err);
        return code == 0 ? static_cast<int>(ExitCode::ok) : static_cast<int>(ExitCode::usage);
    }

    try {
        if (*submit_command) {
            submit.common.timeout = milliseconds_of(submit_timeout);
            return submit.file.empty() ? run_submit(context, submit, streams)
                                       : run_submit_file(context, submit, streams);
        }
        if (*status_command) {
            status.timeout = milliseconds_of(status_timeout);
            return run_status(context, status, status_id, streams);
        }
        if (*result_command) {
            result.timeout = milliseconds_of(result_timeout);
            return run_result(context, result, result_id, streams);
        }
        stats.timeout = milliseconds_of(stats_timeout);
        return run_stats(context, stats, streams);
    } catch (const ProducerError& e) {
        streams.err << "corsair: " << e.what() << '\n';
        return static_cast<int>(exit_code_for(e));
    }
}

}  // namespace corsair::producer::cli
