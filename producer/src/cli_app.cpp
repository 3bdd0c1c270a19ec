#include "cli_app.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdlib>
#include <list>
#include <map>
#include <ostream>
#include <vector>

#include "cli_flags.hpp"
#include "cli_inspect.hpp"
#include "cli_keygen.hpp"
#include "cli_output.hpp"
#include "corsair/options/config_file.hpp"
#include "corsair/options/flags.hpp"
#include "corsair/protocol/duration.hpp"
#include "corsair/protocol/text.hpp"

namespace corsair::producer::cli {

namespace {

const std::string kFooter = std::string(R"(Environment:
  CORSAIR_PRODUCER_ENDPOINT  the broker's producer endpoint when --broker is not given
                             (default tcp://127.0.0.1:5555). CORSAIR_BROKER is no longer read:
                             the broker has two endpoints, and workers use CORSAIR_WORKER_ENDPOINT.
  CORSAIR_CURVE_SERVER_KEY   --curve-server-key: the broker's public key file (CURVE on)
  CORSAIR_CURVE_KEY          --curve-key: this client's secret key file
  CORSAIR_LOG_LEVEL          --log-level: what corsair says on stderr (default info)
  CORSAIR_LOG_FORMAT         --log-format: text, or json (one object per line on stderr)

Zero: a limit of 0 means no limit (--max-length, --dead-max, --timeout); where no limit makes no
sense, 0 is refused (--wait-timeout, --window, --limit, --max-attempts, --backoff-max, --dead-max-age).
Payloads: each is bounded by the broker's --max-payload, which corsair learns from the broker.

)") + options::kDurationHelp + "\n\n" + options::kExitCodeHelp + "\n\nJSON shapes of every command: docs/cli.md.";

constexpr const char* kSubmitDetails =
    R"(Submit one job (QUEUE PAYLOAD, QUEUE - for stdin, QUEUE --payload-file FILE), or one job per
line of a file (QUEUE --file FILE, with --format lines or ndjson).

One job: prints its id (with --unique matching a live job: that job's id). PAYLOAD is taken as
typed; '-' or --payload-file read the bytes as they are (NUL bytes and newlines included).
With --wait prints the result bytes to stdout (plus a newline when stdout is a terminal and the
result has none), progress reports as lines on stderr, and the error on stderr with exit code 1
if the job failed or was cancelled.
--file: jobs are pipelined (at most --window awaiting acceptance). --format lines (default): one
payload per line, the newline not part of it, blank lines skipped. --format ndjson: one JSON
object per line, {"payload": "text"} or {"payload_base64": "..."} for any bytes. A progress bar
is drawn on stderr when it is a terminal, then a summary line; with --wait the ids of failed and
cancelled jobs are listed on stderr (the first 10). With --json one object per line (docs/cli.md).
The job flags (--priority ... --jitter) apply to every job.)";

// A flag value check() has already validated, in whole milliseconds.
std::chrono::milliseconds milliseconds_of(const std::string& text) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(*protocol::parse_duration(text));
}

const CLI::Validator kDurationValidator(
    [](std::string& text) -> std::string {
        return options::duration_check(text, std::chrono::milliseconds(1),
                                       std::chrono::duration_cast<std::chrono::milliseconds>(
                                           std::chrono::microseconds(protocol::kMaxDurationMicroseconds)));
    },
    "DURATION", "duration");

// One subcommand's --broker, --json and --wait-timeout (text until parsed).
struct Common {
    CommonOptions options;
    std::string wait_timeout = "10s";
    bool was_parsed = false;  // its subcommand is the one given
};

CLI::App* add_command(CLI::App& app, const char* name, const std::string& summary, const std::string& details = {}) {
    auto* command = app.add_subcommand(name, summary);
    command->footer((details.empty() ? summary : details) + "\n\n" + kFooter);
    // --config and --print-config may come after the command, as the other flags do.
    command->fallthrough();
    // A command's own flags are the request, not settings: only add_common_options' are in a
    // --config file and CORSAIR_* variables.
    command->option_defaults()->configurable(false);
    return command;
}

// --broker, --json and --wait-timeout on every command, so each command's --help lists them.
// Registers `common` in `commons`, so that the command run finds the one given (and its --json)
// whatever command it is, including those registered elsewhere (cli_inspect.cpp).
void add_common_options(std::vector<Common*>& commons, CLI::App* command, Common& common,
                        const std::string& wait_help = "How long to wait for the broker's answer before giving up "
                                                       "(exit 4)") {
    command
        ->add_option("--broker,-b", common.options.broker,
                     std::string("The broker's producer endpoint, e.g. tcp://host:5555, or its direct endpoint "
                                 "direct://HOST:PORT (the low-latency mode: broker --direct, no CURVE) (env ") +
                         kBrokerEnvironmentVariable + ")")
        ->envname(kBrokerEnvironmentVariable)
        ->type_name("ENDPOINT")
        ->configurable();
    command->add_flag("--json", common.options.is_json, "Print one JSON object per line instead of text (env CORSAIR_JSON)")
        ->configurable();
    command
        ->add_option("--curve-server-key", common.options.curve_server_key_file,
                     "The broker's public key file: turns CURVE on (with --curve-key; env CORSAIR_CURVE_SERVER_KEY)")
        ->envname("CORSAIR_CURVE_SERVER_KEY")
        ->type_name("FILE")
        ->configurable();
    command
        ->add_option("--curve-key", common.options.curve_key_file,
                     "This client's secret key file, made by `corsair keygen` (env CORSAIR_CURVE_KEY)")
        ->envname("CORSAIR_CURVE_KEY")
        ->type_name("FILE")
        ->configurable();
    command->add_option("--wait-timeout", common.wait_timeout, wait_help + "; more than 0 (env CORSAIR_WAIT_TIMEOUT)")
        ->configurable()
        ->type_name("DURATION")
        ->check(kDurationValidator)
        ->check(CLI::Validator(
            [](std::string& text) -> std::string {
                // 0 would give up before the broker could answer anything.
                const auto parsed = protocol::parse_duration(text);
                if (parsed && parsed->count() <= 0) return "--wait-timeout must be more than 0";
                return {};
            },
            "", "positive"))
        ->capture_default_str();
    commons.push_back(&common);
    // Settled as soon as parsing ends, so that errors before the command runs know --json.
    command->parse_complete_callback([&common] {
        common.was_parsed = true;
        common.options.wait_timeout = milliseconds_of(common.wait_timeout);
    });
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
                  "Run no sooner than TIME: RFC 3339 (2030-01-31T16:00:00Z, 2030-01-31T17:00:00+01:00) or "
                  "@UNIX_SECONDS; not with --delay (for a time relative to now, use --delay 2h)");
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
    add_text_flag(command, "--backoff-max", flags.backoff_max, "DURATION",
                  "Longest wait between retries, 1ms to 24h (0 is refused)");
    add_text_flag(command, "--jitter", flags.jitter, "PCT", "Vary each retry's wait by up to +/- PCT percent");
    add_text_flag(command, "--dead-max", flags.dead_max, "N",
                  "Most jobs kept in the dead set (oldest go first); 0 = unlimited (--dead-max-age still applies)");
    add_text_flag(command, "--dead-max-age", flags.dead_max_age, "DURATION",
                  "How long a dead job is kept, 1ms to 8760h (0 is refused: dead jobs always age out)");
}

// Settles --wait-timeout once parsing succeeded.
const CommonOptions& parsed(Common& common) {
    common.options.wait_timeout = milliseconds_of(common.wait_timeout);
    return common.options;
}

// `corsair bogus`: CLI11 would say only "A subcommand is required".
std::string unknown_command_problem(CLI::App& app, int argc, const char* const* argv) {
    if (argc < 2 || argv[1][0] == '-') return {};
    std::string names;
    for (const auto* command : app.get_subcommands({})) {
        if (command->get_name() == argv[1]) return {};
        names += (names.empty() ? "" : ", ") + command->get_name();
    }
    return "unknown command '" + protocol::printable(argv[1], 64) + "'; the commands are: " + names;
}

// Why the command cannot reach the broker at all, before anything is sent; empty when it can.
std::string endpoint_problem_of(const CommonOptions& common, bool is_given) {
    if (!is_given) {
        if (auto retired = options::retired_variable_problem(kBrokerEnvironmentVariable, "tcp://HOST:5555")) {
            return *retired;
        }
    }
    if (auto problem = options::endpoint_problem(common.broker)) return "--broker: " + *problem;
    return {};
}

}  // namespace

