// The ceiling under test: `corsair-bench --serve-proxy` and N `corsair-bench --serve-echo-worker`
// processes (this same binary, re-executed). Owned by the suite's thread; every process is killed
// by PID and reaped when the cluster goes away.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "child_process.hpp"  // the harness, tests/support
#include "corsair/broker/ready_line.hpp"
#include "process_usage.hpp"

namespace corsair::bench {

class CeilingCluster {
public:
    // Starts the proxy and blocks (10 s at most) for its ready line, then starts `workers` echo
    // workers and blocks (10 s at most each) until each has said it is connected. Throws
    // std::runtime_error if a process does not come up.
    CeilingCluster(const std::string& self_bin, int workers, const std::string& log_dir);
    ~CeilingCluster();
    CeilingCluster(const CeilingCluster&) = delete;
    CeilingCluster& operator=(const CeilingCluster&) = delete;

    const std::string& producer_endpoint() const noexcept { return endpoints_.producers; }
    CpuSeconds proxy_cpu() const;
    CpuSeconds workers_cpu() const;

private:
    std::unique_ptr<test::ChildProcess> proxy_;
    std::vector<std::unique_ptr<test::ChildProcess>> workers_;
    broker::BrokerEndpoints endpoints_;
};

// The path of the running executable (/proc/self/exe), to re-execute it.
std::string own_executable_path();

}  // namespace corsair::bench
