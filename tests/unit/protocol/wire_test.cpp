// send_message / send_frames / receive_frames on a real DEALER-ROUTER pair over loopback TCP.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>

#include <zmq.hpp>

#include "corsair/protocol/protocol.hpp"

namespace corsair::protocol {
namespace {

constexpr std::chrono::milliseconds kDeadline{5000};

// Polls until one whole message is waiting or the deadline passes.
bool receive_within(zmq::socket_t& socket, Frames& frames, std::chrono::milliseconds deadline) {
    zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLIN, 0};
    const auto until = std::chrono::steady_clock::now() + deadline;
    while (std::chrono::steady_clock::now() < until) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
        zmq::poll(&item, 1, left);
        if (receive_frames(socket, frames)) return true;
    }
    return false;
}

struct Pair {
    zmq::context_t context;
    zmq::socket_t router{context, zmq::socket_type::router};
    zmq::socket_t dealer{context, zmq::socket_type::dealer};

    Pair() {
        router.set(zmq::sockopt::linger, 0);
        dealer.set(zmq::sockopt::linger, 0);
        router.set(zmq::sockopt::router_mandatory, 1);
        router.set(zmq::sockopt::maxmsgsize,
                   static_cast<std::int64_t>(kDefaultMaxPayloadBytes + kFrameOverheadBytes));
        router.bind("tcp://127.0.0.1:*");
        dealer.connect(router.get(zmq::sockopt::last_endpoint));
    }
};

TEST_CASE("a DEALER's message reaches the ROUTER behind one routing frame and is answered", "[protocol][wire]") {
    Pair pair;
    REQUIRE(send_message(pair.dealer, Ready{{"q"}, 2, "w"}) == SendStatus::sent);

    Frames request;
    REQUIRE(receive_within(pair.router, request, kDeadline));
    REQUIRE(request.size() == 4);  // routing id + 3 frames; no empty delimiter from a DEALER
    auto ready = decode(request, 1);
    REQUIRE(ready);
    CHECK(std::get<Ready>(ready.value()).capacity == 2);

    REQUIRE(send_message(pair.router, Job{"j1", "q", 1, make_payload("work")}, &request[0]) == SendStatus::sent);
    Frames reply;
    REQUIRE(receive_within(pair.dealer, reply, kDeadline));
    REQUIRE(reply.size() == 4);
    auto job = decode(reply);
    REQUIRE(job);
    CHECK(std::get<Job>(job.value()).id == "j1");
    CHECK(view_of(std::get<Job>(job.value()).payload) == "work");
}

TEST_CASE("sending to an unknown routing id reports host_unreachable", "[protocol][wire]") {
    Pair pair;
    zmq::message_t stranger(std::string("nobody").data(), 6);
    CHECK(send_message(pair.router, Heartbeat{1000u, 3u}, &stranger) == SendStatus::host_unreachable);
}

TEST_CASE("receive_frames returns false when nothing is waiting", "[protocol][wire]") {
    Pair pair;
    Frames frames;
    frames.emplace_back(3);
    CHECK_FALSE(receive_frames(pair.dealer, frames));
    CHECK(frames.empty());
}

}  // namespace
}  // namespace corsair::protocol
