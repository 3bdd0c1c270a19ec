// A wake-up one thread gives another: an eventfd. notify() may be called from any thread (and
// is async-signal-safe); the owner polls fd() with poll(2) or as a raw descriptor in a
// zmq::poll item, and take() clears it.
//
// Why not an inproc ZeroMQ pair: zmq::poll asks every ZeroMQ socket in its set for its events
// before it blocks and again after, and each ask is two system calls (getpid, for libzmq's fork
// check, and a poll of the socket's mailbox) even when nothing came. A raw descriptor costs
// nothing beyond the one poll(2) of the whole set. On a VM a system call costs about a
// microsecond, and the broker's loop waits once or twice per job when jobs come one at a time.
#pragma once

#include <cstdint>

namespace corsair::broker {

class WakeSignal {
public:
    // Throws std::system_error when no eventfd can be made.
    WakeSignal();
    ~WakeSignal();
    WakeSignal(const WakeSignal&) = delete;
    WakeSignal& operator=(const WakeSignal&) = delete;

    // Makes fd() readable until take(). Never blocks.
    void notify() noexcept;
    // How many notify() calls since the last take() (0: none), and fd() is no longer readable. Never blocks.
    std::uint64_t take() noexcept;
    int fd() const noexcept { return fd_; }

private:
    int fd_;
};

}  // namespace corsair::broker
