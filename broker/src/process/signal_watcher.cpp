#include "corsair/broker/signal_watcher.hpp"

#include <csignal>
#include <ctime>

#include <pthread.h>

namespace corsair::broker {

SignalWatcher::SignalWatcher(std::function<void(int)> on_signal) {
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    // Past a file size limit (ulimit -f) a write must fail with EFBIG, which the journal treats
    // as a full disk, rather than kill the broker.
    std::signal(SIGXFSZ, SIG_IGN);
    thread_ = std::jthread([signals, on_signal = std::move(on_signal)](std::stop_token stop) {
        // sigtimedwait's timeout only bounds how long the destructor's join can take.
        const timespec step{0, 100'000'000};
        while (!stop.stop_requested()) {
            const int received = sigtimedwait(&signals, nullptr, &step);
            if (received > 0) on_signal(received);
        }
    });
}

SignalWatcher::~SignalWatcher() = default;

}  // namespace corsair::broker
