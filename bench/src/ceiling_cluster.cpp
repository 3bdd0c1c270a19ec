#include "ceiling_cluster.hpp"

#include <filesystem>
#include <stdexcept>

#include "ceiling_proxy.hpp"

namespace corsair::bench {

CeilingCluster::CeilingCluster(const std::string& self_bin, int workers, const std::string& log_dir) {
    const std::string proxy_log = log_dir + "/proxy.log";
    proxy_ = std::make_unique<test::ChildProcess>(std::vector<std::string>{self_bin, "--serve-proxy"},
                                                  std::vector<std::string>{}, proxy_log);
    for (;;) {
        auto line = proxy_->read_line(std::chrono::seconds(10));
        if (!line) throw std::runtime_error("the ceiling proxy printed no ready line within 10 s; see " + proxy_log);
        if (auto endpoints = broker::parse_ready_line(*line, kProxyProgram)) {
            endpoints_ = std::move(*endpoints);
            break;
        }
    }
    for (int i = 0; i < workers; ++i) {
        workers_.push_back(std::make_unique<test::ChildProcess>(
            std::vector<std::string>{self_bin, "--serve-echo-worker", endpoints_.workers}, std::vector<std::string>{},
            log_dir + "/echo-worker-" + std::to_string(i) + ".log"));
    }
    for (auto& worker : workers_) {
        if (!worker->read_line(std::chrono::seconds(10))) {
            throw std::runtime_error("an echo worker did not connect to the ceiling proxy within 10 s; see " + log_dir);
        }
    }
}

CeilingCluster::~CeilingCluster() {
    for (auto& worker : workers_) worker->kill_and_reap();
    proxy_->kill_and_reap();
}

CpuSeconds CeilingCluster::proxy_cpu() const { return cpu_time_of({proxy_->pid()}); }

CpuSeconds CeilingCluster::workers_cpu() const {
    std::vector<pid_t> pids;
    for (const auto& worker : workers_) pids.push_back(worker->pid());
    return cpu_time_of(pids);
}

std::string own_executable_path() { return std::filesystem::read_symlink("/proc/self/exe").string(); }

}  // namespace corsair::bench
