// ShutdownSignals: turns SIGINT/SIGTERM into Worker requests. The first signal asks for a drain,
// a second one for a prompt stop. Owns one thread that sleeps until a signal comes (a signalfd).
#pragma once

#include <spdlog/logger.h>

#include <memory>
#include <thread>
#include <vector>

#include "corsair/worker/worker.hpp"

namespace corsair::loop {
class SignalWait;
}

namespace corsair::worker {

class ShutdownSignals {
public:
    // Blocks SIGINT and SIGTERM in the calling thread and ignores SIGPIPE. Call first in main,
    // before any thread starts, so every thread inherits the mask and only ours receives them.
    static void block();

    // Starts the waiting thread. `worker` must outlive this object.
    ShutdownSignals(Worker& worker, std::shared_ptr<spdlog::logger> log);
    // The same for a process serving several handlers, one Worker each: a signal reaches them all.
    ShutdownSignals(std::vector<Worker*> workers, std::shared_ptr<spdlog::logger> log);
    // Stops and joins the waiting thread, at once.
    ~ShutdownSignals();
    ShutdownSignals(const ShutdownSignals&) = delete;
    ShutdownSignals& operator=(const ShutdownSignals&) = delete;

private:
    void wait_for_signals(std::stop_token stop);

    std::vector<Worker*> workers_;
    std::shared_ptr<spdlog::logger> log_;
    // Where the thread sleeps (corsair/loop/signal_wait.hpp, not installed: hence a pointer).
    std::unique_ptr<loop::SignalWait> wait_;
    std::jthread thread_;
};

}  // namespace corsair::worker
