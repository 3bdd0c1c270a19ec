#include "corsair/worker/command_line.hpp"

#include <CLI/CLI.hpp>

#include <iostream>
#include <limits>
#include <optional>
#include <set>

#include "corsair/options/config_file.hpp"
#include "corsair/options/endpoint.hpp"
#include "corsair/options/flags.hpp"
#include "corsair/options/log_format.hpp"
#include "corsair/protocol/duration.hpp"
#include "corsair/protocol/limits.hpp"
#include "corsair/worker/builtin_handlers.hpp"
#include "corsair/worker/exec_handler.hpp"
#include "command_path.hpp"

namespace corsair::worker {

namespace {

constexpr const char* kDescription = R"(corsair-worker: serves one or more Corsair queues for a broker.

Each job's payload is handed to a handler; its result goes back to the broker as DONE, and
any failure (non-zero exit, exception) as FAIL with an error text. A result larger than the
broker's --max-payload, which the worker learns from the broker, fails the job for good (the
command is stopped once its stdout passes the limit).

Handlers (exactly one, or several in a --config file):
  --builtin echo     the result is the payload
  --builtin noop     the result is empty (a handler that does nothing, for benchmarks)
  --builtin sleep    the payload is a number of milliseconds; sleeps, returns "slept N ms"
  -- COMMAND [ARGS]  runs COMMAND per job without a shell: payload on stdin, stdout is the
                     result; CORSAIR_JOB_ID, CORSAIR_QUEUE, CORSAIR_ATTEMPT are set
  --timeout 30s      kills a command still running after 30 s: the attempt fails and the
                     broker retries it while attempts remain (default 0: no limit)

Several handlers in one process: a --config file with one [[handler]] table per queue (or
group of queues), each with its own command, capacity and timeout (docs/configuration.md):
  [[handler]]
  queue = "thumbnails"
  command = ["make-thumb", "--size", "128"]
  capacity = 4
  timeout = "30s"
Each handler is a worker of its own to the broker, named NAME/QUEUE (--id or HOSTNAME:PID).

The command's exit status:
  0                  done: stdout is the result
  100                permanent failure: the broker does not retry the job
  anything else      failure (or a signal): the broker retries while attempts remain
Failures carry the last 20 lines of stderr (at most 4 KiB) as the job's error text; the logs
show it quoted on one line, cut to 200 bytes.

A command that cannot be started is not the job's fault. At startup, corsair-worker refuses a
COMMAND it cannot find in PATH or may not execute, and exits with status 3. At run time (the
file was removed or made non-executable, exec or fork failed), the job goes back to the broker
without using up an attempt, and the worker takes no jobs for 1 s, then 2, 4, 8, 16 s while it
keeps failing; after 5 such rounds with no command started in between, it drains and exits
with status 3.

No command outlives its job or its worker: each runs in its own process group under a small
reaper process, and when the command exits, is abandoned, or the worker dies (even by
SIGKILL), whatever is still running in that group is killed (SIGKILL). A process that leaves
the group (setsid, a daemon) is out of reach.

Progress: a line on the command's stderr of the form
  corsair-progress PERCENT [MESSAGE]       e.g.  corsair-progress 40 resized 4 of 10
reports progress to the broker (PERCENT a whole number, 0..100; MESSAGE up to 256 bytes).
Such lines are left out of the error text.

When the broker abandons a job (it timed out or was cancelled), the command is killed with
its whole process group (SIGKILL), and nothing is reported for that attempt.

Broker lost: the worker reconnects after 0.5-1 s, doubling up to the broker's liveness window
(3 s at the defaults), each wait jittered; it warns once that window has passed without a
broker, then once a minute, saying for how long.

Exit status: 0 after a drain or stop, 1 on a startup failure, 2 on a usage error, 3 when the
command cannot be run (see above).

Handler threads: by default one per unit of --capacity, which blocking handlers (commands)
need. --threads N runs them on N threads instead, at most --capacity (more would start jobs
held ready, past the capacity). --inline runs them on the I/O thread with no
hand-off at all: only for handlers that return within microseconds, since heartbeats wait while
a handler runs and a slow one would get the worker declared dead. The built-ins echo and noop
run inline unless --threads is given.

Batches: the worker asks the broker for up to --batch jobs per JOBS message (at most
--capacity plus --prefetch) and sends the results of the jobs it finished together as one DONES, as soon as
nothing else is at hand; a broker that does not know batches gets one JOB and one DONE per
message. --batch 1 turns this off. The broker gives a worker up to --batch short jobs at once (as
many as it gets through in 10 ms), and long ones one per worker in turn (docs/jobs.md, Dispatch).

Prefetch: besides its --capacity, the worker holds up to --prefetch jobs (32 by default) ready
to start the moment a running one ends, so that it does not wait a round trip to the broker for
the next, and jobs and results travel several to a message. --prefetch is a ceiling: the broker
holds ready only as many as the worker gets through in 10 ms at the pace its jobs end (at least
one), so short jobs get all of it and jobs of 10 ms or more one at a time; and once the payloads
of the worker's leases reach 16 MiB, no more than one.
The broker hands a job to a worker with a free slot first, and asks a ready job back (RECALL)
when another worker of its queue sits idle, so a long job never keeps a short one waiting.
--prefetch 0 turns this off.

Zero: a limit given as 0 means no limit (--drain-timeout 0 waits for the jobs in flight however
long they take); where no limit makes no sense, 0 is refused (--capacity, --threads, --batch,
--heartbeat).

Signals: SIGINT/SIGTERM drain (give back the jobs held ready, unstarted; finish the running ones,
then exit 0); a second one stops at once.
Logs go to stderr.

A worker that reaches the broker's producer endpoint by mistake is told so by the broker
(wrong_endpoint) and exits at once with exit code 2, naming the endpoint to use.

CURVE (docs/security.md): with --curve-server-key and --curve-key (both made by `corsair
keygen`) the connection is encrypted and the broker checks this worker's key. A broker that
does not know the key, or whose key is not --curve-server-key, drops the connection without a
word: the worker keeps trying and its "no broker" warning says to check the keys. A key the
broker knows but whose role is not worker is refused with ERROR forbidden: exit code 2.

Example:
  corsair-worker --broker tcp://127.0.0.1:5556 --queue thumbnails --capacity 4 -- ./make-thumb --size 128
)";

