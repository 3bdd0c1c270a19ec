// The loop's wait for work: what zmq::poll does for a few ZeroMQ sockets and raw descriptors,
// in fewer system calls. Owned by the loop thread, as its sockets are.
//
// zmq::poll asks every ZeroMQ socket in its set for its events (ZMQ_EVENTS) before it blocks,
// polls every descriptor once without blocking, blocks, then asks every socket again. Each ask
// is two system calls (getpid, libzmq's fork check, and a poll of the socket's mailbox) even
// when nothing came, and a system call costs about a microsecond on a VM: with jobs coming one
// at a time, the broker made 26 polls and 30 getpids per job. Here a socket is asked only when
// it may hold a message the mailbox descriptor will not announce (ZMQ_FD is edge-like: it turns
// readable when commands arrive for the socket, and a send or a receive on the socket may
// consume them): after a send on it, after a receive that did not end in EAGAIN, and at start.
// After the block, a socket whose descriptor turned readable is reported as a candidate, and
// the caller receives from it until EAGAIN, which settles it.
#pragma once

#include <poll.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

#include <zmq.hpp>

namespace corsair::broker {

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

}  // namespace corsair::broker
