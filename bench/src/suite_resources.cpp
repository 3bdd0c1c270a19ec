// The resource workloads: broker memory per pending job, broker CPU with many idle workers.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>

#include "corsair_load.hpp"
#include "job_source.hpp"
#include "process_usage.hpp"
#include "simulated_workers.hpp"
#include "statistics.hpp"
#include "suite.hpp"

namespace corsair::bench {

namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kFillTimeout = std::chrono::minutes(10);
constexpr auto kRegistrationTimeout = std::chrono::seconds(120);

std::uint64_t pending_in(const protocol::StatsReply& stats, const std::string& queue) {
    for (const auto& entry : stats.queues) {
        if (entry.name == queue) return entry.pending;
    }
    return 0;
}

// Two descriptors a simulated worker (its TCP connection and its socket's mailbox), plus room
// for the rest of this process. The hard limit goes up too where the process may (that takes
// CAP_SYS_RESOURCE, which root in a container may lack). Past the limit the last workers would
// never connect and the run would fail only at its registration timeout, two minutes later: so
// it refuses at once, naming the limit.
void raise_open_files_for(int idle_workers) {
    const auto wanted = static_cast<rlim_t>(2 * static_cast<rlim_t>(idle_workers) + 256);
    rlimit files{};
    if (getrlimit(RLIMIT_NOFILE, &files) != 0 || files.rlim_cur >= wanted) return;
    const rlimit raised{wanted, std::max(wanted, files.rlim_max)};
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) return;
    throw std::runtime_error("many-workers: " + std::to_string(idle_workers) + " idle workers need about " +
                             std::to_string(wanted) + " open files in this process, its limit is " +
                             std::to_string(files.rlim_cur) +
                             " (ulimit -n; past the hard limit, ulimit -Hn, raising it needs CAP_SYS_RESOURCE)");
}

}  // namespace

void Suite::run_memory() {
    const auto& sizes = options_.sizes;
    std::printf("\n== memory: broker RSS with pending jobs (seed %llu) ==\n", static_cast<unsigned long long>(options_.seed));
    std::printf("  %llu jobs of %zu B submitted (no result wanted), no workers, memory-only broker; VmRSS before\n"
                "  (queue created, its max_length lifted) and after every ACCEPTED; overhead = delta/jobs - payload\n",
                static_cast<unsigned long long>(sizes.memory_jobs), sizes.memory_payload_bytes);
    nlohmann::json figures = {{"seed", options_.seed},
                              {"jobs", sizes.memory_jobs},
                              {"payload_bytes", sizes.memory_payload_bytes},
                              {"runs", nlohmann::json::array()}};
    std::vector<double> overheads;
    for (int run = 1; run <= options_.runs; ++run) {
        const auto cluster = start_corsair(run_folder("memory", run), {"--data-dir", ""}, 0,
                                           WorkerShape{0, EchoPlacement::worker_default});
        CorsairLoad load(context_, cluster->endpoints().producers, options_.window, options_.submit_batch, kQueue,
                         curve_);
        load.lift_queue_limit();
        const auto before = resident_bytes(cluster->broker_pid()).value_or(0);
        const JobSource source(options_.seed, sizes.memory_payload_bytes);
        const double seconds = load.fill(source, 1, sizes.memory_jobs, kFillTimeout);
        const auto pending = pending_in(load.stats(), kQueue);
        const auto after = resident_bytes(cluster->broker_pid()).value_or(0);
        if (pending != sizes.memory_jobs) {
            throw std::runtime_error("memory: the broker holds " + std::to_string(pending) + " pending jobs, not " +
                                     std::to_string(sizes.memory_jobs));
        }
        const double per_job = (static_cast<double>(after) - static_cast<double>(before)) / static_cast<double>(sizes.memory_jobs);
        const double overhead = per_job - static_cast<double>(sizes.memory_payload_bytes);
        std::printf("    run %d: RSS %.1f MiB -> %.1f MiB, %.0f B per job, overhead %.0f B per job (filled in %.2f s)\n",
                    run, static_cast<double>(before) / 1048576.0, static_cast<double>(after) / 1048576.0, per_job,
                    overhead, seconds);
        std::fflush(stdout);
        overheads.push_back(overhead);
        figures["runs"].push_back({{"rss_before_bytes", before},
                                   {"rss_after_bytes", after},
                                   {"pending_jobs", pending},
                                   {"bytes_per_job", per_job},
                                   {"overhead_bytes_per_job", overhead},
                                   {"fill_seconds", seconds}});
    }
    figures["median_overhead_bytes_per_job"] = median(overheads);
    std::printf("    median: overhead %.0f B per pending job beyond its %zu-byte payload\n", median(overheads),
                sizes.memory_payload_bytes);
    report_["workloads"]["memory"] = figures;
}

