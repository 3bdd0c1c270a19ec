// The system under test: one real corsair-broker process and N real corsair-worker processes on
// tcp://127.0.0.1:* endpoints. Owned by the suite's thread; every process is killed by PID and
// reaped when the cluster goes away.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "process_usage.hpp"

namespace corsair::bench {

struct ClusterSpec {
    std::string broker_bin;
    std::string worker_bin;
    std::vector<std::string> broker_flags;  // e.g. {"--data-dir", ""}
    int workers = 0;
    std::uint32_t capacity = 1;
    std::vector<std::string> worker_flags;  // after --builtin echo, e.g. {"--inline"}
    std::string queue;
    std::string log_dir;  // broker.log and worker-N.log are appended here
};

class CorsairCluster {
public:
    // Starts the broker and blocks (10 s at most) for its "corsair-broker ready" line, then starts
    // the workers without waiting for them to register (the caller checks STATS). Throws
    // std::runtime_error if the broker does not come up.
    explicit CorsairCluster(const ClusterSpec& spec);
    ~CorsairCluster();
    CorsairCluster(const CorsairCluster&) = delete;
    CorsairCluster& operator=(const CorsairCluster&) = delete;

    const std::string& producer_endpoint() const noexcept { return producer_endpoint_; }
    const std::string& worker_endpoint() const noexcept { return worker_endpoint_; }
    pid_t broker_pid() const noexcept { return broker_->pid(); }
    // CPU time used so far by the broker, and by all workers together (0 for one already gone).
    CpuSeconds broker_cpu() const;
    CpuSeconds workers_cpu() const;

private:
    std::unique_ptr<ChildProcess> broker_;
    std::vector<std::unique_ptr<ChildProcess>> workers_;
    std::string producer_endpoint_;
    std::string worker_endpoint_;
};

}  // namespace corsair::bench