// A duration flag in the wording every program shares (corsair::options).
CLI::Option* add_duration(CLI::App& app, const std::string& name, std::chrono::milliseconds& target,
                          const std::string& help, std::chrono::milliseconds min = std::chrono::milliseconds(0),
                          std::chrono::milliseconds max = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::microseconds(protocol::kMaxDurationMicroseconds))) {
    return options::add_duration_flag(app, name, target, help, min, max);
}

// A [[handler]] table of --config as a HandlerSpec; throws ConfigFileError naming the line.
HandlerSpec handler_of(const options::ConfigTable& table, const HandlerSpec& defaults) {
    static constexpr const char* kTable = "handler";
    static const std::set<std::string> kKeys = {"queue", "command", "builtin", "capacity", "timeout"};
    for (const auto& [key, value] : table.values) {
        if (kKeys.count(key) == 0) {
            throw options::ConfigFileError(options::table_problem(
                table, kTable, key, "unknown key (a [[handler]] takes queue, command, builtin, capacity, timeout)"));
        }
    }
    HandlerSpec spec;
    spec.where = table.where;
    spec.queues = options::table_texts(table, kTable, "queue");
    if (spec.queues.empty()) throw options::ConfigFileError(options::table_problem(table, kTable, "queue", "missing"));
    for (const auto& queue : spec.queues) {
        if (queue.empty() || queue.size() > protocol::kMaxQueueNameBytes) {
            throw options::ConfigFileError(options::table_problem(
                table, kTable, "queue", "queue names are 1 to " + std::to_string(protocol::kMaxQueueNameBytes) + " bytes"));
        }
    }
    spec.command = options::table_texts(table, kTable, "command");
    spec.builtin = options::table_text(table, kTable, "builtin", options::ConfigValue::Kind::string).value_or("");
    if (spec.command.empty() == spec.builtin.empty()) {
        throw options::ConfigFileError(options::table_problem(
            table, kTable, "command", "give exactly one of command = [\"PROGRAM\", \"ARG\"...] and builtin = \"echo\"|\"noop\"|\"sleep\""));
    }
    if (!spec.builtin.empty() && !builtin_handler(spec.builtin)) {
        throw options::ConfigFileError(
            options::table_problem(table, kTable, "builtin", "'" + spec.builtin + "' is not echo, noop or sleep"));
    }
    spec.capacity = defaults.capacity;
    if (const auto capacity = options::table_text(table, kTable, "capacity", options::ConfigValue::Kind::integer)) {
        const long long value = std::stoll(*capacity);
        if (value < 1 || value > static_cast<long long>(protocol::kMaxCapacity)) {
            throw options::ConfigFileError(options::table_problem(
                table, kTable, "capacity", "must be from 1 to " + std::to_string(protocol::kMaxCapacity) + " (got " + *capacity + ")"));
        }
        spec.capacity = static_cast<std::uint32_t>(value);
    }
    spec.timeout = defaults.timeout;
    if (const auto timeout = options::table_text(table, kTable, "timeout", options::ConfigValue::Kind::string)) {
        const auto problem = options::duration_check(*timeout, std::chrono::milliseconds(0),
                                                     std::chrono::duration_cast<std::chrono::milliseconds>(
                                                         std::chrono::microseconds(protocol::kMaxDurationMicroseconds)));
        if (!problem.empty()) throw options::ConfigFileError(options::table_problem(table, kTable, "timeout", problem));
        spec.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(*protocol::parse_duration(*timeout));
    }
    return spec;
}

