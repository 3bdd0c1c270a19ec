// A loop's wait for work: what zmq::poll does for a few ZeroMQ sockets and raw descriptors, in
// fewer system calls. Owned by the loop's thread, as its sockets are (the broker's loop, the
// worker's I/O thread).
//
// zmq::poll asks every ZeroMQ socket in its set for its events (ZMQ_EVENTS) before it blocks,
// polls every descriptor once without blocking, blocks, then asks every socket again. Each ask
// is two system calls (getpid, libzmq's fork check, and a poll of the socket's mailbox) even
// when nothing came, and a system call costs about a microsecond on a VM: with jobs coming one
// at a time, the broker made 26 polls and 30 getpids per job, the worker 11 and 13. Here a
// socket is asked only when it may hold a message the mailbox descriptor will not announce
// (ZMQ_FD is edge-like: it turns readable when commands arrive for the socket, and a send or a
// receive on the socket may consume them): after a send on it, after a receive that did not end
// in EAGAIN, and at start.
// After the block, a socket whose descriptor turned readable is reported as a candidate, and
// the caller receives from it until EAGAIN, which settles it.
#pragma once

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <system_error>
#include <vector>

#include <zmq.hpp>

namespace corsair::loop {

class SocketWait {
public:
    // Items 0..sockets.size()-1 are the sockets, then the descriptors, in the order given.
    SocketWait(const std::vector<zmq::socket_t*>& sockets, const std::vector<int>& descriptors);

    // The caller sent on socket `item`, or received from it without reaching EAGAIN: it may hold
    // messages its descriptor will not announce.
    void touch(std::size_t item) noexcept { may_hold_[item] = true; }
    // A receive from socket `item` ended in EAGAIN: it holds nothing, and its descriptor will
    // announce what comes next.
    void drained(std::size_t item) noexcept { may_hold_[item] = false; }

    // Blocks up to `timeout` (0: not at all) for work. Bit i set: item i may have a message (a
    // socket: receive until EAGAIN, then drained(i)) or is readable (a descriptor). 0: timed out.
    std::uint32_t wait(std::chrono::milliseconds timeout);

private:
    std::vector<zmq::socket_t*> sockets_;
    std::vector<pollfd> polled_;  // the sockets' ZMQ_FD, then the descriptors
    std::vector<bool> may_hold_;
};

inline SocketWait::SocketWait(const std::vector<zmq::socket_t*>& sockets, const std::vector<int>& descriptors)
    : sockets_(sockets), may_hold_(sockets.size(), true) {
    if (sockets.size() + descriptors.size() > 32) throw std::invalid_argument("SocketWait: at most 32 items");
    for (zmq::socket_t* socket : sockets_) polled_.push_back({socket->get(zmq::sockopt::fd), POLLIN, 0});
    for (const int descriptor : descriptors) polled_.push_back({descriptor, POLLIN, 0});
}

inline std::uint32_t SocketWait::wait(std::chrono::milliseconds timeout) {
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

}  // namespace corsair::loop
