#include "cluster.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include <csignal>

#include <unistd.h>

#include "deadline.hpp"

namespace corsair::test {

using namespace std::chrono_literals;

std::optional<BrokerEndpoints> parse_ready_line(const std::string& line) {
    const std::string producers_key = "producers=";
    const std::string workers_key = " workers=";
    auto p = line.find(producers_key);
    auto w = line.find(workers_key);
    if (line.rfind("corsair-broker ready", 0) != 0 || p == std::string::npos || w == std::string::npos || w < p) {
        return std::nullopt;
    }
    BrokerEndpoints endpoints;
    endpoints.producers = line.substr(p + producers_key.size(), w - p - producers_key.size());
    endpoints.workers = line.substr(w + workers_key.size());
    return endpoints;
}

Cluster::Cluster(std::vector<std::string> broker_flags) : broker_flags_(std::move(broker_flags)) {
    // Logs of every process go to one folder per cluster, kept for a failing test's post-mortem.
    char pattern[] = "/tmp/corsair-test-XXXXXX";
    const char* dir = mkdtemp(pattern);
    if (dir == nullptr) throw std::runtime_error("mkdtemp failed");
    log_dir_ = dir;
    start_broker();
}

void Cluster::start_broker(std::optional<BrokerEndpoints> endpoints) {
    std::vector<std::string> argv{CORSAIR_BROKER_BIN};
    argv.push_back("--producers");
    argv.push_back(endpoints ? endpoints->producers : "tcp://127.0.0.1:*");
    argv.push_back("--workers");
    argv.push_back(endpoints ? endpoints->workers : "tcp://127.0.0.1:*");
    for (const auto& flag : broker_flags_) argv.push_back(flag);
    // Each cluster journals into its own folder, kept across restarts of its broker.
    if (std::find(argv.begin(), argv.end(), "--data-dir") == argv.end()) {
        argv.push_back("--data-dir");
        argv.push_back(log_dir_ + "/data");
    }
    broker_ = std::make_unique<ChildProcess>(argv, std::vector<std::string>{}, log_dir_ + "/broker.log");
    auto line = broker_->wait_for_line("corsair-broker ready", 10s);
    if (!line) throw std::runtime_error("broker did not print its ready line; see " + log_dir_ + "/broker.log");
    auto parsed = parse_ready_line(*line);
    if (!parsed) throw std::runtime_error("unparseable ready line: " + *line);
    endpoints_ = *parsed;
}

void Cluster::kill_broker() {
    broker_->signal(SIGKILL);
    broker_->wait_exit(10s);
}

ChildProcess& Cluster::start_worker(const std::string& name, std::vector<std::string> args, const std::string& queue,
                                    int capacity) {
    std::vector<std::string> argv{CORSAIR_WORKER_BIN, "--broker", endpoints_.workers, "--queue", queue, "--id", name,
                                  "--capacity", std::to_string(capacity)};
    for (auto& arg : args) argv.push_back(std::move(arg));
    auto child = std::make_unique<ChildProcess>(argv, std::vector<std::string>{}, log_dir_ + "/worker-" + name + ".log");
    auto& slot = workers_[name];
    slot = std::move(child);
    return *slot;
}

std::string Cluster::broker_log() const {
    std::ifstream file(log_dir_ + "/broker.log", std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
}

std::string Cluster::worker_log(const std::string& name) const {
    std::ifstream file(log_dir_ + "/worker-" + name + ".log", std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
}

std::unique_ptr<producer::Producer> Cluster::make_producer() {
    producer::ProducerOptions options;
    options.broker_endpoint = endpoints_.producers;
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
