// The integration tests' cluster: the harness's CorsairCluster (support/corsair_cluster.hpp) of
// the binaries CMake built, with heartbeats fast enough that a dead worker shows within a second,
// plus STATS through the producer library. Owned by the test's thread.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "corsair/producer/producer.hpp"
#include "corsair_cluster.hpp"

namespace corsair::test {

class Cluster : public CorsairCluster {
public:
    explicit Cluster(std::vector<std::string> broker_flags = {"--heartbeat", "200ms", "--liveness", "3"});

    // Starts a corsair-worker with `--id name` plus `args` (e.g. {"--builtin", "echo"}).
    ChildProcess& start_worker(const std::string& name, std::vector<std::string> args, const std::string& queue = "q",
                               int capacity = 2);

    // A producer connected to this cluster's broker (zmq context owned by the cluster), with
    // `curve` keys if given, else the cluster's own (use_curve).
    std::unique_ptr<producer::Producer> make_producer(std::optional<protocol::CurveClientKeys> curve = std::nullopt);
    // With CURVE on the broker: the keys make_producer(), stats() and counter() use.
    void use_curve(protocol::CurveClientKeys keys) { curve_ = std::move(keys); }
    // STATS through a fresh producer; nullopt if the broker does not answer in time.
    std::optional<protocol::StatsReply> stats();
    // Waits until the broker lists `count` workers; false on timeout.
    bool wait_for_workers(std::size_t count, std::chrono::milliseconds timeout = std::chrono::seconds(10));
    std::uint64_t counter(const std::string& name);

private:
    zmq::context_t context_;
    protocol::CurveClientKeys curve_;
};

}  // namespace corsair::test