ExitCode exit_code_for(const ProducerError& error) {
    switch (error.kind()) {
        case ProducerError::Kind::timeout: return ExitCode::unreachable;
        case ProducerError::Kind::broker_silent: return ExitCode::unreachable;
        case ProducerError::Kind::invalid: return ExitCode::usage;
        case ProducerError::Kind::refused: break;
    }
    return options::exit_code_for(error.code());
}

int report_error(const ProducerError& error, const CommonOptions& options, const std::string& id,
                 CliStreams& streams) {
    std::string code(protocol::to_string(error.code()));
    std::string message = error.what();
    if (error.is_timeout() || error.is_broker_silent()) {
        code = "unreachable";
        message = options::no_answer_text(options.broker, options.wait_timeout, "producer",
                                          std::string("--broker, ") + kBrokerEnvironmentVariable + ", --wait-timeout");
        if (!options.curve_server_key_file.empty()) message += options::kCurveSilenceHint;
    } else if (error.kind() == ProducerError::Kind::invalid) {
        code = "usage";
    } else if (error.code() == protocol::ErrorCode::wrong_endpoint) {
        message = options::wrong_endpoint_text(options.broker, error.broker_message());
    } else if (error.code() == protocol::ErrorCode::unknown_job && !id.empty()) {
        message = "no job with id " + id +
                  " is known (never submitted, its result expired (--result-ttl) or was evicted, or the broker "
                  "restarted without a journal)";
    }
    if (options.is_json) {
        // The broker's own words: the code and id already say what was refused.
        const bool is_broker_words = error.kind() == ProducerError::Kind::refused && !error.broker_message().empty() &&
                                     error.code() != protocol::ErrorCode::wrong_endpoint;
        streams.out << json_line(error_json(code, is_broker_words ? error.broker_message() : message, id)) << '\n';
    } else {
        std::vector<Diagnostics::Field> fields{Diagnostics::text_field("code", code)};
        if (!id.empty()) fields.push_back(Diagnostics::text_field("id", id));
        if (code == "unreachable") fields.push_back(Diagnostics::text_field("broker", options.broker));
        streams.log.error(protocol::printable(message), fields);
    }
    return static_cast<int>(exit_code_for(error));
}

