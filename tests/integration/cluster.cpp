#include "cluster.hpp"

#include "deadline.hpp"

namespace corsair::test {

using namespace std::chrono_literals;

Cluster::Cluster(std::vector<std::string> broker_flags)
    : CorsairCluster(ClusterOptions{CORSAIR_BROKER_BIN, CORSAIR_WORKER_BIN, std::move(broker_flags), {}, {}}) {}

ChildProcess& Cluster::start_worker(const std::string& name, std::vector<std::string> args, const std::string& queue,
                                    int capacity) {
    return CorsairCluster::start_worker(name, std::move(args), queue, capacity);
}

std::unique_ptr<producer::Producer> Cluster::make_producer(std::optional<protocol::CurveClientKeys> curve) {
    producer::ProducerOptions options;
    options.broker_endpoint = endpoints().producers;
    options.curve = curve ? std::move(*curve) : curve_;
    return std::make_unique<producer::Producer>(context_, options);
}

std::optional<protocol::StatsReply> Cluster::stats() {
    try {
        auto producer = make_producer();
        return producer->stats(3s);
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

bool Cluster::wait_for_workers(std::size_t count, std::chrono::milliseconds timeout) {
    return wait_until(
        [&] {
            auto s = stats();
            return s && s->workers.size() == count;
        },
        timeout, 50ms);
}

std::uint64_t Cluster::counter(const std::string& name) {
    auto s = stats();
    if (!s) return 0;
    auto it = s->counters.find(name);
    return it == s->counters.end() ? 0 : it->second;
}

}  // namespace corsair::test
