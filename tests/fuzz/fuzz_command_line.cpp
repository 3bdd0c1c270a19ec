// The command lines of corsair-broker (add_broker_flags and add_http_flags, as its main() parses
// them), corsair-worker (parse_command_line) and corsair (run_cli). The first input byte picks
// the program, the rest is its argv, NUL-separated. Parsing must end in a usage error or a parsed
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
#include <cstdlib>
#include <iostream>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <zmq.hpp>

#include "cli_app.hpp"
#include "corsair/broker/broker_cli.hpp"
#include "corsair/http/http_options.hpp"
#include "corsair/options/flags.hpp"
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

// corsair-broker's flags bound to their settings, as its main() builds them.
struct BrokerCommandLine {
    BrokerCommandLine() {
        corsair::broker::add_broker_flags(app, options, log_settings, salvage);
        corsair::http::add_http_flags(app, http_options);
    }
    corsair::broker::BrokerOptions options;
    corsair::http::HttpOptions http_options;
    corsair::options::LogSettings log_settings;
    bool salvage = false;
    CLI::App app{corsair::broker::kBrokerDescription, "corsair-broker"};
};

// The exit code parse_or_exit returns for argv (nullopt: parsed), and what it printed.
struct BrokerParse {
    std::optional<int> code;
    std::string out;
    std::string err;
};

BrokerParse parse_broker_with(CLI::App& app, const std::vector<const char*>& argv) {
    std::ostringstream out;
    std::ostringstream err;
    const auto code =
        corsair::options::parse_or_exit(app, static_cast<int>(argv.size() - 1), argv.data(), out, err);
    return {code, out.str(), err.str()};
}

// Building the app costs far more than parsing one argv, so one app serves every input: CLI11
// clears its own parse state when parse() is called again, and the settings are reset to their
// defaults here (every flag writes into them, so nothing else carries over). One input in 16,
// picked by its bytes, is parsed by a freshly built app as well, and both must agree.
void parse_broker(const std::vector<const char*>& argv, bool should_compare_with_fresh_app) {
    static BrokerCommandLine reused;
    reused.options = {};
    reused.http_options = {};
    reused.log_settings = {};
    reused.salvage = false;
    const auto parsed = parse_broker_with(reused.app, argv);
    check(!parsed.code || *parsed.code == 0 || *parsed.code == 2,
          "corsair-broker's parser returned exit code " + std::to_string(*parsed.code));
    if (!should_compare_with_fresh_app) return;
    BrokerCommandLine fresh;
    const auto again = parse_broker_with(fresh.app, argv);
    check(again.code == parsed.code && again.out == parsed.out && again.err == parsed.err,
          "corsair-broker's reused app parsed an argv otherwise than a fresh one");
    if (!parsed.code) {
        check(fresh.app.config_to_str(true, false) == reused.app.config_to_str(true, false),
              "corsair-broker's reused app holds other values than a fresh one");
    }
}

void parse_worker(const std::vector<const char*>& argv) {
    const auto parsed = corsair::worker::parse_command_line(static_cast<int>(argv.size() - 1), argv.data());
    if (const int* code = std::get_if<int>(&parsed)) {
        check(*code == 0 || *code == 2, "corsair-worker's parser returned exit code " + std::to_string(*code));
        return;
    }
    const auto& line = std::get<corsair::worker::CommandLine>(parsed);
    check(!line.queues.empty(), "corsair-worker parsed a command line without a queue");
    check(line.builtin.empty() != line.command.empty(), "corsair-worker parsed no handler, or two");
}

// Whether an argument could make the CLI read a file outside its empty working directory.
bool names_outside_file(const std::string& argument) {
    return (!argument.empty() && (argument.front() == '/' || argument.front() == '~')) ||
           argument.find("..") != std::string::npos || argument.find("=/") != std::string::npos;
}

void run_cli(const std::vector<std::string>& arguments, zmq::context_t& context) {
    for (const auto& argument : arguments) {
        if (names_outside_file(argument)) return;
    }
    const auto argv = argv_of("corsair", arguments);
    std::ostringstream out;
    std::ostringstream err;
    std::istringstream in;
    corsair::producer::cli::CliStreams streams{out, err, in};
    streams.now = [] { return std::chrono::system_clock::time_point(std::chrono::seconds(1'750'000'000)); };
    try {
        corsair::producer::cli::run_cli(context, static_cast<int>(argv.size() - 1), argv.data(), streams);
    } catch (const zmq::error_t& e) {
        check(e.num() == ETERM, std::string("corsair reached ZeroMQ with an error other than the context's end: ") + e.what());
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    auto& state = quiet();
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const auto arguments = corsair::fuzz::split_arguments(input.substr(1), 64);
    switch (data[0] % 3) {
        case 0:
            parse_broker(argv_of("corsair-broker", arguments), std::hash<std::string_view>{}(input) % 16 == 0);
            break;
        case 1:
            parse_worker(argv_of("corsair-worker", arguments));
            break;
        default:
            run_cli(arguments, state.context);
            break;
    }
    return 0;
}