int report_usage(const CommonOptions& options, const std::string& command, const std::string& message,
                 CliStreams& streams) {
    if (options.is_json) {
        streams.out << json_line(error_json("usage", message)) << '\n';
        return static_cast<int>(ExitCode::usage);
    }
    return streams.log.usage("corsair " + command, message);
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
    try {
        producer.curve = protocol::CurveClientKeys::from_files(options.curve_server_key_file, options.curve_key_file);
    } catch (const protocol::KeyFileError& e) {
        throw ProducerError(ProducerError::Kind::invalid, protocol::ErrorCode::bad_field_value, e.what());
    }
    return producer;
}

namespace {

// What the flags of every command write into: put back to these defaults before each parse.
struct FlagValues {
    options::LogSettings log_settings;  // --log-level, --log-format: before or after the command
    SubmitOptions submit;
    JobFlags job_flags;
    std::string status_id;
    std::string result_id;
    std::string result_output;
    std::string cancel_id;
    std::string dead_queue;
    std::uint32_t dead_limit = 100;
    std::string retry_target;
    bool should_retry_all = false;
    std::string purge_queue;
    std::string purge_id;
    std::string pause_queue;
    std::string resume_queue;
    std::string queue_name;
    QueueFlags queue_flags;
    KeygenOptions keygen;
    // Each command's --broker, --json and --wait-timeout (the inspection commands': lent_common).
    Common submit_common;
    Common status;
    Common result;
    Common stats;
    Common cancel;
    Common dead;
    Common retry;
    Common purge;
    Common pause;
    Common resume;
    Common queue;
};

}  // namespace

