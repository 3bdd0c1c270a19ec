// The benchmark suite: runs the asked workloads (and the ones they need for their ratios) one
// after the other on the calling thread, prints each figure as it comes and builds the report.
// Workloads live in suite_*.cpp, one file per kind of measurement.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "bench_options.hpp"
#include "corsair/protocol/curve.hpp"
#include "corsair_cluster.hpp"  // the harness, tests/support
#include "peer.hpp"
#include "scratch_dir.hpp"

namespace corsair::bench {

// The one queue every workload submits to and every worker serves.
inline constexpr const char* kQueue = "bench";

// How a workload's corsair-workers run: their --capacity and whether the echo handler runs on
// their I/O thread (--inline) or on one handler thread per credit (the default).
struct WorkerShape {
    std::uint32_t capacity = 1;
    EchoPlacement echo_placement = EchoPlacement::worker_default;
};

// How a workload's producer and workers reach the broker: its ZeroMQ endpoints, or its direct
// endpoint (--direct direct://127.0.0.1:0, protocol.md §2.1), with no --direct-spin on either side.
enum class Transport { zeromq, direct };

class Suite {
public:
    // Sets the context's socket limit for many-workers and raises this process's open-file limit
    // (children inherit it). Must come before any socket of `context` exists.
    Suite(const BenchOptions& options, zmq::context_t& context);

    // Blocks for the whole suite. Returns the report (the --json document). Throws
    // std::runtime_error when a process does not start or a run misses its deadline.
    nlohmann::json run();

private:
    // suite_throughput.cpp
    void run_ceiling(const std::vector<int>& worker_counts, bool measures_latency);
    void run_throughput();
    void run_durable();
    void run_scaling();
    // `runs` repeats of one pipelined workload against a Corsair cluster; `journal` false means
    // --data-dir '' (memory only), true a fresh folder per run with `fsync_policy`.
    nlohmann::json measure_corsair_throughput(const std::string& label, int workers, bool journal,
                                              const std::string& fsync_policy, WorkerShape shape,
                                              Transport transport = Transport::zeromq);
    // Its parameters as the report's figures, printed as the workload's heading.
    nlohmann::json describe_corsair_throughput(const std::string& label, int workers, bool journal,
                                               const std::string& fsync_policy, WorkerShape shape,
                                               Transport transport) const;
    // `runs` repeats of the throughput workload with the real CLI as the producer: `corsair
    // submit --file --wait`, a child process, timed from its start to its exit.
    nlohmann::json measure_cli_throughput(int workers, WorkerShape shape, Transport transport = Transport::zeromq);
    // The throughput workload's pipelined, CLI and capacity-1 measurements again over the direct
    // transport; skipped (and said so) with --curve or --producer raw, which it cannot carry.
    void run_throughput_direct();
    // A cluster for a throughput measurement over `transport`; `broker_flags` gain --direct for it.
    std::unique_ptr<test::CorsairCluster> start_throughput_cluster(const std::string& folder,
                                                                   std::vector<std::string> broker_flags, int workers,
                                                                   WorkerShape shape, Transport transport) const;
    nlohmann::json measure_ceiling_throughput(int workers);
    // `runs` repeats of the throughput workload against a fresh `peer` server (at `program`) with
    // the throughput workload's number of worker processes, each holding one job at a time.
    nlohmann::json measure_peer_throughput(Peer peer, const std::string& program);

    // suite_latency.cpp
    void run_latency();
    // The latency workload in the low-latency mode (direct transport, --direct-spin).
    void run_latency_direct();
    nlohmann::json measure_ceiling_latency();
    nlohmann::json measure_peer_latency(Peer peer, const std::string& program);

    // suite_peers.cpp
    // With --peers: every installed peer's throughput (if `measures_throughput`) and latency (if
    // `measures_latency`) into report_["workloads"]["peers"]; a peer not installed is noted, not measured.
    void run_peers(bool measures_throughput, bool measures_latency);
    // The best peer's figures (report_["workloads"]["peers"]["best"]) and Corsair's ratios to them.
    void add_peer_ratios();

    // suite_resources.cpp
    void run_memory();
    void run_many_workers();

    // suite_http.cpp
    void run_http();
    // `runs` repeats of `jobs` submitted over HTTP, `batch` per request, run by the throughput
    // workload's corsair-workers; timed until the broker counts them done.
    nlohmann::json measure_http_submit(const std::string& label, std::size_t batch, std::uint64_t jobs);
    // `runs` repeats of `jobs` submitted over ZeroMQ beforehand, then claimed and completed by
    // HTTP workers; timed from the first claim to the last completion.
    nlohmann::json measure_http_workers(const std::string& label, std::uint64_t jobs);

    // suite.cpp
    // The workloads to run, in their order: those asked, and those their ratios need.
    std::vector<Workload> planned_workloads() const;
    // Starts report_ (machine, options, `ordered`) and prints the run's header; makes the CURVE
    // keys with --curve.
    void begin_report(const std::vector<Workload>& ordered);
    std::vector<int> ceiling_worker_counts(const std::vector<Workload>& planned) const;
    std::string run_folder(const std::string& label, int run) const;
    // The corsair-workers' shape asked on the command line (--capacity, --worker-handlers).
    WorkerShape asked_worker_shape() const;
    // Starts the real corsair-broker with `broker_flags` and `workers` corsair-workers (echo
    // handler, shaped by `shape`), logging into `folder`, without waiting for the workers to
    // register. Throws std::runtime_error if the broker does not start.
    // With `direct_worker_spin`, the workers connect to the broker's direct endpoint (the broker
    // flags must hold --direct) with that --direct-spin.
    std::unique_ptr<test::CorsairCluster> start_corsair(const std::string& folder, std::vector<std::string> broker_flags,
                                                        int workers, WorkerShape shape,
                                                        std::optional<std::string> direct_worker_spin = std::nullopt) const;
    // With --curve: writes the broker's key, a worker key and an admin key for the load into the
    // scratch folder, and fills curve_ and curve_*_flags_.
    void make_curve_keys();
    void add_ratios();
    // Each direct-transport throughput figure over the same shape's over ZeroMQ (ratio_to_zeromq).
    void add_direct_ratios();
    // Why this run cannot use the direct transport ("the direct transport has no CURVE", "the raw
    // producer speaks only ZeroMQ"), or null when it can.
    const char* direct_transport_unusable() const;

    const BenchOptions& options_;
    zmq::context_t& context_;
    test::ScratchDir scratch_;
    std::string self_bin_;
    nlohmann::json report_;  // the --json document; figures go to report_["workloads"]
    protocol::CurveClientKeys curve_;  // the load's keys with --curve; empty without
    std::vector<std::string> curve_broker_flags_;
    std::vector<std::string> curve_worker_flags_;
    std::vector<std::string> curve_cli_flags_;  // the load's keys, for `corsair submit`
};

// How the bench produces in the timed phases, for the report.
std::string producer_description(bool uses_raw_producer, std::uint32_t submit_batch);

// Sets figures["median_jobs_per_second"] from the jobs_per_second of figures["runs"] and prints it.
void finish_throughput_runs(nlohmann::json& figures);

}  // namespace corsair::bench
