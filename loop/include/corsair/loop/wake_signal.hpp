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

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <system_error>

namespace corsair::loop {

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

inline WakeSignal::WakeSignal() : fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
}

inline WakeSignal::~WakeSignal() { ::close(fd_); }

inline void WakeSignal::notify() noexcept {
    const std::uint64_t one = 1;
    // Fails only at a counter of 2^64 - 2 (EAGAIN), which leaves the descriptor readable anyway.
    [[maybe_unused]] const auto written = ::write(fd_, &one, sizeof one);
}

inline std::uint64_t WakeSignal::take() noexcept {
    std::uint64_t count = 0;
    // EAGAIN: nothing was notified; the counter reads as 0.
    if (::read(fd_, &count, sizeof count) != static_cast<ssize_t>(sizeof count)) return 0;
    return count;
}

}  // namespace corsair::loop