// Every command and flag of `corsair`, bound to the FlagValues it inherits.
struct CliApp::Commands : FlagValues {
    Commands();
    // Puts every value a flag writes back to its default, so that a run sees nothing of an
    // earlier one (CLI11 clears its own parse results).
    void reset();
    int run(zmq::context_t& context, int argc, const char* const* argv, CliStreams& streams);

    CLI::App app{
        "corsair: submit jobs to a Corsair broker and manage its jobs and queues.\n"
        "Run `corsair COMMAND --help` for the flags of each command."};
    std::list<Common> lent_common;  // the inspection commands' --broker, --json, --wait-timeout
    std::vector<Common*> commons;   // every command's Common, so that run finds the one given
    CLI::App* submit_command = nullptr;
    CLI::Option* payload_option = nullptr;
    CLI::App* status_command = nullptr;
    CLI::App* result_command = nullptr;
    CLI::App* stats_command = nullptr;
    CLI::App* cancel_command = nullptr;
    CLI::App* dead_command = nullptr;
    CLI::App* retry_command = nullptr;
    CLI::App* purge_command = nullptr;
    CLI::App* pause_command = nullptr;
    CLI::App* resume_command = nullptr;
    CLI::App* queue_command = nullptr;
    CLI::App* keygen_command = nullptr;
    std::optional<InspectCommands> inspect;
    std::optional<options::ConfigLayers> layers;  // last: it reads every flag added before it
};