void Suite::run_many_workers() {
    const auto& sizes = options_.sizes;
    const auto window = sizes.idle_window;
    std::printf("\n== many-workers: idle workers heartbeating (seed %llu) ==\n",
                static_cast<unsigned long long>(options_.seed));
    std::printf("  %d simulated workers: real DEALER connections over TCP from this process, each sending READY and\n"
                "  a HEARTBEAT every idle interval (the broker's, adopted from its HEARTBEAT: by default 10\n"
                "  heartbeat intervals, docs/protocol.md §9) and reading every broker message, all serviced by one\n"
                "  thread; memory-only broker; window %lld s after registration\n",
                sizes.idle_workers, static_cast<long long>(window.count()));
    nlohmann::json figures = {{"seed", options_.seed},
                              {"workers", sizes.idle_workers},
                              {"window_seconds", window.count()},
                              {"simulated", "real DEALER connections in the bench process, one thread, protocol/ "
                                            "encode/decode; READY (idle_heartbeat) then HEARTBEAT every idle interval"},
                              {"runs", nlohmann::json::array()}};
    raise_open_files_for(sizes.idle_workers);
    std::vector<double> cpu_percents;
    long long max_false_deaths = 0;
    for (int run = 1; run <= options_.runs; ++run) {
        const auto cluster = start_corsair(run_folder("many-workers", run), {"--data-dir", ""}, 0,
                                           WorkerShape{0, EchoPlacement::worker_default});
        CorsairLoad load(context_, cluster->endpoints().producers, options_.window, options_.submit_batch, kQueue,
                         curve_);
        const auto count = static_cast<std::size_t>(sizes.idle_workers);
        SimulatedWorkers workers(context_, cluster->endpoints().workers, count, kQueue);
        if (!workers.wait_until_registered(kRegistrationTimeout)) {
            throw std::runtime_error("many-workers: not every simulated worker was answered by the broker in time");
        }
        load.wait_for_workers(count, kRegistrationTimeout);
        // One interval of steady heartbeats before the window opens (at most the window: --quick).
        workers.serve_until(Clock::now() + std::min<Clock::duration>(workers.interval(), window));
        workers.reset_maxima();

        const auto cpu_before = cpu_time_of({cluster->broker_pid()});
        const auto start = Clock::now();
        workers.serve_until(start + window);
        const auto cpu_after = cpu_time_of({cluster->broker_pid()});
        const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
        const auto stats = load.stats();
        const auto false_deaths = static_cast<long long>(counter(stats, "workers_dead"));
        const double cpu_percent = (cpu_after - cpu_before).count() / seconds * 100;
        const auto& counts = workers.counts();
        std::printf("    run %d: broker CPU %.2f %% of one core over %.1f s; %zu workers listed; false deaths %lld;\n"
                    "           heartbeats sent %llu, received %llu; latest heartbeat %.0f ms late; longest broker\n"
                    "           silence %.0f ms (idle interval %lld ms)\n",
                    run, cpu_percent, seconds, stats.workers.size(), false_deaths,
                    static_cast<unsigned long long>(counts.heartbeats_sent),
                    static_cast<unsigned long long>(counts.messages_received), counts.max_heartbeat_lateness_ms,
                    counts.max_broker_silence_ms, static_cast<long long>(workers.interval().count()));
        std::fflush(stdout);
        cpu_percents.push_back(cpu_percent);
        max_false_deaths = std::max({max_false_deaths, false_deaths,
                                     static_cast<long long>(counts.unknown_worker_errors)});
        figures["runs"].push_back({{"broker_cpu_percent", cpu_percent},
                                   {"broker_cpu_seconds", (cpu_after - cpu_before).count()},
                                   {"seconds", seconds},
                                   {"workers_listed", stats.workers.size()},
                                   {"false_deaths", false_deaths},
                                   {"unknown_worker_errors", counts.unknown_worker_errors},
                                   {"disconnects", counts.disconnects},
                                   {"heartbeats_sent", counts.heartbeats_sent},
                                   {"messages_received", counts.messages_received},
                                   {"max_heartbeat_lateness_ms", counts.max_heartbeat_lateness_ms},
                                   {"max_broker_silence_ms", counts.max_broker_silence_ms},
                                   {"heartbeat_interval_ms", workers.interval().count()}});
    }
    figures["median_broker_cpu_percent"] = median(cpu_percents);
    figures["max_false_deaths"] = max_false_deaths;
    std::printf("    median: broker CPU %.2f %% of one core; false deaths %lld (must be 0)\n", median(cpu_percents),
                max_false_deaths);
    report_["workloads"]["many_workers"] = figures;
}

}  // namespace corsair::bench
