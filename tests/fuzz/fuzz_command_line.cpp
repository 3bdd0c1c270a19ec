// The command lines of corsair-broker (add_broker_flags and add_http_flags, as its main() parses
// them), corsair-worker (CommandLineParser, as parse_command_line) and corsair (CliApp, as
// run_cli). Each is built once and reused, one input in 16 being parsed by a fresh one as well,
// which must agree: building costs 1 to 6 ms, parsing a fraction of it. The first input byte picks
// the program (byte % 3) and whether the first argument is the text of a --config file
// (byte / 3 % 2, so that the TOML reader and each program's keys and [[handler]] tables are
// fuzzed too); the rest is its argv, NUL-separated. Parsing must end in a usage error or a parsed
// command line, never a crash nor any other exception.
//
// corsair's run_cli goes on to run the command it parsed; here it gets a ZeroMQ context already
// shut down, so the first socket it opens throws zmq::error_t ETERM (counted as "parsed"), a
// resolver that resolves nothing, an empty stdin, and an empty working directory, and arguments
// that name a file outside that directory are skipped, so no run reads a real file.
#include <netdb.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <functional>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include <CLI/CLI.hpp>
#include <zmq.hpp>

#include "cli_app.hpp"
#include "corsair/broker/broker_cli.hpp"
#include "corsair/http/http_options.hpp"
#include "corsair/options/config_file.hpp"
#include "corsair/options/flags.hpp"
#include "corsair/protocol/text.hpp"
#include "corsair/worker/command_line.hpp"
#include "fuzz_input.hpp"

// No name resolves: keeps resolve_problem() off the network. Takes the place of libc's.
extern "C" int getaddrinfo(const char*, const char*, const struct addrinfo*, struct addrinfo** found) {
    *found = nullptr;
    return EAI_NONAME;
}