CliApp::Commands::Commands() {
    options::use_stable_help(app);
    app.name("corsair");
    app.require_subcommand(0, 1);  // none only with --print-config: checked after parsing
    app.footer(kFooter);
    options::add_version_flag(app, "corsair");
    // Before or after the command: its --log-level and --log-format fall through to here.
    options::add_log_flags(
        app, log_settings,
        "What corsair says on stderr: error (why a command failed), warn (also a job refused or a line "
        "skipped), info (also progress reports, summaries and notes), debug (also the broker and "
        "settings used), or off (only the exit code); stdout is never affected",
        "text (lines for a person, and a progress bar on a terminal) or json (one JSON object per line with "
        "time, level, logger, message and the fields; no progress bar)");

    submit_command = add_command(app, "submit", "Submit a job, or one job per line of a file", kSubmitDetails);
    submit_command->add_option("QUEUE", submit.queue, "Queue to submit to")->required();
    payload_option =
        submit_command->add_option("PAYLOAD", submit.payload, "The job's payload as typed; '-' reads stdin whole");
    auto* payload_file_option =
        submit_command
            ->add_option("--payload-file", submit.payload_file,
                         "One job whose payload is FILE's bytes as they are ('-' reads stdin)")
            ->type_name("FILE")
            ->excludes(payload_option);
    submit_command
        ->add_option("--file,-f", submit.file, "Submit one job per line of FILE ('-' reads stdin); see --format")
        ->type_name("FILE")
        ->excludes(payload_option)
        ->excludes(payload_file_option);
    submit_command
        ->add_option("--format", submit.file_format,
                     "With --file: lines (one payload per line) or ndjson ({\"payload\"} or {\"payload_base64\"} "
                     "per line)")
        ->transform(CLI::CheckedTransformer(
            std::map<std::string, FileFormat>{{"lines", FileFormat::lines}, {"ndjson", FileFormat::ndjson}}))
        ->type_name("lines|ndjson");
    submit_command->add_flag("--wait,-w", submit.should_wait,
                             "Wait for the job(s) to end and report the result(s) and progress");
    submit_command->add_option("--window", submit.window, "With --file: max jobs awaiting acceptance, at least 1")
        ->check(CLI::Range(1, 1'000'000))
        ->capture_default_str();
    submit_command
        ->add_option("--submit-batch", submit.submit_batch,
                     "With --file: most jobs sent in one SUBMITS message, 1 to 1024; 1 sends one SUBMIT per job")
        ->check(CLI::Range(1, static_cast<int>(protocol::kMaxBatchEntries)))
        ->capture_default_str();
    add_job_flags(submit_command, job_flags);
    add_common_options(commons, submit_command, submit_common,
                       "Give up (exit 3) when the broker has not answered for this long; with --wait a live "
                       "broker answers periodic status checks, so long jobs are fine");

    status_command = add_command(
        app, "status", "Show a job's state, attempts, priority, progress and errors",
        "Show a job's queue, state (pending, delayed, running, done, failed, cancelled), attempt and\n"
        "max attempts, priority, time until a delayed job is ready, worker, last progress report and\n"
        "the error of every failed attempt. Exit code 1 if the job is unknown.");
    status_command->add_option("JOB_ID", status_id, "The job's id (as printed by submit)")->required();
    add_common_options(commons, status_command, status);

    result_command = add_command(
        app, "result", "Print a finished job's result",
        "Print a finished job's result bytes to stdout as they are (or to --output FILE). Exit code 1\n"
        "with a message on stderr if the job failed or was cancelled, 3 if it is not done yet, 5 if it\n"
        "is unknown (the broker keeps results for 24 h).");
    result_command->add_option("JOB_ID", result_id, "The job's id (as printed by submit)")->required();
    result_command->add_option("--output,-o", result_output, "Write the result's bytes to FILE instead of stdout")
        ->type_name("FILE");
    add_common_options(commons, result_command, result);

    stats_command = add_command(
        app, "stats", "Show queues, workers and the broker's counters",
        "Show queues (pending, delayed, in flight, done, failed, dead, paused), workers (name, queues,\n"
        "capacity, in flight, done, failed, last heartbeat) and the broker's counters.");
    add_common_options(commons, stats_command, stats);

    cancel_command = add_command(
        app, "cancel", "Cancel a pending, delayed or running job",
        "Cancel a job: a pending or delayed one never runs; a running one is taken from its worker.\n"
        "A producer waiting for it gets state cancelled. Exit code 1 if the job is unknown or has\n"
        "already ended (wrong_state).");
    cancel_command->add_option("JOB_ID", cancel_id, "The job's id")->required();
    add_common_options(commons, cancel_command, cancel);

    dead_command = add_command(
        app, "dead", "List a queue's dead jobs",
        "List the jobs of a queue's dead set (failed on their last attempt), newest first: id,\n"
        "attempts, how long ago it died and the last error. With --json: one object per job with its\n"
        "whole error history. `corsair retry` puts them back, `corsair purge` deletes them.");
    dead_command->add_option("QUEUE", dead_queue, "The queue")->required();
    dead_command->add_option("--limit", dead_limit, "List at most N jobs")
        ->check(CLI::Range(std::uint32_t{1}, protocol::kMaxDeadListed))
        ->capture_default_str();
    add_common_options(commons, dead_command, dead);

    retry_command = add_command(
        app, "retry", "Put a dead job, or a queue's dead set, back in its queue",
        "`corsair retry JOB_ID` puts one dead job back in its queue; `corsair retry --all QUEUE` puts\n"
        "back the queue's whole dead set. Each starts again with a fresh count of attempts.\n"
        "Exit code 1 if the job is unknown or not dead (wrong_state).");
    retry_command->add_option("TARGET", retry_target, "JOB_ID, or with --all a QUEUE")->required();
    retry_command->add_flag("--all", should_retry_all, "TARGET is a queue: retry its whole dead set");
    add_common_options(commons, retry_command, retry);

    purge_command = add_command(
        app, "purge", "Delete a queue's dead jobs, or one of them",
        "Delete a queue's whole dead set, or only JOB_ID in it; with --pending and/or --delayed delete its\n"
        "waiting jobs instead (each ends cancelled). Prints how many jobs were deleted.");
    purge_command->add_option("QUEUE", purge_queue, "The queue")->required();
    purge_command->add_option("JOB_ID", purge_id, "Only this dead job");
    add_common_options(commons, purge_command, purge);

    pause_command = add_command(
        app, "pause", "Stop dispatching a queue's jobs",
        "Stop dispatching a queue's jobs to workers. Submits are still accepted; running jobs go on.");
    pause_command->add_option("QUEUE", pause_queue, "The queue")->required();
    add_common_options(commons, pause_command, pause);

    resume_command = add_command(app, "resume", "Dispatch a paused queue's jobs again");
    resume_command->add_option("QUEUE", resume_queue, "The queue")->required();
    add_common_options(commons, resume_command, resume);

    queue_command = add_command(
        app, "queue", "Show or change a queue's settings",
        "Apply the given settings to an existing queue and print all its settings; without settings\n"
        "flags only print them. `corsair queue create NAME` makes a queue, `corsair queue delete NAME`\n"
        "deletes one. A job's own flags (corsair submit --timeout ...) override its queue's settings.");
    queue_command->add_option("QUEUE", queue_name, "The queue");
    add_queue_flags(queue_command, queue_flags);
    add_common_options(commons, queue_command, queue);

    const CommandKit kit{[](CLI::App& parent, const char* name, const std::string& summary,
                            const std::string& details) { return add_command(parent, name, summary, details); },
                         [this](CLI::App* command) {
                             Common& common = lent_common.emplace_back();
                             add_common_options(commons, command, common);
                             return std::function<CommonOptions()>([&common] { return parsed(common); });
                         },
                         [](CLI::App* command, QueueFlags& flags) { add_queue_flags(command, flags); }};
    inspect.emplace(app, *queue_command, *purge_command, kit);
    keygen_command = add_keygen_command(app, keygen, kFooter);
    // keygen's flags are the request, not settings (see add_command).
    for (auto* option : keygen_command->get_options()) option->configurable(false);
    layers.emplace(app, "corsair");
}