// The handlers the process serves: the flags' one, or one per [[handler]] table.
std::string gather_handlers(CommandLine& result, const options::ConfigLayers& settings,
                            std::chrono::milliseconds timeout) {
    HandlerSpec from_flags{result.queues, result.builtin, result.command, result.options.capacity, timeout, ""};
    const auto& tables = settings.tables("handler");
    if (tables.empty()) {
        if (result.queues.empty()) return "give a queue: --queue NAME, or [[handler]] tables in a --config file";
        if (result.builtin.empty() && result.command.empty()) {
            return "give a handler: --builtin echo|noop|sleep or -- COMMAND [ARGS...]";
        }
        result.handlers.push_back(std::move(from_flags));
        return {};
    }
    if (!result.queues.empty() || !result.builtin.empty() || !result.command.empty()) {
        return "give the handlers either as [[handler]] tables in " + settings.file() +
               " or with --queue and --builtin or -- COMMAND, not both";
    }
    std::set<std::string> served;
    for (const auto& table : tables) {
        try {
            auto spec = handler_of(table, from_flags);
            for (const auto& queue : spec.queues) {
                if (!served.insert(queue).second) {
                    return options::table_problem(table, "handler", "queue", "queue '" + queue + "' has a handler already");
                }
            }
            result.handlers.push_back(std::move(spec));
        } catch (const options::ConfigFileError& e) {
            return e.what();
        }
    }
    return {};
}

// Checks made once CLI11 has parsed: the endpoint (and where it came from) and the limits of
// the protocol. Returns the first problem, or an empty string.
std::string problem_of(const CommandLine& result) {
    const auto& options = result.options;
    if (options.broker_endpoint.empty()) {
        if (auto retired = options::retired_variable_problem(options::kWorkerEndpointVariable, "tcp://HOST:5556")) return *retired;
        return std::string("--broker is required: give --broker tcp://HOST:5556 (the broker's worker endpoint) or set ") +
               options::kWorkerEndpointVariable;
    }
    if (auto problem = options::endpoint_problem(options.broker_endpoint)) return "--broker: " + *problem;
    if (options.name.size() > protocol::kMaxWorkerNameBytes) {
        return "--id: at most " + std::to_string(protocol::kMaxWorkerNameBytes) + " bytes";
    }
    for (const auto& handler : result.handlers) {
        if (handler.queues.size() > protocol::kMaxQueuesPerWorker) {
            return (handler.where.empty() ? "--queue" : handler.where + ": [[handler]] queue") + ": at most " +
                   std::to_string(protocol::kMaxQueuesPerWorker) + " queues per worker";
        }
    }
    return {};
}

// What the flags write into: put back to these defaults before each parse.
struct FlagValues {
    CommandLine result;
    std::chrono::milliseconds command_timeout{0};
    options::LogSettings log_settings;
    std::string curve_server_key_file;
    std::string curve_key_file;
};

}  // namespace

// corsair-worker's flags, bound to the FlagValues they inherit.
struct CommandLineParser::Flags : FlagValues {
    Flags();

    CLI::App app{kDescription, "corsair-worker"};
    std::optional<options::ConfigLayers> settings;  // last: it reads every flag added before it

private:
    // The flags in --help's order, a group each.
    void add_broker_flags();     // --broker, --queue
    void add_credit_flags();     // --capacity, --threads, --inline, --batch, --prefetch
    void add_process_flags();    // --id, the durations, logging, CURVE
    void add_handler_flags();    // --builtin, or the command after --
};

