// corsair-worker: flags, logger, signals, then Worker::run(). Everything else is in the library.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <exception>
#include <stdexcept>
#include <variant>
#include <zmq.hpp>

#include "corsair/options/endpoint.hpp"
#include "corsair/options/exit_code.hpp"
#include "corsair/options/log_format.hpp"
#include "corsair/worker/command_line.hpp"
#include "corsair/worker/exec_handler.hpp"
#include "corsair/worker/shutdown_signals.hpp"
#include "corsair/worker/worker.hpp"

int main(int argc, char** argv) {
    using namespace corsair::worker;
    // Before any thread exists, so that only the signal thread ever receives SIGINT/SIGTERM.
    ShutdownSignals::block();

    auto parsed = parse_command_line(argc, argv);
    if (const int* exit_code = std::get_if<int>(&parsed)) return *exit_code;
    auto& command_line = std::get<CommandLine>(parsed);

    auto log = std::make_shared<spdlog::logger>("worker", std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
    corsair::options::use_log_settings(*log, {command_line.log_level, command_line.log_format});
    log->flush_on(spdlog::level::info);

    if (auto problem = corsair::options::resolve_problem(command_line.options.broker_endpoint)) {
        std::fprintf(stderr, "corsair-worker: %s\n", problem->c_str());
        return corsair::options::exit_status(corsair::options::ExitCode::unreachable);
    }
    zmq::context_t context;
    try {
        Worker worker(context, command_line.options, log);
        const Handler handler = make_handler(command_line);
        for (const auto& queue : command_line.queues) worker.add_handler(queue, handler);
        ShutdownSignals signals(worker, log);
        worker.run();
        // Gave up after a command could not be started, round after round (start_failure_pause.hpp).
        if (worker.has_given_up()) return corsair::options::exit_status(corsair::options::ExitCode::fatal);
    } catch (const std::invalid_argument& e) {
        // A configuration the broker or the system refused: the wrong endpoint, a bad handler.
        log->error("worker cannot run: {}", e.what());
        return corsair::options::exit_status(corsair::options::ExitCode::usage);
    } catch (const std::exception& e) {
        log->error("worker failed: {}", e.what());
        return corsair::options::exit_status(corsair::options::ExitCode::fatal);
    }
    return corsair::options::exit_status(corsair::options::ExitCode::ok);
}
