// Many idle workers in one process: N real DEALER connections to the broker's worker endpoint,
// each speaking the worker protocol (READY with `idle_heartbeat`, then HEARTBEAT every idle
// interval, since they never hold a lease; docs/protocol.md §7, §9), serviced by the one thread
// that created them, which owns every socket.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <zmq.hpp>

namespace corsair::bench {

struct SimulatedWorkerCounts {
    std::uint64_t heartbeats_sent = 0;
    std::uint64_t messages_received = 0;
    std::uint64_t unknown_worker_errors = 0;  // the broker had forgotten a connection: it declared it dead
    std::uint64_t disconnects = 0;
    std::uint64_t jobs_received = 0;
    std::uint64_t undecodable_messages = 0;
    double max_heartbeat_lateness_ms = 0;  // how late a HEARTBEAT went out against its schedule
    double max_broker_silence_ms = 0;      // longest wait for the broker on one connection
};

class SimulatedWorkers {
public:
    // Opens `count` DEALERs to `endpoint` and sends each a READY for `queue` (capacity 1, name
    // sim-N). Never blocks. The context must allow count + a few sockets (ZMQ_MAX_SOCKETS).
    SimulatedWorkers(zmq::context_t& context, const std::string& endpoint, std::size_t count, const std::string& queue);
    SimulatedWorkers(const SimulatedWorkers&) = delete;
    SimulatedWorkers& operator=(const SimulatedWorkers&) = delete;

    // Services every connection until each has had the broker's first HEARTBEAT (the answer to
    // READY); each starts heartbeating once answered. False after `timeout`.
    bool wait_until_registered(std::chrono::milliseconds timeout);
    // Services every connection until `until`: HEARTBEAT every (idle) interval on each, every message
    // from the broker read and counted; an ERROR unknown_worker is answered with READY at once.
    void serve_until(std::chrono::steady_clock::time_point until);

    // The interval they heartbeat at: the broker's idle interval (its interval from a broker that
    // tells none).
    std::chrono::milliseconds interval() const noexcept { return interval_; }
    const SimulatedWorkerCounts& counts() const noexcept { return counts_; }
    // Resets the lateness and silence maxima (e.g. after registration, before the window).
    void reset_maxima();

private:
    using Clock = std::chrono::steady_clock;
    struct Connection {
        zmq::socket_t socket;
        Clock::time_point next_heartbeat{};
        Clock::time_point last_heard{};
        bool is_registered = false;
    };

    void send_ready(Connection& connection, std::size_t index);
    // One poll round: waits until the next heartbeat is due (at most until `until`), then sends
    // those due and reads everything waiting.
    void service_once(Clock::time_point until);
    void receive_all(Connection& connection, std::size_t index, Clock::time_point now);

    static constexpr std::chrono::milliseconds kRoundTick{10};

    std::vector<Connection> connections_;
    std::vector<zmq::pollitem_t> poll_items_;
    std::string queue_;
    std::chrono::milliseconds interval_{1000};
    std::size_t registered_ = 0;
    Clock::time_point last_round_{};
    SimulatedWorkerCounts counts_;
};

}  // namespace corsair::bench
