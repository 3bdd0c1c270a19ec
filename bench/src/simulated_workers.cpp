#include "simulated_workers.hpp"

#include <algorithm>
#include <variant>

#include "corsair/protocol/protocol.hpp"

namespace corsair::bench {

SimulatedWorkers::SimulatedWorkers(zmq::context_t& context, const std::string& endpoint, std::size_t count,
                                   const std::string& queue)
    : queue_(queue) {
    connections_.reserve(count);
    const auto now = Clock::now();
    for (std::size_t i = 0; i < count; ++i) {
        Connection connection{zmq::socket_t(context, zmq::socket_type::dealer), now, now, false};
        connection.socket.set(zmq::sockopt::linger, 0);
        connection.socket.set(zmq::sockopt::maxmsgsize,
                              static_cast<std::int64_t>(protocol::kDefaultMaxPayloadBytes + protocol::kFrameOverheadBytes));
        connection.socket.connect(endpoint);
        connections_.push_back(std::move(connection));
    }
    for (std::size_t i = 0; i < count; ++i) {
        send_ready(connections_[i], i);
        poll_items_.push_back(zmq::pollitem_t{connections_[i].socket.handle(), 0, ZMQ_POLLIN, 0});
    }
}

void SimulatedWorkers::send_ready(Connection& connection, std::size_t index) {
    protocol::Ready ready;
    ready.queues = {queue_};
    ready.capacity = 1;
    ready.name = "sim-" + std::to_string(index);
    // As corsair-worker does: heartbeat at the broker's idle interval while holding no lease.
    ready.idle_heartbeat = true;
    // ZeroMQ queues it until the connection is up; a full queue here would be a bench bug.
    protocol::send_message(connection.socket, std::move(ready));
}

bool SimulatedWorkers::wait_until_registered(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (registered_ < connections_.size()) {
        if (Clock::now() >= deadline) return false;
        service_once(std::min(deadline, Clock::now() + std::chrono::milliseconds(100)));
    }
    return true;
}

void SimulatedWorkers::serve_until(Clock::time_point until) {
    while (Clock::now() < until) service_once(until);
}

void SimulatedWorkers::reset_maxima() {
    counts_.max_heartbeat_lateness_ms = 0;
    counts_.max_broker_silence_ms = 0;
}

void SimulatedWorkers::service_once(Clock::time_point until) {
    auto due = Clock::time_point::max();
    for (const auto& connection : connections_) {
        if (connection.is_registered) due = std::min(due, connection.next_heartbeat);
    }
    // Heartbeats due close together go out in one round: one wake-up per tick, not per worker.
    const auto wake = std::min(until, std::max(due, last_round_ + kRoundTick));
    const auto wait = std::chrono::ceil<std::chrono::milliseconds>(wake - Clock::now());
    zmq::poll(poll_items_.data(), poll_items_.size(), std::max(wait, std::chrono::milliseconds(0)));
    const auto now = Clock::now();
    last_round_ = now;
    for (std::size_t i = 0; i < connections_.size(); ++i) {
        auto& connection = connections_[i];
        if (poll_items_[i].revents & ZMQ_POLLIN) receive_all(connection, i, now);
        if (!connection.is_registered || connection.next_heartbeat > now) continue;
        const double lateness_ms = std::chrono::duration<double, std::milli>(now - connection.next_heartbeat).count();
        counts_.max_heartbeat_lateness_ms = std::max(counts_.max_heartbeat_lateness_ms, lateness_ms);
        if (protocol::send_message(connection.socket, protocol::Heartbeat{}) == protocol::SendStatus::sent) {
            ++counts_.heartbeats_sent;
        }
        connection.next_heartbeat += interval_;
        if (connection.next_heartbeat < now) connection.next_heartbeat = now + interval_;
    }
}

void SimulatedWorkers::receive_all(Connection& connection, std::size_t index, Clock::time_point now) {
    protocol::Frames frames;
    while (protocol::receive_frames(connection.socket, frames)) {
        auto decoded = protocol::decode(frames);
        if (!decoded) {
            ++counts_.undecodable_messages;
            continue;
        }
        ++counts_.messages_received;
        if (connection.is_registered) {
            const double silence_ms = std::chrono::duration<double, std::milli>(now - connection.last_heard).count();
            counts_.max_broker_silence_ms = std::max(counts_.max_broker_silence_ms, silence_ms);
        }
        connection.last_heard = now;
        const auto& message = decoded.value();
        if (const auto* heartbeat = std::get_if<protocol::Heartbeat>(&message)) {
            // protocol.md §9: adopt the broker's interval; these workers never hold a lease, so
            // the idle one when the broker tells it.
            if (heartbeat->interval_ms) interval_ = std::chrono::milliseconds(*heartbeat->interval_ms);
            if (heartbeat->idle_interval_ms) {
                interval_ = std::max(interval_, std::chrono::milliseconds(*heartbeat->idle_interval_ms));
            }
            if (!connection.is_registered) {
                // Heartbeats start now, spread over one interval as independent workers' would be.
                connection.is_registered = true;
                connection.next_heartbeat =
                    now + interval_ * static_cast<std::int64_t>(index % 100) / static_cast<std::int64_t>(100);
                ++registered_;
            }
        } else if (const auto* error = std::get_if<protocol::Error>(&message)) {
            if (error->code == protocol::ErrorCode::unknown_worker) {
                // protocol.md §7: send READY again at once on the same socket.
                ++counts_.unknown_worker_errors;
                send_ready(connection, index);
            }
        } else if (std::holds_alternative<protocol::Disconnect>(message)) {
            ++counts_.disconnects;
        } else if (std::holds_alternative<protocol::Job>(message)) {
            ++counts_.jobs_received;
        }
    }
}

}  // namespace corsair::bench