CommandLineParser::Flags::Flags() {
    options::use_stable_help(app);
    app.get_formatter()->column_width(34);
    app.footer(std::string(options::kDurationHelp) + "\n\n" + options::kExitCodeHelp);
    options::add_version_flag(app, "corsair-worker");
    add_broker_flags();
    add_credit_flags();
    add_process_flags();
    add_handler_flags();
    app.positionals_at_end();
    settings.emplace(app, "corsair-worker", std::set<std::string>{}, std::set<std::string>{"handler"});
}

void CommandLineParser::Flags::add_broker_flags() {
    auto& options = result.options;
    app.add_option("--broker", options.broker_endpoint,
                   std::string("The broker's worker endpoint, e.g. tcp://127.0.0.1:5556, or its direct endpoint "
                               "direct://HOST:PORT (the low-latency mode: broker --direct, no CURVE) (env ") +
                       options::kWorkerEndpointVariable + ")")
        ->envname(options::kWorkerEndpointVariable)
        ->type_name("ENDPOINT");
    app.add_option("--queue", result.queues, "Queue to serve; repeat to serve several with the same handler")
        ->type_name("NAME")
        ->take_all()
        ->check([](const std::string& queue) -> std::string {
            if (queue.empty() || queue.size() > protocol::kMaxQueueNameBytes) {
                return "queue names are 1 to " + std::to_string(protocol::kMaxQueueNameBytes) + " bytes";
            }
            return {};
        });
}

void CommandLineParser::Flags::add_credit_flags() {
    auto& options = result.options;
    app.add_option("--capacity", options.capacity, "Jobs held at once: the credit given to the broker, at least 1")
        ->type_name("N")
        ->check(CLI::Range(std::uint32_t{1}, protocol::kMaxCapacity))
        ->capture_default_str();
    auto* threads = app.add_option("--threads", options.handler_threads,
                                   "Threads that run handlers, 1 to --capacity (default: one per unit of --capacity)")
                        ->type_name("N")
                        ->check(CLI::Range(std::uint32_t{1}, protocol::kMaxCapacity));
    auto* inline_flag = app.add_flag("--inline", options.runs_handlers_inline,
                                     "Run handlers on the I/O thread (only for handlers that take microseconds; the default for --builtin echo and noop)");
    threads->excludes(inline_flag);
    app.add_option("--batch", options.batch,
                   "Most jobs per JOBS message from the broker and per DONES to it, 1 to 1024 (1: one per "
                   "message; 0 is refused, as it would read as no limit)")
        ->type_name("N")
        ->check(CLI::Range(std::uint32_t{1}, protocol::kMaxBatchEntries))
        ->capture_default_str();
    app.add_option("--prefetch", options.prefetch,
                   "Most jobs held ready beyond --capacity, 0 to 64, so that the next job is here when one ends; "
                   "the broker holds as many as this worker gets through in 10 ms (at least one) and takes a "
                   "ready job back when another worker sits idle (0: none)")
        ->type_name("N")
        ->check(CLI::Range(std::uint32_t{0}, protocol::kMaxPrefetch))
        ->capture_default_str();
}

