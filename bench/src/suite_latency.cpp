// The sequential workloads: latency through Corsair, through the ceiling and through the peers.
#include <algorithm>
#include <cstdlib>
#include <chrono>
#include <cstdio>
#include <memory>

#include "ceiling_cluster.hpp"
#include "corsair_load.hpp"
#include "job_source.hpp"
#include "peer_cluster.hpp"
#include "process_usage.hpp"
#include "raw_producer.hpp"
#include "statistics.hpp"
#include "suite.hpp"

namespace corsair::bench {

namespace {

constexpr auto kPerJobTimeout = std::chrono::seconds(10);
constexpr auto kRegistrationTimeout = std::chrono::seconds(60);
// The low-latency mode as docs/performance.md recommends it: the direct transport, the broker
// and the worker polling 1 ms after each message before they sleep, the worker running the
// handler on its I/O thread. CORSAIR_BENCH_WORKER_SPIN overrides the worker's (0ms: off), to
// measure what each side's spin brings.
constexpr const char* kDirectSpin = "1ms";

std::string worker_direct_spin() {
    const char* asked = std::getenv("CORSAIR_BENCH_WORKER_SPIN");
    return asked != nullptr && *asked != '\0' ? asked : kDirectSpin;
}

nlohmann::json summary_json(const LatencySummary& s) {
    return {{"min_us", s.min_us},   {"p50_us", s.p50_us},   {"p90_us", s.p90_us}, {"p99_us", s.p99_us},
            {"p999_us", s.p999_us}, {"mean_us", s.mean_us}, {"max_us", s.max_us}};
}

// Collects runs of samples: per-run summaries, their medians, and the pooled distribution.
class LatencyRuns {
public:
    void add(int run, std::vector<double> samples_us) {
        auto summary = summarize(samples_us);
        std::printf("    run %d: p50 %.0f us, p99 %.0f us, p99.9 %.0f us, mean %.0f us, max %.0f us\n", run,
                    summary.p50_us, summary.p99_us, summary.p999_us, summary.mean_us, summary.max_us);
        std::fflush(stdout);
        runs_.push_back(summary_json(summary));
        pooled_.insert(pooled_.end(), samples_us.begin(), samples_us.end());
    }