namespace {

using corsair::fuzz::check;

struct Quiet {
    Quiet() {
        // The worker's parser prints to std::cout and std::cerr; libFuzzer's reports use stderr's FILE.
        std::cout.rdbuf(sink.rdbuf());
        std::cerr.rdbuf(sink.rdbuf());
        char name[] = "/dev/shm/corsair-fuzz-cli-XXXXXX";
        check(::mkdtemp(name) != nullptr, "mkdtemp failed");
        check(::chdir(name) == 0, "chdir failed");
        ::unsetenv("CORSAIR_BROKER");
        context.shutdown();
    }
    std::ostringstream sink;
    zmq::context_t context;
};

Quiet& quiet() {
    static Quiet instance;
    instance.sink.str({});
    return instance;
}

std::vector<const char*> argv_of(const char* program, const std::vector<std::string>& arguments) {
    std::vector<const char*> argv{program};
    for (const auto& argument : arguments) argv.push_back(argument.c_str());
    argv.push_back(nullptr);
    return argv;
}

// corsair-broker's flags bound to their settings, with its --config layers, as its main() builds
// them.
struct BrokerCommandLine {
    BrokerCommandLine() {
        corsair::broker::add_broker_flags(app, options, log_settings, salvage);
        corsair::http::add_http_flags(app, http_options);
        settings.emplace(app, "corsair-broker", std::set<std::string>{"salvage"});
    }
    corsair::broker::BrokerOptions options;
    corsair::http::HttpOptions http_options;
    corsair::options::LogSettings log_settings;
    bool salvage = false;
    CLI::App app{corsair::broker::kBrokerDescription, "corsair-broker"};
    std::optional<corsair::options::ConfigLayers> settings;
};

// The exit code main() would return for argv (nullopt: parsed, it would serve), what it printed,
// and, once parsed, the settings in force as --print-config shows them.
struct BrokerParse {
    std::optional<int> code;
    std::string out;
    std::string err;
    std::string settings;
};

BrokerParse parse_broker_with(BrokerCommandLine& line, const std::vector<const char*>& argv) {
    std::ostringstream out;
    std::ostringstream err;
    auto code = line.settings->parse(static_cast<int>(argv.size() - 1), argv.data(), out, err);
    std::ostringstream settings;
    if (!code) line.settings->print_config(settings);
    if (!code && line.settings->wants_print_config()) {
        out << settings.str();
        code = 0;
    }
    return {code, out.str(), err.str(), settings.str()};
}

// Building the app costs far more than parsing one argv, so one app serves every input: CLI11
// clears its own parse state when parse() is called again, ConfigLayers its own, and the settings
// are reset to their defaults here (every flag writes into them, so nothing else carries over).
// One input in 16, picked by its bytes, is parsed by a freshly built app as well, and both must
// agree, down to every setting in force and where it came from.
void parse_broker(const std::vector<const char*>& argv, bool should_compare_with_fresh_app) {
    static BrokerCommandLine reused;
    reused.options = {};
    reused.http_options = {};
    reused.log_settings = {};
    reused.salvage = false;
    const auto parsed = parse_broker_with(reused, argv);
    check(!parsed.code || *parsed.code == 0 || *parsed.code == 2,
          "corsair-broker's parser returned exit code " + std::to_string(*parsed.code));
    if (!should_compare_with_fresh_app) return;
    BrokerCommandLine fresh;
    const auto again = parse_broker_with(fresh, argv);
    check(again.code == parsed.code && again.out == parsed.out && again.err == parsed.err,
          "corsair-broker's reused app parsed an argv otherwise than a fresh one:\n" +
              corsair::protocol::printable(parsed.out + parsed.err, 4000) + "\n-- a fresh app:\n" +
              corsair::protocol::printable(again.out + again.err, 4000));
    check(again.settings == parsed.settings, "corsair-broker's reused app holds other settings than a fresh one:\n" +
                                                 parsed.settings + "\n-- a fresh app:\n" + again.settings);
}

// `text` with the clock taken out: a usage error under --log-format json (given, or from a --config
// file) is a JSON line whose "time" is the wall clock's, which differs between two parses.
std::string without_times(std::string text) {
    static constexpr std::string_view kTime = "{\"time\":\"";
    for (auto at = text.find(kTime); at != std::string::npos; at = text.find(kTime, at + 1)) {
        const auto begin = at + kTime.size();
        const auto end = text.find('"', begin);
        if (end == std::string::npos) break;
        text.erase(begin, end - begin);
    }
    return text;
}

// What corsair-worker's parser made of an argv: a command line, or an exit code and what it
// printed.
struct WorkerParse {
    std::variant<corsair::worker::CommandLine, int> parsed;
    std::string printed;
};

WorkerParse parse_worker_with(corsair::worker::CommandLineParser& parser, const std::vector<const char*>& argv) {
    auto& sink = quiet().sink;
    sink.str({});
    auto parsed = parser.parse(static_cast<int>(argv.size() - 1), argv.data());
    return {std::move(parsed), sink.str()};
}

bool same_settings(const corsair::worker::CommandLine& a, const corsair::worker::CommandLine& b) {
    const auto& x = a.options;
    const auto& y = b.options;
    const auto same_handler = [](const corsair::worker::HandlerSpec& p, const corsair::worker::HandlerSpec& q) {
        return p.queues == q.queues && p.builtin == q.builtin && p.command == q.command && p.capacity == q.capacity &&
               p.timeout == q.timeout && p.where == q.where;
    };
    return a.queues == b.queues && a.builtin == b.builtin && a.command == b.command && a.log_level == b.log_level &&
           a.log_format == b.log_format && a.handlers.size() == b.handlers.size() &&
           std::equal(a.handlers.begin(), a.handlers.end(), b.handlers.begin(), same_handler) &&
           x.broker_endpoint == y.broker_endpoint && x.name == y.name && x.capacity == y.capacity &&
           x.handler_threads == y.handler_threads && x.runs_handlers_inline == y.runs_handlers_inline &&
           x.batch == y.batch && x.prefetch == y.prefetch && x.heartbeat_interval == y.heartbeat_interval &&
           x.drain_timeout == y.drain_timeout;
}

// As the broker's: one parser serves every input, and one input in 16 is parsed by a fresh one too.
void parse_worker(const std::vector<const char*>& argv, bool should_compare_with_fresh_parser) {
    static corsair::worker::CommandLineParser reused;
    const auto parse = parse_worker_with(reused, argv);
    if (const int* code = std::get_if<int>(&parse.parsed)) {
        check(*code == 0 || *code == 2, "corsair-worker's parser returned exit code " + std::to_string(*code));
    } else {
        // The flags' handler, or one per [[handler]] table of the --config file.
        const auto& line = std::get<corsair::worker::CommandLine>(parse.parsed);
        check(!line.handlers.empty(), "corsair-worker parsed a command line without a handler");
        for (const auto& handler : line.handlers) {
            check(!handler.queues.empty(), "corsair-worker parsed a handler without a queue");
            check(handler.builtin.empty() != handler.command.empty(), "corsair-worker parsed a handler with no way to run a job, or two");
            check(handler.capacity >= 1, "corsair-worker parsed a handler of capacity 0");
        }
    }
    if (!should_compare_with_fresh_parser) return;
    corsair::worker::CommandLineParser fresh;
    const auto again = parse_worker_with(fresh, argv);
    check(without_times(again.printed) == without_times(parse.printed) && again.parsed.index() == parse.parsed.index(),
          "corsair-worker's reused parser parsed an argv otherwise than a fresh one:\n" +
              corsair::protocol::printable(parse.printed, 4000) + "\n-- a fresh parser:\n" +
              corsair::protocol::printable(again.printed, 4000));
    if (const int* code = std::get_if<int>(&parse.parsed)) {
        check(*code == std::get<int>(again.parsed), "corsair-worker's reused parser gave another exit code");
    } else {
        check(same_settings(std::get<corsair::worker::CommandLine>(parse.parsed),
                            std::get<corsair::worker::CommandLine>(again.parsed)),
              "corsair-worker's reused parser holds other values than a fresh one");
    }
}

// In the empty working directory: the --config file of an input that has one.
constexpr const char* kConfigFile = "settings.toml";

// Whether an argument could make the CLI read a file outside its empty working directory.
bool names_outside_file(const std::string& argument) {
    return (!argument.empty() && (argument.front() == '/' || argument.front() == '~')) ||
           argument.find("..") != std::string::npos || argument.find("=/") != std::string::npos;
}

// What one run of `corsair` did: its exit code (nullopt: it reached ZeroMQ) and what it printed.
struct CliRun {
    std::optional<int> code;
    std::string out;
    std::string err;
    bool operator==(const CliRun& other) const { return code == other.code && out == other.out && err == other.err; }
};

CliRun run_cli_with(corsair::producer::cli::CliApp& app, const std::vector<const char*>& argv,
                    zmq::context_t& context) {
    std::ostringstream out;
    std::ostringstream err;
    std::istringstream in;
    corsair::producer::cli::CliStreams streams{out, err, in};
    streams.now = [] { return std::chrono::system_clock::time_point(std::chrono::seconds(1'750'000'000)); };
    CliRun run;
    try {
        run.code = app.run(context, static_cast<int>(argv.size() - 1), argv.data(), streams);
    } catch (const zmq::error_t& e) {
        check(e.num() == ETERM, std::string("corsair reached ZeroMQ with an error other than the context's end: ") + e.what());
    }
    run.out = without_times(out.str());
    run.err = without_times(err.str());
    return run;
}

std::string described(const CliRun& run) {
    return "exit " + (run.code ? std::to_string(*run.code) : std::string("(reached ZeroMQ)")) + "\nstdout: " +
           corsair::protocol::printable(run.out, 4000) + "\nstderr: " + corsair::protocol::printable(run.err, 4000);
}

// The same for a --config file's text: a quoted value that starts at the root or home, or any "..".
bool names_outside_file_in_config(std::string_view text) {
    for (const char* outside : {"\"/", "'/", "\"~", "'~", ".."}) {
        if (text.find(outside) != std::string_view::npos) return true;
    }
    return false;
}

// Removes what earlier inputs wrote in the working directory (`corsair keygen` writes key files),
// all but the --config file of this input.
void empty_working_directory() {
    for (const auto& entry : std::filesystem::directory_iterator(".")) {
        if (entry.path().filename() != kConfigFile) std::filesystem::remove_all(entry.path());
    }
}

// As the broker's: one CliApp serves every input, and one input in 16 is run by a fresh one too,
// each from an empty working directory, so that both find the same files.
void run_cli(const std::vector<std::string>& arguments, zmq::context_t& context, bool should_compare_with_fresh_app) {
    for (const auto& argument : arguments) {
        if (names_outside_file(argument)) return;
    }
    const auto argv = argv_of("corsair", arguments);
    static corsair::producer::cli::CliApp reused;
    if (should_compare_with_fresh_app) empty_working_directory();
    const auto run = run_cli_with(reused, argv, context);
    // `corsair keygen` prints a new random key each run: nothing to compare.
    const bool is_keygen = std::find(arguments.begin(), arguments.end(), "keygen") != arguments.end();
    if (!should_compare_with_fresh_app || is_keygen) return;
    empty_working_directory();
    corsair::producer::cli::CliApp fresh;
    const auto again = run_cli_with(fresh, argv, context);
    check(again == run, "corsair's reused app ran an argv otherwise than a fresh one:\n" + described(run) +
                            "\n-- a fresh app:\n" + described(again));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    auto& state = quiet();
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    auto arguments = corsair::fuzz::split_arguments(input.substr(1), 64);
    // With the program's second bit set, the first argument is a --config file's text.
    if ((data[0] / 3) % 2 == 1) {
        const std::string text = arguments.empty() ? std::string() : arguments.front();
        if (names_outside_file_in_config(text)) return 0;
        std::ofstream(kConfigFile, std::ios::trunc) << text;
        if (!arguments.empty()) arguments.erase(arguments.begin());
        arguments.insert(arguments.begin(), {"--config", kConfigFile});
    }
    const bool should_compare_with_fresh_app = std::hash<std::string_view>{}(input) % 16 == 0;
    switch (data[0] % 3) {
        case 0:
            parse_broker(argv_of("corsair-broker", arguments), should_compare_with_fresh_app);
            break;
        case 1:
            parse_worker(argv_of("corsair-worker", arguments), should_compare_with_fresh_app);
            break;
        default:
            run_cli(arguments, state.context, should_compare_with_fresh_app);
            break;
    }
    return 0;
}
