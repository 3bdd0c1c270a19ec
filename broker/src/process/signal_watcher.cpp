#include "corsair/broker/signal_watcher.hpp"

#include <csignal>

#include <pthread.h>

namespace corsair::broker {

namespace {

// Blocked in the calling thread (main, before any other thread starts), so that every thread
// started later inherits the mask and only the watcher reads them.
sigset_t blocked_signals() {
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    return signals;
}

}  // namespace

SignalWatcher::SignalWatcher(std::function<void(int)> on_signal) : wait_(blocked_signals()) {
    // Past a file size limit (ulimit -f) a write must fail with EFBIG, which the journal treats
    // as a full disk, rather than kill the broker.
    std::signal(SIGXFSZ, SIG_IGN);
    thread_ = std::jthread([this, on_signal = std::move(on_signal)](std::stop_token stop) {
        while (!stop.stop_requested()) {
            const int received = wait_.wait();
            if (received > 0) on_signal(received);
        }
    });
}

SignalWatcher::~SignalWatcher() {
    thread_.request_stop();
    wait_.wake();
    thread_.join();
}

}  // namespace corsair::broker
