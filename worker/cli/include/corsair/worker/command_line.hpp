// The corsair-worker command line: flags parsed into WorkerOptions plus the handler to run.
// Lives in the library so that main.cpp stays thin and the parsing is testable.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "corsair/worker/handler.hpp"
#include "corsair/worker/worker_options.hpp"

namespace corsair::worker {

// One handler of the process: the queues it serves, what runs each job, how many at once. The
// flags give one; each [[handler]] table of --config gives one more, served by a Worker (and a
// connection) of its own, so that each has its own capacity.
struct HandlerSpec {
    std::vector<std::string> queues;
    std::string builtin;               // "echo", "noop" or "sleep"; empty when `command` is given
    std::vector<std::string> command;  // argv run per job by ExecHandler
    std::uint32_t capacity = 1;
    std::chrono::milliseconds timeout{0};  // a command running longer is killed; 0 = no limit
    std::string where;                 // "FILE:LINE" of its [[handler]] table; empty from flags
};

struct CommandLine {
    WorkerOptions options;
    // The flags' handler (--queue, --builtin or -- COMMAND), empty when the file has [[handler]] tables.
    std::vector<std::string> queues;
    std::string builtin;
    std::vector<std::string> command;
    std::vector<HandlerSpec> handlers;  // what the process serves: the flags' one or the file's
    std::string log_level = "info";    // --log-level (options/log_format.hpp)
    std::string log_format = "text";   // --log-format
};

// Parses argv, the CORSAIR_* environment and the --config file (options/config_file.hpp;
// CORSAIR_WORKER_ENDPOINT stands in for --broker, CORSAIR_BROKER is refused with a hint). On
// --help, --version or --print-config, or on a usage error (printed to stderr with a hint),
// returns the exit code main should return instead: 0 or 2.
std::variant<CommandLine, int> parse_command_line(int argc, const char* const* argv);

// The same parser, built once and used for any number of argvs: building the app costs far more
// than parsing one argv (fuzz_command_line parses millions). Each parse starts from the defaults.
class CommandLineParser {
public:
    CommandLineParser();
    ~CommandLineParser();
    CommandLineParser(const CommandLineParser&) = delete;
    CommandLineParser& operator=(const CommandLineParser&) = delete;

    std::variant<CommandLine, int> parse(int argc, const char* const* argv);

private:
    struct Flags;
    std::unique_ptr<Flags> flags_;
};

// The handler a HandlerSpec asks for: a built-in or an ExecHandler.
Handler make_handler(const HandlerSpec& spec);

// The options of the Worker serving `spec`: `base` with the handler's capacity, and, when the
// process serves several handlers, a name of its own ("NAME/QUEUE"), since the broker refuses
// two workers under one name.
WorkerOptions options_for(const CommandLine& command_line, const HandlerSpec& spec);

}  // namespace corsair::worker