void CommandLineParser::Flags::add_process_flags() {
    auto& options = result.options;
    app.add_option("--id", options.name, "Worker name shown in the broker's stats (default: HOSTNAME:PID); unique among the connected "
                   "workers: the broker refuses a second worker under a name in use, and it retries until the name "
                   "is free")
        ->type_name("NAME");
    add_duration(app, "--direct-spin", options.direct_spin,
                 "With a direct:// --broker (the low-latency mode): after jobs come, poll without sleeping for this "
                 "long before waiting again; one core at 100 % while jobs come closer together than this, nothing "
                 "when idle. 0 = off",
                 std::chrono::milliseconds(0), std::chrono::milliseconds(60'000));
    add_duration(app, "--heartbeat", options.heartbeat_interval, "Heartbeat interval until the broker announces its own",
                 std::chrono::duration_cast<std::chrono::milliseconds>(protocol::kMinHeartbeatInterval),
                 std::chrono::duration_cast<std::chrono::milliseconds>(protocol::kMaxHeartbeatInterval));
    add_duration(app, "--timeout", command_timeout,
                 "Longest a command may run per job: it is then killed with its process group and the attempt "
                 "fails (the broker retries it while attempts remain); 0 = no limit");
    add_duration(app, "--drain-timeout", options.drain_timeout,
                 "On SIGINT/SIGTERM, how long to wait for in-flight jobs before leaving them to the broker; 0 = no "
                 "limit");
    options::add_log_flags(app, log_settings);
    app.add_option("--curve-server-key", curve_server_key_file,
                   "The broker's public key file: turns CURVE on, with --curve-key (env CORSAIR_CURVE_SERVER_KEY)")
        ->envname("CORSAIR_CURVE_SERVER_KEY")
        ->type_name("FILE");
    app.add_option("--curve-key", curve_key_file,
                   "This worker's secret key file, made by `corsair keygen`; its public half must be in the "
                   "broker's --allowed-keys with role worker (env CORSAIR_CURVE_KEY)")
        ->envname("CORSAIR_CURVE_KEY")
        ->type_name("FILE");
}

void CommandLineParser::Flags::add_handler_flags() {
    auto* builtin = app.add_option("--builtin", result.builtin, "Built-in handler instead of a command")
                        ->type_name("NAME")
                        ->check(CLI::IsMember({"echo", "noop", "sleep"}));
    auto* command =
        app.add_option("command", result.command, "Command run per job, after --")->type_name("COMMAND [ARGS...]");
    builtin->excludes(command);
    command->excludes(builtin);
}

CommandLineParser::CommandLineParser() : flags_(std::make_unique<Flags>()) {}

CommandLineParser::~CommandLineParser() = default;

std::variant<CommandLine, int> CommandLineParser::parse(int argc, const char* const* argv) {
    // CLI11 clears its own parse results; the values it wrote into are ours to reset.
    static_cast<FlagValues&>(*flags_) = FlagValues{};
    auto& result = flags_->result;
    auto& options = result.options;
    auto& settings = *flags_->settings;
    // A usage error is in the format asked for (one JSON object under --log-format json): as the
    // command line and environment say while parsing, then as every layer says.
    const auto early_log_settings = options::log_settings_before_parsing(argc, argv);
    const auto usage_before = [&early_log_settings](std::string_view program, std::string_view message) {
        return options::usage_error_as(std::cerr, early_log_settings, "worker", program, message);
    };
    if (const auto exit_code = settings.parse(argc, argv, std::cout, usage_before)) return *exit_code;
    const auto usage_error = [&log_settings = flags_->log_settings](std::string_view message) {
        return options::usage_error_as(std::cerr, log_settings, "worker", "corsair-worker", message);
    };
    result.log_level = flags_->log_settings.level;
    result.log_format = flags_->log_settings.format;
    const auto handlers_problem = gather_handlers(result, settings, flags_->command_timeout);
    // --print-config shows a file's [[handler]] tables once they are known to be right; it needs
    // no handler otherwise, so that it can show the defaults alone.
    const bool has_tables = !settings.tables("handler").empty();
    if (!handlers_problem.empty() && (has_tables || !settings.wants_print_config())) {
        return usage_error(handlers_problem);
    }
    if (settings.wants_print_config()) {
        settings.print_config(std::cout);
        return options::exit_status(options::ExitCode::ok);
    }
    if (const auto problem = problem_of(result); !problem.empty()) {
        return usage_error(problem);
    }
    try {
        options.curve = protocol::CurveClientKeys::from_files(flags_->curve_server_key_file, flags_->curve_key_file);
    } catch (const protocol::KeyFileError& e) {
        return usage_error(e.what());
    }
    // A command that cannot run would fail every job it is given: refuse it before taking any.
    for (const auto& handler : result.handlers) {
        if (handler.command.empty()) continue;
        const CommandPath found = find_command(handler.command.front());
        if (!found.is_found()) {
            return usage_error((handler.where.empty() ? "" : handler.where + ": ") +
                               "cannot serve with this command: " + found.problem);
        }
    }
    return result;
}

std::variant<CommandLine, int> parse_command_line(int argc, const char* const* argv) {
    return CommandLineParser().parse(argc, argv);
}

Handler make_handler(const HandlerSpec& spec) {
    if (!spec.builtin.empty()) {
        auto handler = builtin_handler(spec.builtin);
        if (!handler) throw std::invalid_argument("unknown built-in handler: " + spec.builtin);
        return *handler;
    }
    return ExecHandler(spec.command, std::numeric_limits<std::size_t>::max(), spec.timeout);
}

WorkerOptions options_for(const CommandLine& command_line, const HandlerSpec& spec) {
    WorkerOptions options = command_line.options;
    options.capacity = spec.capacity;
    // An instant built-in needs no handler thread: on the I/O thread it saves two hand-offs a job.
    if (is_instant_builtin(spec.builtin) && options.handler_threads == 0) options.runs_handlers_inline = true;
    if (command_line.handlers.size() > 1) {
        options.name = (options.name.empty() ? default_worker_name() : options.name) + "/" + spec.queues.front();
    }
    return options;
}

}  // namespace corsair::worker
