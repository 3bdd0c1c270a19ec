// The sequential workloads: latency through Corsair, through the ceiling and through the peers.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>

#include "ceiling_cluster.hpp"
#include "corsair_load.hpp"
#include "job_source.hpp"
#include "peer_cluster.hpp"
#include "raw_producer.hpp"
#include "statistics.hpp"
#include "suite.hpp"

namespace corsair::bench {

namespace {

constexpr auto kPerJobTimeout = std::chrono::seconds(10);
constexpr auto kRegistrationTimeout = std::chrono::seconds(60);

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
