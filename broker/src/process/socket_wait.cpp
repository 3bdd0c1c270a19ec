#include "corsair/broker/socket_wait.hpp"

#include <algorithm>
#include <cerrno>
#include <limits>
#include <stdexcept>
#include <system_error>

namespace corsair::broker {

SocketWait::SocketWait(const std::vector<zmq::socket_t*>& sockets, const std::vector<int>& descriptors)
    : sockets_(sockets), may_hold_(sockets.size(), true) {
    if (sockets.size() + descriptors.size() > 32) throw std::invalid_argument("SocketWait: at most 32 items");
    for (zmq::socket_t* socket : sockets_) polled_.push_back({socket->get(zmq::sockopt::fd), POLLIN, 0});
    for (const int descriptor : descriptors) polled_.push_back({descriptor, POLLIN, 0});
}

std::uint32_t SocketWait::wait(std::chrono::milliseconds timeout) {
    std::uint32_t ready = 0;
    for (std::size_t i = 0; i < sockets_.size(); ++i) {
        if (!may_hold_[i]) continue;
        may_hold_[i] = false;
        if (sockets_[i]->get(zmq::sockopt::events) & ZMQ_POLLIN) ready |= std::uint32_t{1} << i;
    }
    // Work already waits: look at the rest without blocking, so that a busy socket never hides
    // the others (a stop request, the journal's news).
    const int poll_timeout =
        ready != 0 ? 0 : static_cast<int>(std::clamp<std::int64_t>(timeout.count(), 0, std::numeric_limits<int>::max()));
    const int count = ::poll(polled_.data(), polled_.size(), poll_timeout);
    if (count < 0 && errno != EINTR) throw std::system_error(errno, std::generic_category(), "poll");
    if (count <= 0) return ready;
    for (std::size_t i = 0; i < polled_.size(); ++i) {
        if (polled_[i].revents != 0) ready |= std::uint32_t{1} << i;
    }
    return ready;
}

}  // namespace corsair::broker
