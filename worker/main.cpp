// corsair-worker: flags, logger, signals, then Worker::run(). Everything else is in the library.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <exception>
#include <memory>
#include <thread>
#include <vector>
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

namespace {

// Runs every Worker, the first on this thread and the others on threads of their own; returns
// once all have ended. When one fails (or gives up), the others are drained, so that the
// process never goes on serving half of what its configuration says.
void run_all(std::vector<std::unique_ptr<corsair::worker::Worker>>& workers,
             const std::shared_ptr<spdlog::logger>& log) {
    std::vector<std::exception_ptr> failures(workers.size());
    auto run_one = [&](std::size_t i) {
        try {
            workers[i]->run();
        } catch (...) {
            failures[i] = std::current_exception();
        }
        if (failures[i] || workers[i]->has_given_up()) {
            if (workers.size() > 1) log->warn("a handler ended; draining the others");
            for (auto& other : workers) other->request_drain();
        }
    };
    std::vector<std::jthread> others;
    for (std::size_t i = 1; i < workers.size(); ++i) others.emplace_back(run_one, i);
    run_one(0);
    others.clear();
    for (auto& failure : failures) {
        if (failure) std::rethrow_exception(failure);
    }
}

}  // namespace

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
        // One Worker per handler: the flags give one, a --config file may give several.
        std::vector<std::unique_ptr<Worker>> workers;
        for (const auto& spec : command_line.handlers) {
            workers.push_back(std::make_unique<Worker>(context, options_for(command_line, spec), log));
            const Handler handler = make_handler(spec);
            for (const auto& queue : spec.queues) workers.back()->add_handler(queue, handler);
        }
        std::vector<Worker*> served;
        for (auto& worker : workers) served.push_back(worker.get());
        ShutdownSignals signals(served, log);
        run_all(workers, log);
        // Gave up after a command could not be started, round after round (start_failure_pause.hpp).
        for (const auto& worker : workers) {
            if (worker->has_given_up()) return corsair::options::exit_status(corsair::options::ExitCode::fatal);
        }
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
