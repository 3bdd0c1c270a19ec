// Test fixture: a real corsair-broker and real corsair-worker processes on loopback with
// ephemeral ports. Every process is killed by PID and reaped when the Cluster goes away.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "child_process.hpp"
#include "corsair/producer/producer.hpp"

namespace corsair::test {

struct BrokerEndpoints {
    std::string producers;
    std::string workers;
};

// Parses "corsair-broker ready producers=EP workers=EP".
std::optional<BrokerEndpoints> parse_ready_line(const std::string& line);

class Cluster {
public:
    explicit Cluster(std::vector<std::string> broker_flags = {"--heartbeat", "200ms", "--liveness", "3"});

    // (Re)starts the broker; with `endpoints`, on those exact endpoints (restart on the same ports).
    void start_broker(std::optional<BrokerEndpoints> endpoints = std::nullopt);
    ChildProcess& broker() { return *broker_; }
    void kill_broker();
    const BrokerEndpoints& endpoints() const { return endpoints_; }

    // Starts a corsair-worker with `--id name` plus `args` (e.g. {"--builtin", "echo"}).
    ChildProcess& start_worker(const std::string& name, std::vector<std::string> args, const std::string& queue = "q",
                               int capacity = 2);
    ChildProcess& worker(const std::string& name) { return *workers_.at(name); }

    // A producer connected to this cluster's broker (zmq context owned by the cluster).
    std::unique_ptr<producer::Producer> make_producer();
    // STATS through a fresh producer; nullopt if the broker does not answer in time.
    std::optional<protocol::StatsReply> stats();
    // Waits until the broker lists `count` workers; false on timeout.
    bool wait_for_workers(std::size_t count, std::chrono::milliseconds timeout = std::chrono::seconds(10));
    std::uint64_t counter(const std::string& name);
    std::string log_dir() const { return log_dir_; }
    // What the broker (since its last start) has written to its log (stderr) so far.
    std::string broker_log() const;
    // What `name`'s worker has written to its log (stderr) so far.
    std::string worker_log(const std::string& name) const;

private:
    std::vector<std::string> broker_flags_;
    std::unique_ptr<ChildProcess> broker_;
    BrokerEndpoints endpoints_;
    std::map<std::string, std::unique_ptr<ChildProcess>> workers_;
    zmq::context_t context_;
    std::string log_dir_;
};

}  // namespace corsair::test
