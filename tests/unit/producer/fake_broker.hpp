// A scripted broker for Producer tests: a ROUTER bound on tcp://127.0.0.1:* in the test.
// FakeBroker is driven inline by the test thread; ThreadedBroker runs one on a std::jthread that
// owns the socket, for the Producer's blocking calls. Neither asserts from the broker thread.
#pragma once

#include <chrono>
#include <functional>
#include <future>
#include <optional>
#include <string>
#include <thread>

#include <corsair/protocol/protocol.hpp>
#include "loopback_router.hpp"
#include <zmq.hpp>

namespace corsair::test {

class FakeBroker : public LoopbackRouter {
public:
    using LoopbackRouter::LoopbackRouter;

    // The next well-formed message, or nullopt when none arrives within `timeout`.
    std::optional<Received> receive(std::chrono::milliseconds timeout) {
        zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
        zmq::poll(&item, 1, timeout);
        protocol::Frames frames;
        if (!protocol::receive_frames(socket_, frames) || frames.empty()) return std::nullopt;
        auto decoded = protocol::decode(frames, 1);
        if (!decoded) return std::nullopt;
        return Received{std::move(frames[0]), std::move(decoded).value()};
    }

    template <class T>
    bool send(const zmq::message_t& to, T message) {
        return protocol::send_message(socket_, std::move(message), &to) == protocol::SendStatus::sent;
    }
};

class ThreadedBroker {
public:
    using Handler = std::function<void(FakeBroker&, FakeBroker::Received&)>;

    ThreadedBroker(zmq::context_t& context, Handler handler) {
        std::promise<std::string> bound;
        auto endpoint = bound.get_future();
        thread_ = std::jthread([&context, &bound, handler = std::move(handler)](std::stop_token stop) {
            FakeBroker broker(context);
            bound.set_value(broker.endpoint());
            while (!stop.stop_requested()) {
                if (auto received = broker.receive(std::chrono::milliseconds(20))) handler(broker, *received);
            }
        });
        endpoint_ = endpoint.get();
    }

    const std::string& endpoint() const noexcept { return endpoint_; }

private:
    std::string endpoint_;
    std::jthread thread_;
};

}  // namespace corsair::test
