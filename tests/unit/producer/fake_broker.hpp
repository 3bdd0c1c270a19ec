// A scripted broker for Producer tests: a ROUTER bound on tcp://127.0.0.1:* in the test.
// FakeBroker is driven inline by the test thread; ThreadedBroker runs one on a std::jthread that
// owns the socket, for the Producer's blocking calls. Neither asserts from the broker thread.
#pragma once

#include <chrono>
#include <functional>
#include <future>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include <corsair/producer/producer.hpp>
#include <corsair/protocol/protocol.hpp>
#include "loopback_router.hpp"
#include <zmq.hpp>

namespace corsair::test {

class FakeBroker : public LoopbackRouter {
public:
    using LoopbackRouter::LoopbackRouter;

    // A SUBMITS is the SUBMITs of its entries (docs/protocol.md §5.33), so by default receive()
    // hands them out one by one and a script written per SUBMIT holds whether the producer batched
    // or not. Tests of the batches themselves turn this off to see each SUBMITS whole.
    bool splits_submits = true;

    // The next well-formed message, or nullopt when none arrives within `timeout`.
    std::optional<Received> receive(std::chrono::milliseconds timeout) {
        if (!split_.empty()) {
            Received next = std::move(split_.front());
            split_.pop_front();
            return next;
        }
        zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
        zmq::poll(&item, 1, timeout);
        protocol::Frames frames;
        if (!protocol::receive_frames(socket_, frames) || frames.empty()) return std::nullopt;
        // As large as any broker may allow: tests of the payload limit send more than the default.
        auto decoded = protocol::decode(frames, 1, protocol::DecodeLimits{protocol::kMaxPayloadLimitBytes});
        if (!decoded) return std::nullopt;
        auto* batch = std::get_if<protocol::Submits>(&decoded.value());
        if (batch == nullptr || !splits_submits) return Received{std::move(frames[0]), std::move(decoded).value()};
        for (std::size_t i = 0; i < batch->entries.size(); ++i) {
            zmq::message_t routing_id;
            routing_id.copy(frames[0]);
            split_.push_back(Received{std::move(routing_id), protocol::take_submit(*batch, i)});
        }
        return receive(timeout);
    }

    template <class T>
    bool send(const zmq::message_t& to, T message) {
        return protocol::send_message(socket_, std::move(message), &to) == protocol::SendStatus::sent;
    }

private:
    std::deque<Received> split_;  // the SUBMITs of a SUBMITS not handed out yet
};

// A Producer's options with every default, connecting to `endpoint`.
inline producer::ProducerOptions options_for(const std::string& endpoint) {
    producer::ProducerOptions options;
    options.broker_endpoint = endpoint;
    return options;
}

// Replies spelled out in full, so tests stay short and every field is set on purpose.
inline protocol::Accepted accepted(std::string id, bool existed = false, std::string job_id = {}) {
    protocol::Accepted message;
    message.job_id = job_id.empty() ? id : std::move(job_id);
    message.id = std::move(id);
    message.existed = existed;
    return message;
}

inline protocol::Error error(protocol::ErrorCode code, std::string id, std::string command = {},
                             std::string message = {}) {
    protocol::Error error;
    error.code = code;
    error.id = std::move(id);
    error.command = std::move(command);
    error.message = std::move(message);
    return error;
}

inline protocol::JobResult job_result(std::string id, protocol::JobState state, std::uint32_t attempt,
                                      std::string error_text = {}, std::string_view payload = {}) {
    protocol::JobResult result;
    result.id = std::move(id);
    result.state = state;
    result.attempt = attempt;
    result.error = std::move(error_text);
    result.payload = protocol::make_payload(payload);
    return result;
}

inline protocol::StatusReply status_reply(std::string id, protocol::JobState state, std::uint32_t attempt,
                                          std::string_view payload = {}) {
    protocol::StatusReply reply;
    reply.id = std::move(id);
    reply.queue = "q";
    reply.state = state;
    reply.attempt = attempt;
    reply.payload = protocol::make_payload(payload);
    return reply;
}

inline protocol::Ok ok(std::string command, std::string id, std::uint64_t count) {
    protocol::Ok message;
    message.command = std::move(command);
    message.id = std::move(id);
    message.count = count;
    return message;
}

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
