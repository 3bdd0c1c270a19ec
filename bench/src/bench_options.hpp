// The corsair-bench command line: which workloads to run, at what size, and where the real
// binaries are. Parsed once in main; everything else reads these values.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace corsair::bench {

enum class Workload { ceiling, throughput, latency, durable, scaling, memory, many_workers, http };

// The --workload name ("many-workers" for many_workers).
std::string_view to_string(Workload workload);
// Every workload, in the order the suite runs them.
const std::vector<Workload>& all_workloads();

// The sizes of every workload: the full ones of issue 5, or --quick's scaled-down ones.
struct WorkloadSizes {
    std::uint64_t throughput_jobs = 200'000;
    std::uint64_t warmup_jobs = 2'000;  // run and awaited before each timed throughput phase
    std::size_t payload_bytes = 64;
    int throughput_workers = 4;
    std::uint64_t latency_jobs = 20'000;
    std::uint64_t latency_warmup_jobs = 200;
    std::size_t latency_payload_bytes = 16;
    std::vector<int> scaling_workers{1, 4, 16, 64};
    std::uint64_t memory_jobs = 1'000'000;
    std::size_t memory_payload_bytes = 64;
    int idle_workers = 1'000;
    std::chrono::seconds idle_window{60};
    std::uint64_t http_single_jobs = 50'000;   // the http workload, one job per request
    std::uint64_t http_batch_jobs = 200'000;   // the http workload, --http-batch jobs per request
    std::uint64_t http_worker_jobs = 50'000;   // the http workload, claimed and completed over HTTP
    std::uint64_t http_warmup_jobs = 2'000;
};

WorkloadSizes full_sizes();
WorkloadSizes quick_sizes();

// Where corsair-worker runs the echo handler (--worker-handlers).
enum class EchoPlacement : std::uint8_t {
    worker_default,   // no flag: the worker's own choice (echo, an instant built-in, runs inline)
    inline_handler,   // --inline: on the I/O thread
    handler_threads,  // --threads CAPACITY: one handler thread per credit, as a command needs
};

// The corsair-worker flags after --builtin echo, and how the report names them.
std::vector<std::string> echo_worker_flags(EchoPlacement placement, std::uint32_t capacity);
std::string echo_handler_description(EchoPlacement placement);

struct BenchOptions {
    std::vector<Workload> workloads;  // as asked; empty means all
    bool is_quick = false;
    int runs = 3;
    std::uint64_t seed = 20'250'505;
    std::string json_path;
    std::string broker_bin;
    std::string worker_bin;
    std::string cli_bin;  // corsair, for the throughput workload's `corsair submit --file --wait` run
    std::uint32_t capacity = 64;   // --capacity of each corsair-worker in throughput workloads
    EchoPlacement echo_placement = EchoPlacement::inline_handler;  // --worker-handlers
    std::string handler_description() const { return echo_handler_description(echo_placement); }
    bool uses_raw_producer = false;  // --producer raw: timed phases without corsair::producer
    std::size_t window = 1'000;    // corsair::producer window (SUBMITs awaiting ACCEPTED)
    std::uint32_t submit_batch = 64;  // corsair::producer's jobs per SUBMITS; 1 = one SUBMIT each
    bool broker_http = true;       // false: the throughput workloads run corsair-broker --http ''
    bool uses_curve = false;       // CURVE on both broker ports, with keys made for the run (--curve)
    bool scrapes_metrics = false;  // a thread GETs /metrics every second during timed throughput phases
    int http_connections = 4;      // the http workload's client threads, one keep-alive connection each
    std::size_t http_batch = 100;  // jobs per request in the http workload's batch phase
    std::string scratch_parent;    // where run folders (logs, journals) are made
    bool keeps_scratch = false;
    WorkloadSizes sizes;
    std::string command_line;  // as typed, for the report

    bool measures_peers = false;   // --peers: Redis and beanstalkd, when installed, in the same run

    // Hidden: the bench re-executes itself as the ceiling's processes and the peers' workers.
    bool serves_proxy = false;
    std::string echo_worker_endpoint;
    std::string redis_worker_address;       // HOST:PORT
    std::string beanstalkd_worker_address;  // HOST:PORT
};

// Parses argv. On --help, or on a usage error (printed to stderr), returns the exit code main
// should return instead: 0 or 2.
std::variant<BenchOptions, int> parse_options(int argc, char** argv);

}  // namespace corsair::bench