    void write(nlohmann::json& figures) {
        figures["runs"] = runs_;
        nlohmann::json medians;
        for (const char* key : {"min_us", "p50_us", "p90_us", "p99_us", "p999_us", "mean_us", "max_us"}) {
            std::vector<double> values;
            for (const auto& run : runs_) values.push_back(run[key].get<double>());
            medians[key] = median(values);
        }
        figures["median"] = medians;
        std::sort(pooled_.begin(), pooled_.end());
        nlohmann::json distribution = nlohmann::json::array();
        for (double p : distribution_points()) distribution.push_back({{"p", p}, {"us", percentile_of_sorted(pooled_, p)}});
        figures["distribution"] = distribution;
        figures["distribution_samples"] = pooled_.size();
        std::printf("    median: p50 %.0f us, p99 %.0f us, p99.9 %.0f us, mean %.0f us, max %.0f us\n",
                    medians["p50_us"].get<double>(), medians["p99_us"].get<double>(), medians["p999_us"].get<double>(),
                    medians["mean_us"].get<double>(), medians["max_us"].get<double>());
        std::fflush(stdout);
    }

private:
    nlohmann::json runs_ = nlohmann::json::array();
    std::vector<double> pooled_;
};

}  // namespace

void Suite::run_latency() {
    const auto& sizes = options_.sizes;
    std::printf("\n== latency (seed %llu) ==\n", static_cast<unsigned long long>(options_.seed));
    std::printf("  1 worker process (--capacity 1, --builtin echo%s), %llu sequential jobs of %zu B (+%llu warm-up):\n"
                "  SUBMIT to RESULT received, one job at a time; results are %zu B (echo)\n",
                options_.echo_placement == EchoPlacement::inline_handler ? " --inline" : options_.echo_placement == EchoPlacement::handler_threads ? " --threads 1" : "", static_cast<unsigned long long>(sizes.latency_jobs),
                sizes.latency_payload_bytes,
                static_cast<unsigned long long>(sizes.latency_warmup_jobs), sizes.latency_payload_bytes);
    nlohmann::json figures = {{"seed", options_.seed},
                              {"jobs", sizes.latency_jobs},
                              {"warmup_jobs", sizes.latency_warmup_jobs},
                              {"payload_bytes", sizes.latency_payload_bytes},
                              {"result_bytes", sizes.latency_payload_bytes},
                              {"workers", 1},
                              {"capacity", 1},
                              {"producer", options_.uses_raw_producer ? "raw" : "library"},
                              {"handler", options_.handler_description()}};
    LatencyRuns runs;
    for (int run = 1; run <= options_.runs; ++run) {
        const auto folder = run_folder("latency", run);
        const auto cluster = start_corsair(folder, {"--data-dir", ""}, 1, WorkerShape{1, options_.echo_placement});
        CorsairLoad load(context_, cluster->endpoints().producers, options_.window, options_.submit_batch, kQueue,
                         curve_);
        load.wait_for_workers(1, kRegistrationTimeout);
        const JobSource source(options_.seed, sizes.latency_payload_bytes);
        std::unique_ptr<RawProducer> raw;
        if (options_.uses_raw_producer) raw = std::make_unique<RawProducer>(context_, cluster->endpoints().producers, 1, kQueue);
        const auto sequential = [&](std::uint64_t first, std::uint64_t count) {
            return raw ? raw->run_sequential(source, first, count, kPerJobTimeout)
                       : load.run_sequential(source, first, count, kPerJobTimeout);
        };
        sequential(1, sizes.latency_warmup_jobs);
        runs.add(run, sequential(1 + sizes.latency_warmup_jobs, sizes.latency_jobs));
    }
    runs.write(figures);
    report_["workloads"]["latency"] = figures;
    run_latency_direct();
}

void Suite::run_latency_direct() {
    const auto& sizes = options_.sizes;
    std::printf("\n== latency, low-latency mode ==\n");
    if (const char* why = direct_transport_unusable()) {
        std::printf("  skipped: %s\n", why);
        report_["workloads"]["latency_direct"] = {{"skipped", why}};
        return;
    }
    const std::string worker_spin = worker_direct_spin();
    std::printf("  the same sequential jobs over the direct transport: broker --direct direct://127.0.0.1:0 "
                "--direct-spin %s, 1 worker --broker direct://... --capacity 1 --inline --direct-spin %s, the "
                "library producer over direct:// as well\n",
                kDirectSpin, worker_spin.c_str());
    nlohmann::json figures = {{"jobs", sizes.latency_jobs},
                              {"warmup_jobs", sizes.latency_warmup_jobs},
                              {"payload_bytes", sizes.latency_payload_bytes},
                              {"workers", 1},
                              {"capacity", 1},
                              {"broker_flags", {"--direct", "direct://127.0.0.1:0", "--direct-spin", kDirectSpin}},
                              {"worker_flags", {"--inline", "--direct-spin", worker_spin}}};
    LatencyRuns runs;
    nlohmann::json cpu = nlohmann::json::array();
    nlohmann::json worker_cpu = nlohmann::json::array();
    for (int run = 1; run <= options_.runs; ++run) {
        const auto folder = run_folder("latency-direct", run);
        const auto cluster = start_corsair(
            folder, {"--data-dir", "", "--direct", "direct://127.0.0.1:0", "--direct-spin", kDirectSpin}, 1,
            WorkerShape{1, EchoPlacement::inline_handler}, worker_spin);
        CorsairLoad load(context_, cluster->endpoints().direct, options_.window, options_.submit_batch, kQueue, curve_);
        load.wait_for_workers(1, kRegistrationTimeout);
        const JobSource source(options_.seed, sizes.latency_payload_bytes);
        load.run_sequential(source, 1, sizes.latency_warmup_jobs, kPerJobTimeout);
        // The mode's cost: the broker's and the worker's CPU while the jobs run, as shares of one core.
        const pid_t broker = cluster->broker_pid();
        const auto workers = cluster->worker_pids();
        const auto broker_before = cpu_time_of({broker});
        const auto worker_before = cpu_time_of(workers);
        const auto started = std::chrono::steady_clock::now();
        runs.add(run, load.run_sequential(source, 1 + sizes.latency_warmup_jobs, sizes.latency_jobs, kPerJobTimeout));
        const std::chrono::duration<double> wall = std::chrono::steady_clock::now() - started;
        const double broker_percent = 100.0 * (cpu_time_of({broker}) - broker_before).count() / wall.count();
        const double worker_percent = 100.0 * (cpu_time_of(workers) - worker_before).count() / wall.count();
        std::printf("    CPU, %% of one core: broker %.0f, worker %.0f\n", broker_percent, worker_percent);
        cpu.push_back(broker_percent);
        worker_cpu.push_back(worker_percent);
    }
    runs.write(figures);
    std::vector<double> values;
    for (const auto& value : cpu) values.push_back(value.get<double>());
    figures["broker_cpu_percent_runs"] = cpu;
    figures["median_broker_cpu_percent"] = median(values);
    values.clear();
    for (const auto& value : worker_cpu) values.push_back(value.get<double>());
    figures["worker_cpu_percent_runs"] = worker_cpu;
    figures["median_worker_cpu_percent"] = median(values);
    report_["workloads"]["latency_direct"] = figures;
}

nlohmann::json Suite::measure_ceiling_latency() {
    const auto& sizes = options_.sizes;
    std::printf("  ceiling latency: 1 echo worker process, %llu sequential jobs of %zu B (+%llu warm-up)\n",
                static_cast<unsigned long long>(sizes.latency_jobs), sizes.latency_payload_bytes,
                static_cast<unsigned long long>(sizes.latency_warmup_jobs));
    nlohmann::json figures = {{"jobs", sizes.latency_jobs},
                              {"warmup_jobs", sizes.latency_warmup_jobs},
                              {"payload_bytes", sizes.latency_payload_bytes},
                              {"workers", 1}};
    LatencyRuns runs;
    for (int run = 1; run <= options_.runs; ++run) {
        CeilingCluster cluster(self_bin_, 1, run_folder("ceiling-latency", run));
        RawProducer load(context_, cluster.producer_endpoint(), 1, kQueue);
        const JobSource source(options_.seed, sizes.latency_payload_bytes);
        load.run_sequential(source, 1, sizes.latency_warmup_jobs, kPerJobTimeout);
        runs.add(run, load.run_sequential(source, 1 + sizes.latency_warmup_jobs, sizes.latency_jobs, kPerJobTimeout));
    }
    runs.write(figures);
    return figures;
}

nlohmann::json Suite::measure_peer_latency(Peer peer, const std::string& program) {
    const auto& sizes = options_.sizes;
    const std::string name(to_string(peer));
    std::printf("  %s latency: 1 worker process, %llu sequential jobs of %zu B (+%llu warm-up), submit to result\n",
                name.c_str(), static_cast<unsigned long long>(sizes.latency_jobs), sizes.latency_payload_bytes,
                static_cast<unsigned long long>(sizes.latency_warmup_jobs));
    nlohmann::json figures = {{"jobs", sizes.latency_jobs},
                              {"warmup_jobs", sizes.latency_warmup_jobs},
                              {"payload_bytes", sizes.latency_payload_bytes},
                              {"workers", 1}};
    LatencyRuns runs;
    for (int run = 1; run <= options_.runs; ++run) {
        PeerCluster cluster(peer, program, self_bin_, 1, run_folder("peer-" + name + "-latency", run));
        const auto load = make_peer_load(peer, cluster.address());
        const JobSource source(options_.seed, sizes.latency_payload_bytes);
        load->run_sequential(source, 1, sizes.latency_warmup_jobs, kPerJobTimeout);
        runs.add(run, load->run_sequential(source, 1 + sizes.latency_warmup_jobs, sizes.latency_jobs, kPerJobTimeout));
    }
    runs.write(figures);
    return figures;
}

}  // namespace corsair::bench
