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

void parse_broker(const std::vector<const char*>& argv) {
    corsair::broker::BrokerOptions options;
    corsair::http::HttpOptions http_options;
    corsair::options::LogSettings log_settings;
    bool salvage = false;
    CLI::App app{corsair::broker::kBrokerDescription, "corsair-broker"};
    corsair::broker::add_broker_flags(app, options, log_settings, salvage);
    corsair::http::add_http_flags(app, http_options);
    std::ostringstream out;
    std::ostringstream err;
    const auto code =
        corsair::options::parse_or_exit(app, static_cast<int>(argv.size() - 1), argv.data(), out, err);
    check(!code || *code == 0 || *code == 2, "corsair-broker's parser returned exit code " + std::to_string(*code));
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
    const auto arguments =
        corsair::fuzz::split_arguments(std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1), 64);
    switch (data[0] % 3) {
        case 0:
            parse_broker(argv_of("corsair-broker", arguments));
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
