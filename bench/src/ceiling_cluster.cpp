#include "ceiling_cluster.hpp"

#include <filesystem>
#include <stdexcept>

namespace corsair::bench {

CeilingCluster::CeilingCluster(const std::string& self_bin, int workers, const std::string& log_dir) {
    const std::string proxy_log = log_dir + "/proxy.log";
    proxy_ = std::make_unique<ChildProcess>(std::vector<std::string>{self_bin, "--serve-proxy"}, true, proxy_log);
    const std::string prefix = "corsair-bench proxy ready producers=";
    const std::string workers_key = " workers=";
    for (;;) {
        auto line = proxy_->read_line(std::chrono::seconds(10));
        if (!line) throw std::runtime_error("the ceiling proxy printed no ready line within 10 s; see " + proxy_log);
        const auto w = line->find(workers_key);
        if (line->rfind(prefix, 0) != 0 || w == std::string::npos) continue;
        producer_endpoint_ = line->substr(prefix.size(), w - prefix.size());
        worker_endpoint_ = line->substr(w + workers_key.size());
        break;
    }
    for (int i = 0; i < workers; ++i) {
        workers_.push_back(std::make_unique<ChildProcess>(
            std::vector<std::string>{self_bin, "--serve-echo-worker", worker_endpoint_}, true,
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

CpuSeconds CeilingCluster::proxy_cpu() const { return cpu_time(proxy_->pid()).value_or(CpuSeconds(0)); }

CpuSeconds CeilingCluster::workers_cpu() const {
    CpuSeconds total(0);
    for (const auto& worker : workers_) total += cpu_time(worker->pid()).value_or(CpuSeconds(0));
    return total;
}

std::string own_executable_path() { return std::filesystem::read_symlink("/proc/self/exe").string(); }

}  // namespace corsair::bench
