#include "cli_app.hpp"

#include <algorithm>
#include <list>
#include <ostream>

#include <CLI/CLI.hpp>

#include "cli_flags.hpp"
#include "cli_inspect.hpp"
#include "corsair/protocol/duration.hpp"

namespace corsair::producer::cli {

namespace {

constexpr const char* kFooter = R"(Environment:
  CORSAIR_BROKER   broker endpoint used when --broker is not given (default tcp://127.0.0.1:5555)

Durations: a number and a unit (us, ms, s, m, h), e.g. 250ms, 1.5s, 2m, 1m30s.

Exit codes:
  0  success
  1  a job failed or was cancelled, the broker refused the request, or the job is unknown or not done yet
  2  usage error (bad flags or arguments, a payload or queue name over the protocol limits); nothing was sent
  3  the broker did not answer within --wait-timeout (not running, or unreachable))";

constexpr const char* kSubmitDetails =
    R"(Submit a job (QUEUE PAYLOAD) or one job per line of a file (QUEUE --file FILE).

Single job: prints its id (with --unique matching a live job: that job's id); with --wait prints
the result bytes to stdout as they are, progress reports as lines on stderr, and the error to
stderr with exit code 1 if the job failed or was cancelled.
--file: jobs are pipelined (at most --window awaiting acceptance). A progress bar is drawn on
stderr when it is a terminal, then a summary line. Ids are not printed in text mode (a million of
them is noise); with --json one object per job is printed: {"id"} once accepted, or with --wait
{"id","state","attempt","result"|"error"} once it ended, and {"id","state":"running","progress",
"message"} for each progress report, and {"id","state":"refused","error"} for a job the broker
refused (also for a single job). Exit code 1 if any job was refused, failed or was cancelled.
The job flags (--priority ... --jitter) apply to every job.)";

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

// One subcommand's --broker, --json and --wait-timeout (text until parsed).
struct Common {
    CommonOptions options;
    std::string wait_timeout = "10s";
};

CLI::App* add_command(CLI::App& app, const char* name, const std::string& summary, const std::string& details = {}) {
    auto* command = app.add_subcommand(name, summary);
    command->footer((details.empty() ? summary : details) + "\n\n" + kFooter);
    return command;
}

// --broker, --json and --wait-timeout on every command, so each command's --help lists them.
void add_common_options(CLI::App* command, Common& common,
                        const std::string& wait_help = "How long to wait for the broker's answer before giving up "
                                                       "(exit 3)") {
    command->add_option("--broker,-b", common.options.broker, "Broker endpoint for producers, e.g. tcp://host:5555")
        ->envname(kBrokerEnvironmentVariable)
        ->capture_default_str();
    command->add_flag("--json", common.options.is_json, "Print one JSON object per line instead of text");
    command->add_option("--wait-timeout", common.wait_timeout, wait_help)
        ->check(kDurationValidator)
        ->capture_default_str();
}

// A flag kept as typed, so that cli_flags.cpp can check it and name it in its error.
void add_text_flag(CLI::App* command, const std::string& name, std::optional<std::string>& target,
                   const std::string& type, const std::string& help) {
    command->add_option_function<std::string>(name, [&target](const std::string& text) { target = text; }, help)
        ->type_name(type);
}

void add_job_flags(CLI::App* command, JobFlags& flags) {
    add_text_flag(command, "--priority", flags.priority, "N",
                  "Priority from -1000 to 1000 (default 0); higher runs first");
    add_text_flag(command, "--max-attempts", flags.max_attempts, "N",
                  "Attempts before the job is dead, 1 to 100 (default: the queue's, 3)");
    add_text_flag(command, "--timeout", flags.timeout, "DURATION",
                  "Longest one attempt may run, up to 168h; 0 = none (default: the queue's)");
    add_text_flag(command, "--delay", flags.delay, "DURATION",
                  "Run no sooner than this after acceptance (up to 8760h)");
    add_text_flag(command, "--at", flags.at, "TIME",
                  "Run no sooner than TIME: RFC 3339 (2026-11-23T16:00:00Z, 2026-11-23T17:00:00+01:00) or "
                  "@UNIX_SECONDS; not with --delay");
    add_text_flag(command, "--unique", flags.unique_key, "KEY",
                  "While a job with this key is pending, delayed or running in the queue, submit nothing new "
                  "and stand for that job");
    add_text_flag(command, "--backoff", flags.backoff, "DURATION",
                  "Wait before the first retry, doubled for each later one (default: the queue's, 1s)");
    add_text_flag(command, "--backoff-max", flags.backoff_max, "DURATION",
                  "Longest wait between retries (default: the queue's, 10m)");
    add_text_flag(command, "--jitter", flags.jitter, "PCT",
                  "Vary each retry's wait by up to +/- PCT percent, 0 to 100 (default: the queue's, 20)");
}

void add_queue_flags(CLI::App* command, QueueFlags& flags) {
    add_text_flag(command, "--max-length", flags.max_length, "N",
                  "Most jobs pending or delayed; a SUBMIT beyond is refused (queue_full); 0 = unlimited");
    add_text_flag(command, "--max-attempts", flags.max_attempts, "N", "Attempts before a job is dead, 1 to 100");
    add_text_flag(command, "--timeout", flags.timeout, "DURATION", "Longest one attempt may run; 0 = none");
    add_text_flag(command, "--backoff", flags.backoff, "DURATION", "Wait before the first retry, doubled each time");
    add_text_flag(command, "--backoff-max", flags.backoff_max, "DURATION", "Longest wait between retries");
    add_text_flag(command, "--jitter", flags.jitter, "PCT", "Vary each retry's wait by up to +/- PCT percent");
    add_text_flag(command, "--dead-max", flags.dead_max, "N", "Most jobs kept in the dead set (oldest go first)");
    add_text_flag(command, "--dead-max-age", flags.dead_max_age, "DURATION",
                  "How long a dead job is kept (up to 8760h)");
}

// Settles --wait-timeout once parsing succeeded.
const CommonOptions& parsed(Common& common) {
    common.options.wait_timeout = milliseconds_of(common.wait_timeout);
    return common.options;
}

int usage_error(CliStreams& streams, const std::string& command, const std::string& message) {
    streams.err << "corsair " << command << ": " << message << "\nRun with --help for more information.\n";
    return static_cast<int>(ExitCode::usage);
}

}  // namespace

ExitCode exit_code_for(const ProducerError& error) {
    switch (error.kind()) {
        case ProducerError::Kind::timeout: return ExitCode::unreachable;
        case ProducerError::Kind::broker_silent: return ExitCode::unreachable;
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
    // A quiet broker is asked about awaited jobs a few times per --wait-timeout, so a live broker
    // always answers before the command would give up on it.
    producer.check_after = std::clamp(options.wait_timeout / 3, milliseconds(50), milliseconds(2000));
    producer.resend_after = std::clamp(options.wait_timeout / 3, milliseconds(100), milliseconds(3000));
    // With --wait the broker may hold back a job's ACCEPTED this long (its RESULT answers instead),
    // which must stay well inside --wait-timeout: a full window waits on those answers.
    producer.accept_within = std::min(producer.accept_within, options.wait_timeout / 3);
    // The library gives up on a broker silent this long while jobs are awaited (broker_silent).
    producer.silence_limit = options.wait_timeout;
    return producer;
}

int run_cli(zmq::context_t& context, int argc, const char* const* argv, CliStreams& streams) {
    CLI::App app{
        "corsair: submit jobs to a Corsair broker and manage its jobs and queues.\n"
        "Run `corsair COMMAND --help` for the flags of each command."};
    app.name("corsair");
    app.require_subcommand(1);
    app.footer(kFooter);

    SubmitOptions submit;
    Common submit_common;
    JobFlags job_flags;
    auto* submit_command = add_command(app, "submit", "Submit a job, or one job per line of a file", kSubmitDetails);
    submit_command->add_option("QUEUE", submit.queue, "Queue to submit to")->required();
    auto* payload_option = submit_command->add_option("PAYLOAD", submit.payload, "The job's payload (bytes)");
    submit_command
        ->add_option("--file,-f", submit.file,
                     "Submit one job per line of FILE ('-' reads stdin); the newline is not part of the "
                     "payload and blank lines are skipped")
        ->excludes(payload_option);
    submit_command->add_flag("--wait,-w", submit.should_wait,
                             "Wait for the job(s) to end and report the result(s) and progress");
    submit_command->add_option("--window", submit.window, "With --file: max jobs awaiting acceptance")
        ->check(CLI::Range(1, 1'000'000))
        ->capture_default_str();
    add_job_flags(submit_command, job_flags);
    add_common_options(submit_command, submit_common,
                       "Give up (exit 3) when the broker has not answered for this long; with --wait a live "
                       "broker answers periodic status checks, so long jobs are fine");

    Common status;
    std::string status_id;
    auto* status_command = add_command(
        app, "status", "Show a job's state, attempts, priority, progress and errors",
        "Show a job's queue, state (pending, delayed, running, done, failed, cancelled), attempt and\n"
        "max attempts, priority, time until a delayed job is ready, worker, last progress report and\n"
        "the error of every failed attempt. Exit code 1 if the job is unknown.");
    status_command->add_option("JOB_ID", status_id, "The job's id (as printed by submit)")->required();
    add_common_options(status_command, status);

    Common result;
    std::string result_id;
    auto* result_command = add_command(
        app, "result", "Print a finished job's result",
        "Print a finished job's result bytes to stdout. Exit code 1 with a message on stderr if the job\n"
        "failed, was cancelled, is not done yet, or is unknown (the broker keeps results for 24 h).");
    result_command->add_option("JOB_ID", result_id, "The job's id (as printed by submit)")->required();
    add_common_options(result_command, result);

    Common stats;
    auto* stats_command = add_command(
        app, "stats", "Show queues, workers and the broker's counters",
        "Show queues (pending, delayed, in flight, done, failed, dead, paused), workers (name, queues,\n"
        "capacity, in flight, done, failed, last heartbeat) and the broker's counters.");
    add_common_options(stats_command, stats);

    Common cancel;
    std::string cancel_id;
    auto* cancel_command = add_command(
        app, "cancel", "Cancel a pending, delayed or running job",
        "Cancel a job: a pending or delayed one never runs; a running one is taken from its worker.\n"
        "A producer waiting for it gets state cancelled. Exit code 1 if the job is unknown or has\n"
        "already ended (wrong_state).");
    cancel_command->add_option("JOB_ID", cancel_id, "The job's id")->required();
    add_common_options(cancel_command, cancel);

    Common dead;
    std::string dead_queue;
    std::uint32_t dead_limit = 100;
    auto* dead_command = add_command(
        app, "dead", "List a queue's dead jobs",
        "List the jobs of a queue's dead set (failed on their last attempt), newest first: id,\n"
        "attempts, how long ago it died and the last error. With --json: one object per job with its\n"
        "whole error history. `corsair retry` puts them back, `corsair purge` deletes them.");
    dead_command->add_option("QUEUE", dead_queue, "The queue")->required();
    dead_command->add_option("--limit", dead_limit, "List at most N jobs")
        ->check(CLI::Range(std::uint32_t{1}, protocol::kMaxDeadListed))
        ->capture_default_str();
    add_common_options(dead_command, dead);

    Common retry;
    std::string retry_target;
    bool should_retry_all = false;
    auto* retry_command = add_command(
        app, "retry", "Put a dead job, or a queue's dead set, back in its queue",
        "`corsair retry JOB_ID` puts one dead job back in its queue; `corsair retry --all QUEUE` puts\n"
        "back the queue's whole dead set. Each starts again with a fresh count of attempts.\n"
        "Exit code 1 if the job is unknown or not dead (wrong_state).");
    retry_command->add_option("TARGET", retry_target, "JOB_ID, or with --all a QUEUE")->required();
    retry_command->add_flag("--all", should_retry_all, "TARGET is a queue: retry its whole dead set");
    add_common_options(retry_command, retry);

    Common purge;
    std::string purge_queue;
    std::string purge_id;
    auto* purge_command = add_command(
        app, "purge", "Delete a queue's dead jobs, or one of them",
        "Delete a queue's whole dead set, or only JOB_ID in it; with --pending and/or --delayed delete its\n"
        "waiting jobs instead (each ends cancelled). Prints how many jobs were deleted.");
    purge_command->add_option("QUEUE", purge_queue, "The queue")->required();
    purge_command->add_option("JOB_ID", purge_id, "Only this dead job");
    add_common_options(purge_command, purge);

    Common pause;
    std::string pause_queue;
    auto* pause_command = add_command(
        app, "pause", "Stop dispatching a queue's jobs",
        "Stop dispatching a queue's jobs to workers. Submits are still accepted; running jobs go on.");
    pause_command->add_option("QUEUE", pause_queue, "The queue")->required();
    add_common_options(pause_command, pause);

    Common resume;
    std::string resume_queue;
    auto* resume_command = add_command(app, "resume", "Dispatch a paused queue's jobs again");
    resume_command->add_option("QUEUE", resume_queue, "The queue")->required();
    add_common_options(resume_command, resume);

    Common queue;
    std::string queue_name;
    QueueFlags queue_flags;
    auto* queue_command = add_command(
        app, "queue", "Show or change a queue's settings",
        "Apply the given settings to an existing queue and print all its settings; without settings\n"
        "flags only print them. `corsair queue create NAME` makes a queue, `corsair queue delete NAME`\n"
        "deletes one. A job's own flags (corsair submit --timeout ...) override its queue's settings.");
    queue_command->add_option("QUEUE", queue_name, "The queue");
    add_queue_flags(queue_command, queue_flags);
    add_common_options(queue_command, queue);

    std::list<Common> lent_common;  // the inspection commands' --broker, --json, --wait-timeout
    const CommandKit kit{[](CLI::App& parent, const char* name, const std::string& summary,
                            const std::string& details) { return add_command(parent, name, summary, details); },
                         [&lent_common](CLI::App* command) {
                             Common& common = lent_common.emplace_back();
                             add_common_options(command, common);
                             return std::function<CommonOptions()>([&common] { return parsed(common); });
                         },
                         [](CLI::App* command, QueueFlags& flags) { add_queue_flags(command, flags); }};
    InspectCommands inspect(app, *queue_command, *purge_command, kit);

    try {
        app.parse(argc, argv);
        if (*submit_command && submit.file.empty() && payload_option->count() == 0) {
            throw CLI::ValidationError("submit", "give PAYLOAD or --file FILE");
        }
        if (*queue_command && queue_command->get_subcommands().empty() && queue_name.empty()) {
            throw CLI::ValidationError("queue", "give QUEUE, or `create NAME` or `delete NAME`");
        }
    } catch (const CLI::ParseError& e) {
        const int code = app.exit(e, streams.out, streams.err);
        return code == 0 ? static_cast<int>(ExitCode::ok) : static_cast<int>(ExitCode::usage);
    }

    try {
        if (auto code = inspect.run(context, streams)) return *code;
        if (*purge_command && inspect.purges_waiting()) {
            return inspect.run_clear(context, parsed(purge), purge_queue, purge_id, streams);
        }
        if (*submit_command) {
            auto job = job_options_from(job_flags, streams.now());
            if (!job) return usage_error(streams, "submit", job.error());
            submit.job = std::move(job).value();
            submit.common = parsed(submit_common);
            return submit.file.empty() ? run_submit(context, submit, streams)
                                       : run_submit_file(context, submit, streams);
        }
        if (*status_command) return run_status(context, parsed(status), status_id, streams);
        if (*result_command) return run_result(context, parsed(result), result_id, streams);
        if (*stats_command) return run_stats(context, parsed(stats), streams);
        if (*cancel_command) return run_cancel(context, parsed(cancel), cancel_id, streams);
        if (*dead_command) return run_dead(context, parsed(dead), dead_queue, dead_limit, streams);
        if (*retry_command) return run_retry(context, parsed(retry), retry_target, should_retry_all, streams);
        if (*purge_command) return run_purge(context, parsed(purge), purge_queue, purge_id, streams);
        if (*pause_command) return run_pause(context, parsed(pause), pause_queue, true, streams);
        if (*resume_command) return run_pause(context, parsed(resume), resume_queue, false, streams);
        auto settings = queue_settings_from(queue_name, queue_flags);
        if (!settings) return usage_error(streams, "queue", settings.error());
        return run_queue(context, parsed(queue), settings.value(), streams);
    } catch (const ProducerError& e) {
        streams.err << "corsair: " << e.what() << '\n';
        return static_cast<int>(exit_code_for(e));
    }
}

}  // namespace corsair::producer::cli
