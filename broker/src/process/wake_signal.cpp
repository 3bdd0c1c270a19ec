#include "corsair/broker/wake_signal.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace corsair::broker {

WakeSignal::WakeSignal() : fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
}

WakeSignal::~WakeSignal() { ::close(fd_); }

void WakeSignal::notify() noexcept {
    const std::uint64_t one = 1;
    // Fails only at a counter of 2^64 - 2 (EAGAIN), which leaves the descriptor readable anyway.
    [[maybe_unused]] const auto written = ::write(fd_, &one, sizeof one);
}

std::uint64_t WakeSignal::take() noexcept {
    std::uint64_t count = 0;
    // EAGAIN: nothing was notified; the counter reads as 0.
    if (::read(fd_, &count, sizeof count) != static_cast<ssize_t>(sizeof count)) return 0;
    return count;
}

}  // namespace corsair::broker
