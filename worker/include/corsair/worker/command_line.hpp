// The corsair-worker command line: flags parsed into WorkerOptions plus the handler to run.
// Lives in the library so that main.cpp stays thin and the parsing is testable.
#pragma once

#include <string>
#include <variant>
#include <vector>

#include "corsair/worker/handler.hpp"
#include "corsair/worker/worker_options.hpp"

namespace corsair::worker {

struct CommandLine {
    WorkerOptions options;
    std::vector<std::string> queues;
    std::string builtin;               // "echo", "noop" or "sleep"; empty when `command` is given
    std::vector<std::string> command;  // argv run per job by ExecHandler
    std::string log_level = "info";    // --log-level (options/log_format.hpp)
    std::string log_format = "text";   // --log-format
};

// Parses argv (CORSAIR_WORKER_ENDPOINT stands in for --broker; CORSAIR_BROKER is refused with a
// hint). On --help or --version, or on a usage error (printed to stderr with a hint), returns the
// exit code main should return instead: 0 or 2.
std::variant<CommandLine, int> parse_command_line(int argc, const char* const* argv);

// The handler the command line asks for: a built-in or an ExecHandler.
Handler make_handler(const CommandLine& command_line);

}  // namespace corsair::worker
