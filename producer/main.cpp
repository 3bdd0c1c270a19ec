// corsair: the command-line producer. Flags and commands live in corsair_producer_cli.
#include <unistd.h>

#include <exception>
#include <iostream>

#include <zmq.hpp>

#include "cli_app.hpp"

int main(int argc, char** argv) {
    try {
        zmq::context_t context;
        corsair::producer::cli::CliStreams streams{std::cout, std::cerr, std::cin, ::isatty(STDERR_FILENO) == 1};
        streams.is_out_terminal = ::isatty(STDOUT_FILENO) == 1;
        return corsair::producer::cli::run_cli(context, argc, argv, streams);
    } catch (const std::exception& e) {
        std::cerr << "corsair: " << e.what() << '\n';
        return 6;  // fatal runtime error (docs/cli.md, Exit codes)
    }
}
