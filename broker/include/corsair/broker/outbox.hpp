// Where the Scheduler's outgoing messages go. The Broker implements it with its two ROUTER
// sockets; unit tests implement it with vectors. Called only on the broker's loop thread.
#pragma once

#include <string>

#include "corsair/protocol/codec.hpp"
#include "corsair/protocol/wire.hpp"

namespace corsair::broker {

// A ROUTER routing id: the bytes libzmq assigned to one peer connection.
using RoutingId = std::string;

class Outbox {
public:
    virtual ~Outbox() = default;
    // Both return how the send went; frames are consumed only when the status is `sent`.
    virtual protocol::SendStatus to_worker(const RoutingId& worker, protocol::Frames& frames) = 0;
    virtual protocol::SendStatus to_producer(const RoutingId& producer, protocol::Frames& frames) = 0;
};

}  // namespace corsair::broker
