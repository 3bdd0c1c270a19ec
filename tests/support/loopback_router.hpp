// The socket half of the fake brokers in the worker and producer unit tests: a ROUTER bound on
// tcp://127.0.0.1:* (an ephemeral port, read back) with ROUTER_MANDATORY, as the real broker has.
// Used by one thread only.
#pragma once

#include <string>

#include <corsair/protocol/protocol.hpp>
#include <zmq.hpp>

namespace corsair::test {

class LoopbackRouter {
public:
    // One decoded message and the routing id of the peer that sent it.
    struct Received {
        zmq::message_t routing_id;
        protocol::Message message;
    };

    explicit LoopbackRouter(zmq::context_t& context) : socket_(context, zmq::socket_type::router) {
        socket_.set(zmq::sockopt::linger, 0);
        socket_.set(zmq::sockopt::router_mandatory, 1);
        socket_.bind("tcp://127.0.0.1:*");
        endpoint_ = socket_.get(zmq::sockopt::last_endpoint);
    }

    const std::string& endpoint() const noexcept { return endpoint_; }

protected:
    zmq::socket_t socket_;

private:
    std::string endpoint_;
};

}  // namespace corsair::test
