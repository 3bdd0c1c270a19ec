#include "corsair/broker/broker.hpp"

#include <array>
#include <cstdio>

#include "corsair/protocol/codec.hpp"
#include "corsair/protocol/wire.hpp"

namespace corsair::broker {

namespace p = corsair::protocol;

namespace {

// Messages taken from one socket per loop turn, so neither side can starve the other.
constexpr int kBatchPerTurn = 512;
// Generous high-water marks: credit, not the HWM, bounds what a worker is sent; a producer
// pipelining thousands of submits should not have RESULTs refused.
constexpr int kHighWaterMark = 100'000;
// Time allowed at exit for DISCONNECTs to reach workers.
constexpr int kLingerMs = 500;

void configure_router(zmq::socket_t& socket, std::size_t max_message_bytes) {
    socket.set(zmq::sockopt::router_mandatory, 1);
    socket.set(zmq::sockopt::linger, kLingerMs);
    socket.set(zmq::sockopt::maxmsgsize, static_cast<std::int64_t>(max_message_bytes));
    socket.set(zmq::sockopt::sndhwm, kHighWaterMark);
    socket.set(zmq::sockopt::rcvhwm, kHighWaterMark);
}

}  // namespace

Broker::Broker(zmq::context_t& context, BrokerOptions options, std::shared_ptr<spdlog::logger> log)
    : context_(context),
      options_(std::move(options)),
      log_(std::move(log)),
      producers_(context, zmq::socket_type::router),
      workers_(context, zmq::socket_type::router),
      control_(context, zmq::socket_type::pull),
      scheduler_(options_, *this, log_) {
    const std::size_t max_message_bytes = options_.max_payload_bytes + p::kFrameOverheadBytes;
    configure_router(producers_, max_message_bytes);
    configure_router(workers_, max_message_bytes);
    control_.set(zmq::sockopt::linger, 0);
    control_endpoint_ = "inproc://corsair-broker-control-" + std::to_string(reinterpret_cast<std::uintptr_t>(this));
    control_.bind(control_endpoint_);
    producers_.bind(options_.producer_endpoint);
    workers_.bind(options_.worker_endpoint);
    producer_endpoint_ = producers_.get(zmq::sockopt::last_endpoint);
    worker_endpoint_ = workers_.get(zmq::sockopt::last_endpoint);
    log_->info("bound producers={} workers={} heartbeat_ms={} liveness={}", producer_endpoint_, worker_endpoint_,
               options_.heartbeat_interval.count(), options_.liveness);
}

Broker::~Broker() = default;

void Broker::request_stop() {
    zmq::socket_t push(context_, zmq::socket_type::push);
    push.set(zmq::sockopt::linger, 1000);
    push.connect(control_endpoint_);
    push.send(zmq::str_buffer("stop"), zmq::send_flags::dontwait);
}

void Broker::run() {
    std::array<zmq::pollitem_t, 3> items{{
        {producers_.handle(), 0, ZMQ_POLLIN, 0},
        {workers_.handle(), 0, ZMQ_POLLIN, 0},
        {control_.handle(), 0, ZMQ_POLLIN, 0},
    }};
    auto next_tick = std::chrono::steady_clock::now() + options_.heartbeat_interval;
    for (;;) {
        auto now = std::chrono::steady_clock::now();
        // Wake for the next heartbeat or the next job deadline (a delay ending, a lease timing out).
        auto wake_at = next_tick;
        if (auto deadline = scheduler_.next_deadline()) wake_at = std::min(wake_at, *deadline);
        const auto wait = std::chrono::ceil<std::chrono::milliseconds>(wake_at - now);
        zmq::poll(items.data(), items.size(), std::max(wait, std::chrono::milliseconds(0)));
        now = std::chrono::steady_clock::now();
        if (items[0].revents & ZMQ_POLLIN) drain_producers(now);
        if (items[1].revents & ZMQ_POLLIN) drain_workers(now);
        if (items[2].revents & ZMQ_POLLIN) break;
        if (auto deadline = scheduler_.next_deadline(); deadline && now >= *deadline) scheduler_.fire_timers(now);
        if (now >= next_tick) {
            scheduler_.tick(now);
            next_tick = now + options_.heartbeat_interval;
        }
    }
    scheduler_.shut_down();
    log_->info("stopped");
}

void Broker::drain_producers(std::chrono::steady_clock::time_point now) {
    const p::DecodeLimits limits{options_.max_payload_bytes};
    for (int i = 0; i < kBatchPerTurn && p::receive_frames(producers_, frames_); ++i) {
        const RoutingId routing_id(static_cast<const char*>(frames_[0].data()), frames_[0].size());
        auto decoded = p::decode(frames_, 1, limits);
        if (decoded) {
            scheduler_.on_producer_message(routing_id, std::move(decoded).value(), now);
        } else {
            scheduler_.on_malformed_producer_message(routing_id, decoded.error());
        }
    }
}

void Broker::drain_workers(std::chrono::steady_clock::time_point now) {
    const p::DecodeLimits limits{options_.max_payload_bytes};
    for (int i = 0; i < kBatchPerTurn && p::receive_frames(workers_, frames_); ++i) {
        const RoutingId routing_id(static_cast<const char*>(frames_[0].data()), frames_[0].size());
        auto decoded = p::decode(frames_, 1, limits);
        if (decoded) {
            scheduler_.on_worker_message(routing_id, std::move(decoded).value(), now);
        } else {
            scheduler_.on_malformed_worker_message(routing_id, decoded.error());
        }
    }
}

p::SendStatus Broker::to_worker(const RoutingId& worker, p::Frames& frames) {
    zmq::message_t routing_id(worker.data(), worker.size());
    return p::send_frames(workers_, frames, &routing_id);
}

p::SendStatus Broker::to_producer(const RoutingId& producer, p::Frames& frames) {
    zmq::message_t routing_id(producer.data(), producer.size());
    return p::send_frames(producers_, frames, &routing_id);
}

}  // namespace corsair::broker