void CliApp::Commands::reset() {
    static_cast<FlagValues&>(*this) = FlagValues{};
    for (Common* common : commons) *common = Common{};
    inspect->reset();
}

int CliApp::Commands::run(zmq::context_t& context, int argc, const char* const* argv, CliStreams& streams) {
    reset();
    streams.log.configure_from_arguments(argc, argv);
    if (const auto problem = unknown_command_problem(app, argc, argv); !problem.empty()) {
        return streams.log.usage("corsair", problem);
    }
    // CLI11 names only the program; the command given, if any, is the one whose --help helps.
    std::string usage_program = "corsair";
    for (int i = 1; i < argc && usage_program == "corsair"; ++i) {
        if (std::string_view(argv[i]) == "--") break;
        for (const auto* command : app.get_subcommands({})) {
            if (command->get_name() == argv[i]) usage_program += " " + command->get_name();
        }
    }
    const auto usage = [&streams, &usage_program](std::string_view, std::string_view message) {
        return streams.log.usage(usage_program, message);
    };
    if (const auto exit_code = layers->parse(argc, argv, streams.out, usage)) return *exit_code;
    streams.log.configure(log_settings);
    if (layers->wants_print_config()) {
        layers->print_config(streams.out);
        return static_cast<int>(ExitCode::ok);
    }
    if (app.get_subcommands().empty()) {
        return streams.log.usage("corsair", "give a command: run corsair --help for the list");
    }
    if (*keygen_command) return run_keygen(keygen, streams);
    if (*submit_command && submit.file.empty() && submit.payload_file.empty() && payload_option->count() == 0) {
        return streams.log.usage("corsair submit", "give PAYLOAD, - (stdin), --payload-file FILE or --file FILE");
    }
    if (*queue_command && queue_command->get_subcommands().empty() && queue_name.empty()) {
        return streams.log.usage("corsair queue", "give QUEUE, or `create NAME` or `delete NAME`");
    }
    CLI::App* chosen = app.get_subcommands().front();
    const bool is_broker_given = chosen->get_option("--broker")->count() > 0 || std::getenv(kBrokerEnvironmentVariable) != nullptr;

    for (Common* common : commons) {
        if (!common->was_parsed) continue;
        if (auto problem = endpoint_problem_of(common->options, is_broker_given); !problem.empty()) {
            return report_usage(common->options, chosen->get_name(), problem, streams);
        }
        if (auto problem = options::resolve_problem(common->options.broker)) {
            if (common->options.is_json) {
                streams.out << json_line(error_json("unreachable", *problem)) << '\n';
            } else {
                streams.log.error(*problem, {Diagnostics::text_field("code", "unreachable"),
                                             Diagnostics::text_field("broker", common->options.broker)});
            }
            return static_cast<int>(ExitCode::unreachable);
        }
        const bool is_curve = !common->options.curve_server_key_file.empty();
        streams.log.debug("corsair " + chosen->get_name() + " asks the broker at " + common->options.broker,
                          {Diagnostics::text_field("command", chosen->get_name()),
                           Diagnostics::text_field("broker", common->options.broker),
                           Diagnostics::flag_field("curve", is_curve),
                           Diagnostics::number_field("wait_timeout_ms", common->options.wait_timeout.count()),
                           Diagnostics::text_field("config", layers->file().empty() ? "none" : layers->file())});
    }
    std::string subject;  // the job the command names, for a JSON error
    const CommonOptions* used = nullptr;
    try {
        if (auto code = inspect->run(context, streams)) return *code;
        if (*purge_command && inspect->purges_waiting()) {
            return inspect->run_clear(context, parsed(purge), purge_queue, purge_id, streams);
        }
        if (*submit_command) {
            used = &submit_common.options;
            auto job = job_options_from(job_flags, streams.now());
            if (!job) return report_usage(submit_common.options, "submit", job.error(), streams);
            submit.job = std::move(job).value();
            submit.common = parsed(submit_common);
            return submit.file.empty() ? run_submit(context, submit, streams)
                                       : run_submit_file(context, submit, streams);
        }
        for (Common* common : commons) {
            if (common->was_parsed) used = &common->options;
        }
        if (*status_command) {
            subject = status_id;
            return run_status(context, parsed(status), status_id, streams);
        }
        if (*result_command) {
            subject = result_id;
            return run_result(context, parsed(result), result_id, result_output, streams);
        }
        if (*stats_command) return run_stats(context, parsed(stats), streams);
        if (*cancel_command) {
            subject = cancel_id;
            return run_cancel(context, parsed(cancel), cancel_id, streams);
        }
        if (*dead_command) return run_dead(context, parsed(dead), dead_queue, dead_limit, streams);
        if (*retry_command) {
            if (!should_retry_all) subject = retry_target;
            return run_retry(context, parsed(retry), retry_target, should_retry_all, streams);
        }
        if (*purge_command) {
            subject = purge_id;
            return run_purge(context, parsed(purge), purge_queue, purge_id, streams);
        }
        if (*pause_command) return run_pause(context, parsed(pause), pause_queue, true, streams);
        if (*resume_command) return run_pause(context, parsed(resume), resume_queue, false, streams);
        auto settings = queue_settings_from(queue_name, queue_flags);
        if (!settings) return report_usage(queue.options, "queue", settings.error(), streams);
        return run_queue(context, parsed(queue), settings.value(), streams);
    } catch (const ProducerError& e) {
        return report_error(e, used != nullptr ? *used : CommonOptions{}, subject, streams);
    }
}


CliApp::CliApp() : commands_(std::make_unique<Commands>()) {}

CliApp::~CliApp() = default;

int CliApp::run(zmq::context_t& context, int argc, const char* const* argv, CliStreams& streams) {
    return commands_->run(context, argc, argv, streams);
}

int run_cli(zmq::context_t& context, int argc, const char* const* argv, CliStreams& streams) {
    CliApp app;
    return app.run(context, argc, argv, streams);
}

}  // namespace corsair::producer::cli
