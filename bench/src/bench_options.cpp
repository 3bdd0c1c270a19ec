#include "bench_options.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <optional>

#include "corsair/protocol/limits.hpp"

namespace corsair::bench {

namespace {

constexpr const char* kDescription = R"(corsair-bench: Corsair against the raw ZeroMQ ceiling, with real processes on loopback.

It starts the real corsair-broker and corsair-worker binaries on tcp://127.0.0.1:* and is itself
the producer: the corsair::producer library, pipelined with a window (or, with --producer raw, a
bare DEALER speaking protocol/). Every workload prints its seed and parameters; each measurement
is repeated --runs times and the median is reported.

Workloads (--workload NAME, repeatable; default: all):
  ceiling       the reference: a zero-logic ZeroMQ proxy (ROUTER in, DEALER out, run by this
                binary as a separate process) and single-threaded echo worker processes, carrying
                SUBMIT and RESULT frames encoded by protocol/ (same frame counts and sizes as
                Corsair's). Measures the throughput and latency workloads through it; Corsair's
                figures are printed as ratios of it. Run automatically when a workload needs it.
  throughput    200,000 jobs of 64 bytes, 4 corsair-worker processes (--builtin echo: the closest
                built-in to a no-op, it returns the payload), one pipelining producer; timed until
                the producer has every RESULT. Broker memory-only (--data-dir ''). Then the same
                jobs through the CLI (`corsair submit --file --wait`, a child process timed from
                its start to its exit, --cli-bin). Then the same with every worker at --capacity 1 and its default flags (one job per worker at
                a time, as the peers' workers hold, plus up to 32 held ready, --prefetch 32),
                and again with --threads 1 (a handler thread, as a command's worker has).
                Then the pipelined, CLI and --capacity 1 runs again over the direct transport
                (broker --direct direct://127.0.0.1:0, workers and producer over direct://, no
                --direct-spin), each with its ratio to the same run over ZeroMQ. Skipped with
                --curve (no CURVE on it) and --producer raw (ZeroMQ only).
  latency       1 producer, 1 worker (--capacity 1), 20,000 sequential jobs of 16 bytes (echo:
                16-byte results), SUBMIT to RESULT; p50, p99, p99.9, mean, max in microseconds.
                Then the same in the low-latency mode: the direct transport (broker --direct,
                --direct-spin 1ms; worker --inline --direct-spin 1ms, or CORSAIR_BENCH_WORKER_SPIN;
                the producer over direct://), with the broker's and the worker's CPU meanwhile.
                Skipped with --curve (no CURVE on it) and --producer raw (ZeroMQ only).
  durable       throughput with the journal in a fresh folder, for --fsync always, interval and
                never, with the ratio to the memory-only throughput (measured too if not asked).
  scaling       throughput with 1, 4, 16 and 64 worker processes.
  memory        broker RSS (VmRSS) before and after 1,000,000 pending jobs of 64 bytes, no workers,
                memory-only broker: overhead per job beyond the payload.
  many-workers  1,000 idle workers (--idle-workers) heartbeating at the broker's default idle interval
                for 60 s: broker CPU % of one core and false deaths (must be 0). The workers are
                simulated in this process: real DEALER connections speaking READY/HEARTBEAT, one
                thread.
  http          jobs submitted over HTTP (POST /api/v1/queues/bench/jobs, --http-connections
                keep-alive connections, one thread each) and run by the throughput workload's
                corsair-workers, timed until the broker counts them done: 50,000 jobs one per
                request, then 200,000 jobs in batches of --http-batch; then HTTP workers: 50,000
                jobs submitted over ZeroMQ beforehand, claimed and completed (POST .../claim, POST
                /api/v1/leases/TOKEN/complete) by --http-connections worker threads, one keep-alive
                connection each. Ratios to the throughput workload (measured too if not asked).

Peers (--peers, issue 17): when Debian's redis-server and beanstalkd are installed, each is
measured in the same run, right after Corsair's throughput and latency workloads, with their
sizes: a fresh server per run on a free 127.0.0.1 port (memory only, its files in the scratch
folder, stopped by PID), 4 worker processes (this binary re-executed, one connection each,
holding one job at a time and echoing the payload as the result) and this process as the
producer, over plain TCP in the peer's own protocol (RESP; beanstalkd's text protocol). A job is
complete when its result is back at the producer (Redis: popped from the producer's result list;
beanstalkd: reserved from a result tube). The producer keeps up to 1,000 submits unacknowledged;
the peers' workers cannot prefetch, so that one figure is each peer's capacity-1 and pipelined
figure. The summary and --json print Corsair's ratio to the best peer beside its ratio to the
ceiling: throughput (at --capacity, 64 by default), the CLI's, the --capacity 1 variant and the
direct-transport runs against the best peer's throughput, latency p50 (and the low-latency mode's)
against the best peer's p50. A peer not installed is noted.

The speed A/B of issue 13 (the ZeroMQ path with HTTP off, against HTTP on and /metrics scraped
every second): alternate `--workload throughput --broker-http off` and
`--workload throughput --scrape-metrics`. Without either flag the broker runs with HTTP on, on
an ephemeral loopback port, and nobody scrapes.

--quick scales every workload down (5,000 jobs, 500 latency samples, 20,000 pending jobs,
50 idle workers for 3 s, 1,000, 5,000 and 1,000 HTTP jobs, runs 1) so that the whole suite takes seconds: CI's smoke test.)";

const std::vector<std::pair<std::string, Workload>> kWorkloadNames = {
    {"ceiling", Workload::ceiling}, {"throughput", Workload::throughput}, {"latency", Workload::latency},
    {"durable", Workload::durable}, {"scaling", Workload::scaling},       {"memory", Workload::memory},
    {"many-workers", Workload::many_workers}, {"http", Workload::http},
};

}  // namespace

std::string_view to_string(Workload workload) {
    for (const auto& [name, value] : kWorkloadNames) {
        if (value == workload) return name;
    }
    return "?";
}

const std::vector<Workload>& all_workloads() {
    static const std::vector<Workload> kAll = {Workload::ceiling, Workload::throughput, Workload::latency,
                                               Workload::durable, Workload::scaling,    Workload::memory,
                                               Workload::many_workers, Workload::http};
    return kAll;
}

std::vector<std::string> echo_worker_flags(EchoPlacement placement, std::uint32_t capacity) {
    switch (placement) {
        case EchoPlacement::inline_handler: return {"--inline"};
        case EchoPlacement::handler_threads: return {"--threads", std::to_string(std::max<std::uint32_t>(capacity, 1))};
        case EchoPlacement::worker_default: break;
    }
    return {};
}

std::string echo_handler_description(EchoPlacement placement) {
    switch (placement) {
        case EchoPlacement::inline_handler:
            return "corsair-worker --builtin echo --inline (returns the payload, on the I/O thread)";
        case EchoPlacement::handler_threads:
            return "corsair-worker --builtin echo --threads CAPACITY (returns the payload, one handler thread per "
                   "credit)";
        case EchoPlacement::worker_default:
            break;
    }
    return "corsair-worker --builtin echo, default flags (an instant built-in: on the I/O thread; --prefetch 32)";
}

WorkloadSizes full_sizes() { return WorkloadSizes{}; }

WorkloadSizes quick_sizes() {
    WorkloadSizes sizes;
    sizes.throughput_jobs = 5'000;
    sizes.warmup_jobs = 200;
    sizes.latency_jobs = 500;
    sizes.latency_warmup_jobs = 20;
    sizes.scaling_workers = {1, 4, 16};
    sizes.memory_jobs = 20'000;
    sizes.idle_workers = 50;
    sizes.idle_window = std::chrono::seconds(3);
    sizes.http_single_jobs = 1'000;
    sizes.http_batch_jobs = 5'000;
    sizes.http_worker_jobs = 1'000;
    sizes.http_warmup_jobs = 200;
    return sizes;
}

namespace {

// What the flags write before it becomes BenchOptions (names and words turned into values).
struct FlagValues {
    std::vector<std::string> workload_names;
    int runs = -1;
    std::string handlers = "inline";
    std::string producer = "library";
    std::uint64_t throughput_jobs = 0;
    int idle_workers = 0;
    std::string broker_http = "on";
};

// What runs, how often, which binaries.
void add_run_flags(CLI::App& app, BenchOptions& options, FlagValues& flags) {
    app.add_option("--workload", flags.workload_names,
                   "Workload to run (repeatable; default all): ceiling, throughput, latency, durable, scaling, memory, "
                   "many-workers, http")
        ->type_name("NAME")
        ->check(CLI::IsMember({"ceiling", "throughput", "latency", "durable", "scaling", "memory", "many-workers",
                               "http", "all"}));
    app.add_flag("--quick", options.is_quick, "Scaled-down version of every workload, in seconds (CI's smoke test)");
    app.add_option("--runs", flags.runs,
                   "Repeat each measurement N times and report the median (default 3; 1 with --quick)")
        ->type_name("N")
        ->check(CLI::Range(1, 100));
    app.add_option("--seed", options.seed, "Seed of job ids and payloads (printed with every workload)")
        ->capture_default_str();
    app.add_option("--json", options.json_path,
                   "Also write every parameter, figure, ratio and per-run value, and the machine, to FILE")
        ->type_name("FILE");
    app.add_option("--broker-bin", options.broker_bin, "corsair-broker to run")->capture_default_str()->type_name("PATH");
    app.add_option("--worker-bin", options.worker_bin, "corsair-worker to run")->capture_default_str()->type_name("PATH");
    app.add_option("--cli-bin", options.cli_bin,
                   "corsair (the CLI) whose `submit --file --wait` the throughput workload times")
        ->capture_default_str()
        ->type_name("PATH");
}

// The shape of the load: workers, producer, sizes, the broker's HTTP side, CURVE.
void add_load_flags(CLI::App& app, BenchOptions& options, FlagValues& flags) {
    app.add_option("--capacity", options.capacity,
                   "--capacity (credit, handler threads) of each corsair-worker in the throughput workloads")
        ->capture_default_str()
        ->check(CLI::Range(1, 10'000));
    app.add_option("--worker-handlers", flags.handlers,
                   "How corsair-worker runs the echo handler: inline = on its I/O thread (--inline), as the "
                   "ceiling's echo workers do; threads = one handler thread per credit (--threads CAPACITY, as a "
                   "command's worker has); default = no flag (the worker runs echo inline by itself)")
        ->capture_default_str()
        ->check(CLI::IsMember({"inline", "threads", "default"}));
    app.add_option("--producer", flags.producer,
                   "Who submits in the timed phases: library = corsair::producer (what users run), raw = a bare "
                   "DEALER sending protocol/ frames with no window, as the ceiling's producer does")
        ->capture_default_str()
        ->check(CLI::IsMember({"library", "raw"}));
    app.add_option("--window", options.window,
                   "Producer window of corsair::producer: SUBMITs neither ACCEPTED nor answered by their RESULT; with "
                   "accept_within (the bench sends 1000 ms) that is the jobs in flight (the ceiling has no window)")
        ->capture_default_str()
        ->check(CLI::Range(1, 1'000'000));
    app.add_option("--submit-batch", options.submit_batch,
                   "Most jobs corsair::producer sends in one SUBMITS (its submit_batch; the pipelined loads hold a "
                   "Producer::Batch around their submits); 1 = one SUBMIT per job, as before protocol revision 4")
        ->capture_default_str()
        ->check(CLI::Range(1, static_cast<int>(protocol::kMaxBatchEntries)));
    app.add_option("--throughput-jobs", flags.throughput_jobs,
                   "Timed jobs per run of the throughput, durable and scaling workloads (default 200,000; 5,000 "
                   "with --quick); longer runs see more /metrics scrapes")
        ->type_name("N")
        ->check(CLI::Range(1'000, 100'000'000));
    app.add_option("--idle-workers", flags.idle_workers,
                   "Simulated idle workers of the many-workers workload (default 1,000; 50 with --quick); each costs "
                   "this process two file descriptors, so the open file limit is raised to fit (its hard limit too, "
                   "where the process may)")
        ->type_name("N")
        ->check(CLI::Range(1, static_cast<int>(protocol::kDefaultMaxWorkers)));
    app.add_option("--broker-http", flags.broker_http,
                   "HTTP side of corsair-broker in the throughput, durable and scaling workloads: on = an ephemeral "
                   "loopback port, off = --http '' (the http workload always has it on)")
        ->capture_default_str()
        ->check(CLI::IsMember({"on", "off"}));
    app.add_flag("--scrape-metrics", options.scrapes_metrics,
                 "During each timed throughput, durable and scaling run, GET the broker's /metrics every second "
                 "(as a Prometheus server would); needs --broker-http on");
    app.add_flag("--curve", options.uses_curve,
                 "Run every Corsair workload with CURVE on both broker ports (keys made for the run in the scratch "
                 "folder; workers and the producer use them): compare with a run without it for CURVE's cost");
    app.add_option("--http-connections", options.http_connections,
                   "http workload: client threads, each with one keep-alive connection")
        ->capture_default_str()
        ->check(CLI::Range(1, 256));
    app.add_option("--http-batch", options.http_batch, "http workload: jobs per request in its batch phase")
        ->capture_default_str()
        ->check(CLI::Range(2, 10'000));
}

// Where the run's files go, the peers, and the hidden modes this binary is re-executed in.
void add_other_flags(CLI::App& app, BenchOptions& options) {
    app.add_option("--scratch-dir", options.scratch_parent,
                   "Where each run's folder (process logs, journals) is made; journals are fsynced there")
        ->capture_default_str()
        ->type_name("DIR");
    app.add_flag("--keep-scratch", options.keeps_scratch, "Keep the run folder (logs, journals) instead of removing it");
    app.add_flag("--peers", options.measures_peers,
                 "Also measure Redis and beanstalkd (when installed) with the throughput and latency workloads, in "
                 "the same run, and print Corsair's ratio to the best of them (see Peers above; off in --quick's CI "
                 "smoke unless given)");
    app.add_flag("--serve-proxy", options.serves_proxy, "")->group("");
    app.add_option("--serve-redis-worker", options.redis_worker_address, "")->group("");
    app.add_option("--serve-beanstalkd-worker", options.beanstalkd_worker_address, "")->group("");
    app.add_option("--serve-echo-worker", options.echo_worker_endpoint, "")->group("");
}

// Turns the parsed flags into `options`; an exit code when they contradict each other.
std::optional<int> apply(const FlagValues& flags, BenchOptions& options) {
    const auto& names = flags.workload_names;
    const bool is_all = names.empty() || std::find(names.begin(), names.end(), "all") != names.end();
    if (!is_all) {
        for (const auto& [name, workload] : kWorkloadNames) {
            if (std::find(names.begin(), names.end(), name) != names.end()) options.workloads.push_back(workload);
        }
    }
    options.uses_raw_producer = flags.producer == "raw";
    options.broker_http = flags.broker_http == "on";
    if (options.scrapes_metrics && !options.broker_http) {
        std::cerr << "corsair-bench: --scrape-metrics needs --broker-http on\n";
        return 2;
    }
    if (options.uses_curve && options.uses_raw_producer) {
        std::cerr << "corsair-bench: --curve needs --producer library (the raw producer has no CURVE)\n";
        return 2;
    }
    options.echo_placement = flags.handlers == "inline"    ? EchoPlacement::inline_handler
                             : flags.handlers == "threads" ? EchoPlacement::handler_threads
                                                     : EchoPlacement::worker_default;
    options.sizes = options.is_quick ? quick_sizes() : full_sizes();
    if (flags.throughput_jobs > 0) options.sizes.throughput_jobs = flags.throughput_jobs;
    if (flags.idle_workers > 0) options.sizes.idle_workers = flags.idle_workers;
    options.runs = flags.runs > 0 ? flags.runs : (options.is_quick ? 1 : 3);
    return std::nullopt;
}

}  // namespace

std::variant<BenchOptions, int> parse_options(int argc, char** argv) {
    BenchOptions options;
    options.broker_bin = CORSAIR_BENCH_BROKER_BIN;
    options.worker_bin = CORSAIR_BENCH_WORKER_BIN;
    options.cli_bin = CORSAIR_BENCH_CLI_BIN;
    const char* tmpdir = std::getenv("TMPDIR");
    options.scratch_parent = tmpdir != nullptr && *tmpdir != '\0' ? tmpdir : "/tmp";
    FlagValues flags;
    CLI::App app(kDescription, "corsair-bench");
    app.get_formatter()->column_width(30);
    add_run_flags(app, options, flags);
    add_load_flags(app, options, flags);
    add_other_flags(app, options);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    if (const auto code = apply(flags, options)) return *code;
    for (int i = 0; i < argc; ++i) {
        if (i > 0) options.command_line += ' ';
        options.command_line += argv[i];
    }
    return options;
}

}  // namespace corsair::bench
