#include "ceiling_proxy.hpp"

#include <cstdio>

#include "corsair/broker/ready_line.hpp"
#include "corsair/protocol/limits.hpp"

namespace corsair::bench {

namespace {

// As the broker's sockets (broker/src/broker.cpp), so that both queue as much.
constexpr int kHighWaterMark = 100'000;

}  // namespace

int run_proxy(zmq::context_t& context) {
    const auto max_message_bytes =
        static_cast<std::int64_t>(protocol::kDefaultMaxPayloadBytes + protocol::kFrameOverheadBytes);
    zmq::socket_t producers(context, zmq::socket_type::router);
    zmq::socket_t workers(context, zmq::socket_type::dealer);
    for (auto* socket : {&producers, &workers}) {
        socket->set(zmq::sockopt::linger, 0);
        socket->set(zmq::sockopt::maxmsgsize, max_message_bytes);
        socket->set(zmq::sockopt::sndhwm, kHighWaterMark);
        socket->set(zmq::sockopt::rcvhwm, kHighWaterMark);
    }
    // A ROUTER drops a message for a full pipe; mandatory makes the proxy's blocking send wait
    // instead, so that no RESULT is lost when the producer reads slower than workers answer.
    producers.set(zmq::sockopt::router_mandatory, 1);
    producers.bind("tcp://127.0.0.1:*");
    workers.bind("tcp://127.0.0.1:*");
    const broker::BrokerEndpoints endpoints{producers.get(zmq::sockopt::last_endpoint),
                                            workers.get(zmq::sockopt::last_endpoint), {}};
    std::printf("%s\n", broker::format_ready_line(endpoints, kProxyProgram).c_str());
    std::fflush(stdout);
    zmq::proxy(producers, workers);
    return 1;
}

}  // namespace corsair::bench
