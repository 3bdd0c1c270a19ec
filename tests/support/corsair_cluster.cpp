#include "corsair_cluster.hpp"

#include <algorithm>
#include <csignal>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include "deadline.hpp"

namespace corsair::test {

namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kReadyTimeout = std::chrono::seconds(10);

std::string whole_file(const std::string& path) {
    std::ifstream file(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
}

}  // namespace

CorsairCluster::CorsairCluster(ClusterOptions options, BrokerHost host)
    : options_(std::move(options)),
      bind_address_(std::move(host.bind_address)),
      broker_wrapper_(std::move(host.wrapper)) {
    if (options_.log_dir.empty()) {
        scratch_.emplace("corsair-test");
        log_dir_ = scratch_->path().string();
    } else {
        log_dir_ = options_.log_dir;
    }
    start_broker();
}

CorsairCluster::~CorsairCluster() {
    // Workers first, so that none sees its broker vanish and starts reconnecting.
    for (auto& [name, worker] : workers_) worker->kill_and_reap();
    if (broker_) broker_->kill_and_reap();
}

void CorsairCluster::start_broker(std::optional<BrokerEndpoints> endpoints) {
    broker_.reset();
    const std::string ephemeral = "tcp://" + bind_address_ + ":*";
    std::vector<std::string> argv{options_.broker_bin, "--producers", endpoints ? endpoints->producers : ephemeral,
                                  "--workers", endpoints ? endpoints->workers : ephemeral};
    argv.insert(argv.end(), options_.broker_flags.begin(), options_.broker_flags.end());
    if (std::find(argv.begin(), argv.end(), "--data-dir") == argv.end()) {
        argv.insert(argv.end(), {"--data-dir", log_dir_ + "/data"});
    }
    // Never the default port 5580: tests run side by side. A restart keeps the HTTP address.
    if (std::find(argv.begin(), argv.end(), "--http") == argv.end()) {
        argv.insert(argv.end(), {"--http", endpoints && !endpoints->http.empty() ? endpoints->http : "127.0.0.1:0"});
    }
    argv.insert(argv.begin(), broker_wrapper_.begin(), broker_wrapper_.end());
    const std::string log = log_dir_ + "/broker.log";
    broker_ = std::make_unique<ChildProcess>(argv, std::vector<std::string>{}, log);
    const auto deadline = Clock::now() + scaled(kReadyTimeout);
    for (;;) {
        const auto line = Clock::now() < deadline ? broker_->read_line_until(deadline) : std::nullopt;
        if (!line) throw std::runtime_error("corsair-broker printed no ready line in time; see " + log);
        if (auto parsed = broker::parse_ready_line(*line)) {
            endpoints_ = std::move(*parsed);
            return;
        }
    }
}

void CorsairCluster::kill_broker() {
    broker_->signal(SIGKILL);
    broker_->wait_exit(std::chrono::seconds(10));
}

ChildProcess& CorsairCluster::start_worker(const std::string& name, std::vector<std::string> args,
                                           const std::string& queue, int capacity,
                                           const std::vector<std::string>& wrapper) {
    const std::string& broker = options_.workers_connect_direct ? endpoints_.direct : endpoints_.workers;
    std::vector<std::string> argv{options_.worker_bin, "--broker", broker, "--queue", queue,
                                  "--id", name, "--capacity", std::to_string(capacity)};
    argv.insert(argv.end(), std::make_move_iterator(args.begin()), std::make_move_iterator(args.end()));
    argv.insert(argv.begin(), wrapper.begin(), wrapper.end());
    auto& slot = workers_[name];
    slot.reset();
    slot = std::make_unique<ChildProcess>(argv, std::vector<std::string>{}, log_dir_ + "/worker-" + name + ".log",
                                          options_.worker_stdout);
    return *slot;
}

std::vector<pid_t> CorsairCluster::worker_pids() const {
    std::vector<pid_t> pids;
    for (const auto& [name, worker] : workers_) pids.push_back(worker->pid());
    return pids;
}

std::string CorsairCluster::broker_log() const { return whole_file(log_dir_ + "/broker.log"); }

std::string CorsairCluster::worker_log(const std::string& name) const {
    return whole_file(log_dir_ + "/worker-" + name + ".log");
}

}  // namespace corsair::test
