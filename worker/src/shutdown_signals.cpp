#include "corsair/worker/shutdown_signals.hpp"

#include <pthread.h>

#include <csignal>

#include "corsair/loop/signal_wait.hpp"

namespace corsair::worker {

namespace {

sigset_t shutdown_set() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    return set;
}

}  // namespace

void ShutdownSignals::block() {
    const sigset_t set = shutdown_set();
    ::pthread_sigmask(SIG_BLOCK, &set, nullptr);
    std::signal(SIGPIPE, SIG_IGN);
}

ShutdownSignals::ShutdownSignals(Worker& worker, std::shared_ptr<spdlog::logger> log)
    : ShutdownSignals(std::vector<Worker*>{&worker}, std::move(log)) {}

ShutdownSignals::ShutdownSignals(std::vector<Worker*> workers, std::shared_ptr<spdlog::logger> log)
    : workers_(std::move(workers)),
      log_(std::move(log)),
      wait_(std::make_unique<loop::SignalWait>(shutdown_set())),
      thread_([this](std::stop_token stop) { wait_for_signals(stop); }) {}

ShutdownSignals::~ShutdownSignals() {
    thread_.request_stop();
    wait_->wake();
    thread_.join();
}

void ShutdownSignals::wait_for_signals(std::stop_token stop) {
    int received = 0;
    while (!stop.stop_requested()) {
        const int signal_number = wait_->wait();
        if (signal_number <= 0) continue;
        ++received;
        if (received == 1) {
            log_->info("signal received signal={}; draining (send it again to stop now)",
                       ::sigabbrev_np(signal_number));
            for (auto* worker : workers_) worker->request_drain();
        } else {
            log_->info("signal received signal={}; stopping now", ::sigabbrev_np(signal_number));
            for (auto* worker : workers_) worker->request_stop();
        }
    }
}

}  // namespace corsair::worker
