// A real corsair-broker and the corsair-workers attached to it, on tcp://127.0.0.1 (or a given
// host's) ports the broker picks and reads back from its ready line, for the integration tests and the bench. Owned
// by one thread; every process is SIGKILLed by PID and reaped when the cluster goes away.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

#include "child_process.hpp"
#include "corsair/broker/ready_line.hpp"
#include "scratch_dir.hpp"

namespace corsair::test {

using broker::BrokerEndpoints;

struct ClusterOptions {
    std::string broker_bin;
    std::string worker_bin;
    // Added after --producers and --workers. Without a --data-dir, the broker journals into
    // LOG_DIR/data, kept across restarts of the broker.
    std::vector<std::string> broker_flags;
    // Where broker.log and worker-NAME.log (each process's stderr) go. Empty: a scratch folder
    // of the cluster's own, removed with it (see ScratchDir for keeping it).
    std::string log_dir;
    // A worker's stdout, captured for tests that read it, or discarded when nobody does.
    ChildProcess::Stdout worker_stdout = ChildProcess::Stdout::captured;
    // Workers connect to the broker's direct endpoint (its --direct, in broker_flags) instead of
    // its ZeroMQ worker endpoint.
    bool workers_connect_direct = false;
};

// Where the broker runs: on loopback by default, or on an address the test owns (e.g. a veth's in
// a network namespace the test made), under a wrapper that execs it.
struct BrokerHost {
    // The address both broker ports bind, on ephemeral ports.
    std::string bind_address = "127.0.0.1";
    // Put before the broker's argv from the first start on, as run_broker_under() does, e.g.
    // {"/usr/sbin/ip", "netns", "exec", "NS"}; it must exec the broker (same PID).
    std::vector<std::string> wrapper;
};

class CorsairCluster {
public:
    // Starts the broker as start_broker() does. Throws std::runtime_error if it does not come up.
    explicit CorsairCluster(ClusterOptions options, BrokerHost host = {});
    ~CorsairCluster();
    CorsairCluster(const CorsairCluster&) = delete;
    CorsairCluster& operator=(const CorsairCluster&) = delete;

    // (Re)starts the broker, killing the running one first, on ephemeral ports or, with
    // `endpoints`, on those exact ones (a restart on the same ports). Blocks up to 10 s (scaled,
    // deadline.hpp) for its ready line; throws std::runtime_error if none comes.
    void start_broker(std::optional<BrokerEndpoints> endpoints = std::nullopt);
    ChildProcess& broker() { return *broker_; }
    // From the next start_broker() on, starts the broker as `wrapper` followed by its own argv,
    // e.g. {"/usr/bin/prlimit", "--fsize=65536", "--"}; the wrapper must exec it (same PID).
    void run_broker_under(std::vector<std::string> wrapper) { broker_wrapper_ = std::move(wrapper); }
    pid_t broker_pid() const noexcept { return broker_->pid(); }
    // SIGKILLs the broker and blocks (10 s at most, scaled) until it is reaped.
    void kill_broker();
    const BrokerEndpoints& endpoints() const noexcept { return endpoints_; }

    // Starts `corsair-worker --broker EP --queue QUEUE --id NAME --capacity CAPACITY ARGS...`
    // without waiting for it to register. Replaces (and kills) a worker of the same name. A
    // `wrapper` goes before that argv and must exec the worker (same PID), e.g. `ip netns exec NS`.
    ChildProcess& start_worker(const std::string& name, std::vector<std::string> args, const std::string& queue,
                               int capacity, const std::vector<std::string>& wrapper = {});
    ChildProcess& worker(const std::string& name) { return *workers_.at(name); }
    // Workers started from now on connect to the broker's direct endpoint (its --direct) or to
    // its ZeroMQ worker endpoint.
    void connect_workers_direct(bool is_direct) { options_.workers_connect_direct = is_direct; }
    std::vector<pid_t> worker_pids() const;

    const std::string& log_dir() const noexcept { return log_dir_; }
    // What the broker (every start of it) has written to its log (stderr) so far.
    std::string broker_log() const;
    // What `name`'s worker has written to its log (stderr) so far.
    std::string worker_log(const std::string& name) const;

private:
    ClusterOptions options_;
    std::string bind_address_;
    // Declared before the processes, so that it is removed only after they are gone.
    std::optional<ScratchDir> scratch_;
    std::string log_dir_;
    std::unique_ptr<ChildProcess> broker_;
    std::vector<std::string> broker_wrapper_;
    BrokerEndpoints endpoints_;
    std::map<std::string, std::unique_ptr<ChildProcess>> workers_;
};

}  // namespace corsair::test
