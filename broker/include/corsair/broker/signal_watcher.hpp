// Turns SIGINT/SIGTERM (stop) and SIGHUP (reread files) into a callback on a dedicated thread. Construct it first in main,
// before any other thread exists, so every thread inherits the blocked signal mask.
#pragma once

#include <functional>
#include <thread>

#include "corsair/loop/signal_wait.hpp"

namespace corsair::broker {

class SignalWatcher {
public:
    // Blocks SIGINT, SIGTERM and SIGHUP in the calling thread and starts the watching thread, which
    // calls `on_signal(signal_number)` for each one received.
    explicit SignalWatcher(std::function<void(int)> on_signal);
    ~SignalWatcher();  // stops and joins the watching thread, at once
    SignalWatcher(const SignalWatcher&) = delete;
    SignalWatcher& operator=(const SignalWatcher&) = delete;

private:
    loop::SignalWait wait_;  // the thread sleeps in it until a signal comes or it is told to stop
    std::jthread thread_;
};

}  // namespace corsair::broker
