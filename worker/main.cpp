// corsair-worker: flags, logger, signals, then Worker::run(). Everything else is in the library.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <exception>
#include <variant>
#include <zmq.hpp>

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
    log->set_level(command_line.log_level);
    log->flush_on(spdlog::level::info);

    zmq::context_t context;
    try {
        Worker worker(context, command_line.options, log);
        const Handler handler = make_handler(command_line);
        for (const auto& queue : command_line.queues) worker.add_handler(queue, handler);
        ShutdownSignals signals(worker, log);
        worker.run();
        if (worker.has_given_up()) return kCommandNotRunnableExitCode;
    } catch (const std::exception& e) {
        log->error("worker failed: {}", e.what());
        return 1;
    }
    return 0;
}
