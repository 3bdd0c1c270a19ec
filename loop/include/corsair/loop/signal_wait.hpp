// A thread's wait for signals of a set (a signalfd) that another thread can end (a WakeSignal):
// the broker's and the worker's signal threads block in it until a signal comes or they are
// told to stop, and cost nothing in between. A sigtimedwait() with a timeout, which they used
// before, woke ten times a second only to check whether to stop: most of an idle worker
// process's wake-ups (docs/performance.md, stop 36).
//
// The signals must be blocked in every thread of the process (block them in main before any
// thread starts), or the kernel delivers them to a thread that has them unblocked instead.
#pragma once

#include <poll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <system_error>

#include "corsair/loop/wake_signal.hpp"

namespace corsair::loop {

class SignalWait {
public:
    // Throws std::system_error when no signalfd or eventfd can be made.
    explicit SignalWait(const sigset_t& signals);
    ~SignalWait();
    SignalWait(const SignalWait&) = delete;
    SignalWait& operator=(const SignalWait&) = delete;

    // Blocks until one of the signals is pending for the process (or the calling thread) and
    // returns its number, having taken it; or until wake() and returns 0. For one thread only.
    // Throws std::system_error if poll(2) fails other than by EINTR, which on two descriptors of
    // its own only a kernel out of memory would do.
    int wait();
    // Ends the wait under way, or the next one, with 0. From any thread; never blocks.
    void wake() noexcept { wake_.notify(); }

private:
    int signal_fd_;
    WakeSignal wake_;
};

inline SignalWait::SignalWait(const sigset_t& signals)
    : signal_fd_(::signalfd(-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC)) {
    if (signal_fd_ < 0) throw std::system_error(errno, std::generic_category(), "signalfd");
}

inline SignalWait::~SignalWait() { ::close(signal_fd_); }

inline int SignalWait::wait() {
    for (;;) {
        pollfd fds[2] = {{signal_fd_, POLLIN, 0}, {wake_.fd(), POLLIN, 0}};
        if (::poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            throw std::system_error(errno, std::generic_category(), "poll on a signalfd");
        }
        if ((fds[1].revents & POLLIN) != 0) {
            wake_.take();
            return 0;
        }
        signalfd_siginfo info{};
        const auto got = ::read(signal_fd_, &info, sizeof info);
        // EAGAIN: another reader of the process's signals took it first; wait again.
        if (got == static_cast<ssize_t>(sizeof info)) return static_cast<int>(info.ssi_signo);
    }
}

}  // namespace corsair::loop
