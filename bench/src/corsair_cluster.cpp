#include "corsair_cluster.hpp"

#include <stdexcept>

namespace corsair::bench {

namespace {

// "corsair-broker ready producers=EP workers=EP" (broker/main.cpp).
bool parse_ready_line(const std::string& line, std::string& producers, std::string& workers) {
    const std::string producers_key = "producers=";
    const std::string workers_key = " workers=";
    const auto p = line.find(producers_key);
    const auto w = line.find(workers_key);
    if (line.rfind("corsair-broker ready", 0) != 0 || p == std::string::npos || w == std::string::npos || w < p) {
        return false;
    }
    producers = line.substr(p + producers_key.size(), w - p - producers_key.size());
    workers = line.substr(w + workers_key.size());
    return true;
}

}  // namespace

CorsairCluster::CorsairCluster(const ClusterSpec& spec) {
    std::vector<std::string> argv{spec.broker_bin, "--producers", "tcp://127.0.0.1:*", "--workers", "tcp://127.0.0.1:*"};
    argv.insert(argv.end(), spec.broker_flags.begin(), spec.broker_flags.end());
    const std::string broker_log = spec.log_dir + "/broker.log";
    broker_ = std::make_unique<ChildProcess>(argv, true, broker_log);
    for (;;) {
        auto line = broker_->read_line(std::chrono::seconds(10));
        if (!line) throw std::runtime_error("corsair-broker printed no ready line within 10 s; see " + broker_log);
        if (parse_ready_line(*line, producer_endpoint_, worker_endpoint_)) break;
    }
    for (int i = 0; i < spec.workers; ++i) {
        const std::string name = "bench-w" + std::to_string(i);
        std::vector<std::string> worker_argv{spec.worker_bin, "--broker", worker_endpoint_, "--queue", spec.queue,
                                             "--capacity", std::to_string(spec.capacity), "--id", name, "--builtin", "echo"};
        worker_argv.insert(worker_argv.end(), spec.worker_flags.begin(), spec.worker_flags.end());
        workers_.push_back(std::make_unique<ChildProcess>(worker_argv, false, spec.log_dir + "/worker-" + name + ".log"));
    }
}

CorsairCluster::~CorsairCluster() {
    // Workers first, so that none sees its broker vanish and starts reconnecting.
    for (auto& worker : workers_) worker->kill_and_reap();
    broker_->kill_and_reap();
}

CpuSeconds CorsairCluster::broker_cpu() const { return cpu_time(broker_->pid()).value_or(CpuSeconds(0)); }

CpuSeconds CorsairCluster::workers_cpu() const {
    CpuSeconds total(0);
    for (const auto& worker : workers_) total += cpu_time(worker->pid()).value_or(CpuSeconds(0));
    return total;
}

}  // namespace corsair::bench
