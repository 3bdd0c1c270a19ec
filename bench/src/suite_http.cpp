// The http workload of issue 13: jobs submitted over the broker's HTTP side (keep-alive, one job
// per request, then batches) and run by real corsair-workers, end to end.
#include <cstdio>
#include <thread>

#include "corsair_load.hpp"
#include "http_load.hpp"
#include "http_workers.hpp"
#include "job_source.hpp"
#include "process_usage.hpp"
#include "statistics.hpp"
#include "suite.hpp"

namespace corsair::bench {

namespace {

using Clock = std::chrono::steady_clock;

// Deadlines, not expectations, as in the throughput workloads.
constexpr auto kRegistrationTimeout = std::chrono::seconds(60);
std::chrono::milliseconds run_timeout(std::uint64_t jobs) {
    return std::chrono::seconds(60) + std::chrono::milliseconds(5 * jobs);
}

// Blocks until the broker has counted `target` jobs done; throws std::runtime_error at `deadline`.
void wait_done(CorsairLoad& load, std::uint64_t target, Clock::time_point deadline) {
    while (counter(load.stats(), "jobs_done") < target) {
        if (Clock::now() > deadline) throw std::runtime_error("HTTP-submitted jobs were not done in time");
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
}

}  // namespace

nlohmann::json Suite::measure_http_submit(const std::string& label, std::size_t batch, std::uint64_t jobs) {
    const auto& sizes = options_.sizes;
    const int workers = sizes.throughput_workers;
    nlohmann::json figures = {{"workers", workers},           {"capacity", options_.capacity},
                              {"jobs", jobs},                 {"warmup_jobs", sizes.http_warmup_jobs},
                              {"payload_bytes", sizes.payload_bytes}, {"jobs_per_request", batch},
                              {"connections", options_.http_connections},
                              {"handler", options_.handler_description()},
                              {"journal", false},             {"runs", nlohmann::json::array()}};
    std::printf("  %s: %llu jobs of %zu B (+%llu warm-up), %zu per request, %d keep-alive connection(s), "
                "%d worker process(es), memory only\n",
                label.c_str(), static_cast<unsigned long long>(jobs), sizes.payload_bytes,
                static_cast<unsigned long long>(sizes.http_warmup_jobs), batch, options_.http_connections, workers);
    std::fflush(stdout);
    for (int run = 1; run <= options_.runs; ++run) {
        const auto cluster = start_corsair(run_folder(label, run), {"--data-dir", ""}, workers, asked_worker_shape());
        CorsairLoad load(context_, cluster->endpoints().producers, options_.window, options_.submit_batch, kQueue,
                         curve_);
        load.wait_for_workers(static_cast<std::size_t>(workers), kRegistrationTimeout);
        const HttpLoad http(cluster->endpoints().http, kQueue, options_.http_connections);
        const JobSource source(options_.seed, sizes.payload_bytes);
        http.submit(source, 1, sizes.http_warmup_jobs, batch, run_timeout(sizes.http_warmup_jobs));
        wait_done(load, sizes.http_warmup_jobs, Clock::now() + run_timeout(sizes.http_warmup_jobs));

        const auto producer_before = own_cpu_time();
        const auto broker_before = cpu_time_of({cluster->broker_pid()});
        const auto started = Clock::now();
        const double submit_seconds = http.submit(source, 1 + sizes.http_warmup_jobs, jobs, batch, run_timeout(jobs));
        wait_done(load, sizes.http_warmup_jobs + jobs, started + run_timeout(jobs));
        const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
        const auto broker_cpu = cpu_time_of({cluster->broker_pid()}) - broker_before;
        const nlohmann::json result = {{"seconds", seconds},
                                       {"submit_seconds", submit_seconds},
                                       {"jobs_per_second", static_cast<double>(jobs) / seconds},
                                       {"requests_per_second", static_cast<double>((jobs + batch - 1) / batch) / submit_seconds},
                                       {"client_cpu_seconds", (own_cpu_time() - producer_before).count()},
                                       {"broker_cpu_seconds", broker_cpu.count()},
                                       {"broker_cpu_percent", broker_cpu.count() / seconds * 100}};
        std::printf("    run %d: %.0f jobs/s done (%.2f s; last 202 after %.2f s; broker CPU %.0f %% of a core)\n", run,
                    result["jobs_per_second"].get<double>(), seconds, submit_seconds,
                    result["broker_cpu_percent"].get<double>());
        std::fflush(stdout);
        figures["runs"].push_back(result);
    }
    finish_throughput_runs(figures);
    return figures;
}

nlohmann::json Suite::measure_http_workers(const std::string& label, std::uint64_t jobs) {
    const auto& sizes = options_.sizes;
    const int threads = options_.http_connections;
    nlohmann::json figures = {{"workers", threads},
                              {"jobs", jobs},
                              {"warmup_jobs", sizes.http_warmup_jobs},
                              {"payload_bytes", sizes.payload_bytes},
                              {"handler", "echo: each claimed payload completed as the result"},
                              {"journal", false},
                              {"runs", nlohmann::json::array()}};
    std::printf("  %s: %llu jobs of %zu B (+%llu warm-up) submitted over ZeroMQ beforehand, then claimed and\n"
                "  completed by %d HTTP worker thread(s), one keep-alive connection each, memory only\n",
                label.c_str(), static_cast<unsigned long long>(jobs), sizes.payload_bytes,
                static_cast<unsigned long long>(sizes.http_warmup_jobs), threads);
    std::fflush(stdout);
    for (int run = 1; run <= options_.runs; ++run) {
        const auto cluster = start_corsair(run_folder(label, run), {"--data-dir", ""}, 0, asked_worker_shape());
        CorsairLoad load(context_, cluster->endpoints().producers, options_.window, options_.submit_batch, kQueue,
                         curve_);
        const HttpWorkers workers(cluster->endpoints().http, kQueue, threads);
        const JobSource source(options_.seed, sizes.payload_bytes);
        load.fill(source, 1, sizes.http_warmup_jobs, run_timeout(sizes.http_warmup_jobs));
        workers.run(sizes.http_warmup_jobs, run_timeout(sizes.http_warmup_jobs));
        load.fill(source, 1 + sizes.http_warmup_jobs, jobs, run_timeout(jobs));

        const auto client_before = own_cpu_time();
        const auto broker_before = cpu_time_of({cluster->broker_pid()});
        const double seconds = workers.run(jobs, run_timeout(jobs));
        const auto broker_cpu = cpu_time_of({cluster->broker_pid()}) - broker_before;
        const nlohmann::json result = {{"seconds", seconds},
                                       {"jobs_per_second", static_cast<double>(jobs) / seconds},
                                       {"client_cpu_seconds", (own_cpu_time() - client_before).count()},
                                       {"broker_cpu_seconds", broker_cpu.count()},
                                       {"broker_cpu_percent", broker_cpu.count() / seconds * 100}};
        std::printf("    run %d: %.0f jobs/s completed (%.2f s; broker CPU %.0f %% of a core)\n", run,
                    result["jobs_per_second"].get<double>(), seconds, result["broker_cpu_percent"].get<double>());
        std::fflush(stdout);
        figures["runs"].push_back(result);
    }
    finish_throughput_runs(figures);
    return figures;
}

void Suite::run_http() {
    std::printf("\n== http: jobs submitted over HTTP, run by corsair-workers (seed %llu) ==\n",
                static_cast<unsigned long long>(options_.seed));
    std::printf("  POST /api/v1/queues/%s/jobs with cpp-httplib's client, timed from the first request until the\n"
                "  broker's STATS counts every job done (jobs_done); then HTTP workers.\n",
                kQueue);
    nlohmann::json http = {{"seed", options_.seed}};
    http["single"] = measure_http_submit("http-single", 1, options_.sizes.http_single_jobs);
    http["batch"] = measure_http_submit("http-batch", options_.http_batch, options_.sizes.http_batch_jobs);
    http["workers"] = measure_http_workers("http-workers", options_.sizes.http_worker_jobs);
    report_["workloads"]["http"] = http;
}

}  // namespace corsair::bench
