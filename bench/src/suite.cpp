#include "suite.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "ceiling_cluster.hpp"
#include "machine_info.hpp"
#include "statistics.hpp"
#include "summary_table.hpp"

namespace corsair::bench {

std::string producer_description(bool uses_raw_producer, std::uint32_t submit_batch) {
    if (uses_raw_producer) {
        return "this process, raw: one DEALER sending SUBMITs encoded by protocol/ with no window of its own "
               "below the broker's --max-in-flight (ZeroMQ high-water marks pace it), with accept_within_ms 10 s so "
               "that RESULTs stand for ACCEPTEDs (memory fills and admin calls still go through corsair::producer)";
    }
    return "this process, through the corsair::producer library (submit_async pipelined with a window, " +
           (submit_batch > 1 ? "in SUBMITS of up to " + std::to_string(submit_batch) + " jobs, "
                             : std::string("one SUBMIT per job, ")) +
           "accept_within 1 s, poll/wait_result for RESULTs)";
}

namespace {

// Sockets of this process besides the simulated idle workers (producers, scrapers, ceiling).
constexpr int kOtherSockets = 4096;

bool has(const std::vector<Workload>& list, Workload workload) {
    return std::find(list.begin(), list.end(), workload) != list.end();
}

// value / reference, or null when there was nothing to divide by.
nlohmann::json ratio(double value, double reference) {
    return reference > 0 ? nlohmann::json(value / reference) : nlohmann::json(nullptr);
}

}  // namespace

Suite::Suite(const BenchOptions& options, zmq::context_t& context)
    : options_(options), context_(context), scratch_("corsair-bench", options.scratch_parent, options.keeps_scratch),
      self_bin_(own_executable_path()) {
    context_.set(zmq::ctxopt::max_sockets, kOtherSockets + options.sizes.idle_workers);
    // Each simulated worker costs this process two descriptors and the broker one: the soft limit
    // goes up to the hard one here, and the many-workers workload asks for more if it needs it.
    rlimit files{};
    if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
        files.rlim_cur = files.rlim_max;
        setrlimit(RLIMIT_NOFILE, &files);
    }
}

std::vector<int> Suite::ceiling_worker_counts(const std::vector<Workload>& planned) const {
    std::set<int> counts{options_.sizes.throughput_workers};
    if (has(planned, Workload::scaling)) counts.insert(options_.sizes.scaling_workers.begin(), options_.sizes.scaling_workers.end());
    return {counts.begin(), counts.end()};
}

std::string Suite::run_folder(const std::string& label, int run) const {
    return scratch_.fresh_subdir(label + "-run" + std::to_string(run));
}

WorkerShape Suite::asked_worker_shape() const { return {options_.capacity, options_.echo_placement}; }

std::unique_ptr<test::CorsairCluster> Suite::start_corsair(const std::string& folder,
                                                           std::vector<std::string> broker_flags, int workers,
                                                           WorkerShape shape,
                                                           std::optional<std::string> direct_worker_spin) const {
    broker_flags.insert(broker_flags.end(), curve_broker_flags_.begin(), curve_broker_flags_.end());
    test::ClusterOptions cluster_options{options_.broker_bin, options_.worker_bin, std::move(broker_flags), folder,
                                         test::ChildProcess::Stdout::discarded, direct_worker_spin.has_value()};
    auto cluster = std::make_unique<test::CorsairCluster>(std::move(cluster_options));
    std::vector<std::string> worker_args{"--builtin", "echo"};
    worker_args.insert(worker_args.end(), curve_worker_flags_.begin(), curve_worker_flags_.end());
    const auto worker_flags = echo_worker_flags(shape.echo_placement, shape.capacity);
    worker_args.insert(worker_args.end(), worker_flags.begin(), worker_flags.end());
    if (direct_worker_spin) worker_args.insert(worker_args.end(), {"--direct-spin", *direct_worker_spin});
    for (int i = 0; i < workers; ++i) {
        cluster->start_worker("bench-w" + std::to_string(i), worker_args, kQueue, static_cast<int>(shape.capacity));
    }
    return cluster;
}

void Suite::make_curve_keys() {
    namespace fs = std::filesystem;
    const fs::path dir = scratch_.path() / "curve";
    fs::create_directories(dir / "allowed");
    auto write = [&dir](const std::string& name, const std::string& role, const protocol::CurveKeyPair& pair) {
        std::map<std::string, std::string> metadata{{"name", name}};
        if (!role.empty()) metadata["role"] = role;
        std::ofstream(dir / (name + ".key")) << protocol::format_certificate(pair, false, metadata, "corsair-bench");
        std::ofstream(dir / (name + ".key_secret")) << protocol::format_certificate(pair, true, metadata, "corsair-bench");
        if (!role.empty()) fs::copy_file(dir / (name + ".key"), dir / "allowed" / (name + ".key"));
    };
    const auto broker = protocol::generate_curve_key_pair();
    const auto worker = protocol::generate_curve_key_pair();
    const auto load = protocol::generate_curve_key_pair();
    write("broker", "", broker);
    write("bench-worker", "worker", worker);
    write("bench-load", "admin", load);
    curve_.server_public_key = broker.public_key;
    curve_.own = load;
    curve_broker_flags_ = {"--curve-secret-key", (dir / "broker.key_secret").string(), "--allowed-keys",
                           (dir / "allowed").string()};
    curve_worker_flags_ = {"--curve-server-key", (dir / "broker.key").string(), "--curve-key",
                           (dir / "bench-worker.key_secret").string()};
    curve_cli_flags_ = {"--curve-server-key", (dir / "broker.key").string(), "--curve-key",
                        (dir / "bench-load.key_secret").string()};
}

std::vector<Workload> Suite::planned_workloads() const {
    std::vector<Workload> planned = options_.workloads.empty() ? all_workloads() : options_.workloads;
    // Ratios need their references measured in the same run.
    const bool needs_throughput = has(planned, Workload::durable) || has(planned, Workload::http);
    if (needs_throughput && !has(planned, Workload::throughput)) planned.push_back(Workload::throughput);
    const bool needs_ceiling = has(planned, Workload::ceiling) || has(planned, Workload::throughput) ||
                               has(planned, Workload::latency) || has(planned, Workload::scaling);
    if (needs_ceiling && !has(planned, Workload::ceiling)) planned.push_back(Workload::ceiling);
    std::vector<Workload> ordered;
    for (auto workload : all_workloads()) {
        if (has(planned, workload)) ordered.push_back(workload);
    }
    return ordered;
}

void Suite::begin_report(const std::vector<Workload>& ordered) {
    report_ = {
        {"tool", "corsair-bench"},
        {"format", 1},
        {"command", options_.command_line},
        {"quick", options_.is_quick},
        {"runs", options_.runs},
        {"seed", options_.seed},
        {"machine", machine_info()},
        {"load_average_at_start", load_average()},
        {"producer", options_.uses_raw_producer ? "raw" : "library"},
        {"broker_http", options_.broker_http},
        {"scrapes_metrics", options_.scrapes_metrics},
        {"curve", options_.uses_curve},
        {"measures_peers", options_.measures_peers},
        {"producer_description", producer_description(options_.uses_raw_producer, options_.submit_batch)},
        {"scratch", {{"path", scratch_.path().string()}, {"filesystem", scratch_.filesystem_type()}}},
        {"binaries",
         {{"broker", options_.broker_bin}, {"worker", options_.worker_bin}, {"cli", options_.cli_bin}, {"bench", self_bin_}}},
        {"workloads", nlohmann::json::object()},
    };
    std::vector<std::string> names;
    for (auto workload : ordered) names.emplace_back(to_string(workload));
    report_["planned"] = names;

    const auto& machine = report_["machine"];
    std::printf("corsair-bench%s: seed %llu, %d run(s) per measurement (median reported)\n",
                options_.is_quick ? " --quick" : "", static_cast<unsigned long long>(options_.seed), options_.runs);
    std::printf("machine: %s, %lld cpus, %s, libzmq %s, %s build, commit %s\n",
                machine["cpu_model"].get<std::string>().c_str(), machine["nproc"].get<long long>(),
                machine["kernel"].get<std::string>().c_str(), machine["libzmq"].get<std::string>().c_str(),
                machine["build_type"].get<std::string>().c_str(), machine["commit"].get<std::string>().c_str());
    std::printf("producer: %s\n", producer_description(options_.uses_raw_producer, options_.submit_batch).c_str());
    if (options_.uses_curve) {
        make_curve_keys();
        std::printf("CURVE: on for both broker ports in every Corsair workload (--curve)\n");
    }
    const auto& load = report_["load_average_at_start"];
    std::printf("load average at start: %.2f %.2f %.2f (other work on the machine skews every figure)\n",
                load[0].get<double>(), load[1].get<double>(), load[2].get<double>());
    std::printf("scratch: %s (%s)\n", scratch_.path().c_str(), scratch_.filesystem_type().c_str());
    std::printf("workloads: ");
    for (std::size_t i = 0; i < names.size(); ++i) std::printf("%s%s", i ? ", " : "", names[i].c_str());
    std::printf("%s\n", options_.measures_peers ? ", peers" : "");
    std::fflush(stdout);
}

nlohmann::json Suite::run() {
    const std::vector<Workload> ordered = planned_workloads();
    begin_report(ordered);
    const bool measures_peer_throughput = options_.measures_peers && has(ordered, Workload::throughput);
    const bool measures_peer_latency = options_.measures_peers && has(ordered, Workload::latency);
    if (options_.measures_peers && !measures_peer_throughput && !measures_peer_latency) {
        std::printf("--peers: the peers are measured with the throughput and latency workloads, and neither runs\n");
    }
    // The peers run right after the Corsair workloads they are compared with, so that both see
    // the machine in the same state.
    const Workload peers_after = measures_peer_latency ? Workload::latency : Workload::throughput;
    for (auto workload : ordered) {
        switch (workload) {
            case Workload::ceiling: run_ceiling(ceiling_worker_counts(ordered), true); break;
            case Workload::throughput: run_throughput(); break;
            case Workload::latency: run_latency(); break;
            case Workload::durable: run_durable(); break;
            case Workload::scaling: run_scaling(); break;
            case Workload::memory: run_memory(); break;
            case Workload::many_workers: run_many_workers(); break;
            case Workload::http: run_http(); break;
        }
        if (workload == peers_after && (measures_peer_throughput || measures_peer_latency)) {
            run_peers(measures_peer_throughput, measures_peer_latency);
        }
    }
    add_ratios();
    report_["load_average_at_end"] = load_average();
    print_summary_table(report_, options_.runs, options_.seed);
    return report_;
}

void Suite::add_ratios() {
    auto& results = report_["workloads"];
    auto ceiling_throughput = [&](int workers) -> double {
        const auto* points = find_figure(results, {"ceiling", "throughput"});
        if (points == nullptr) return 0;
        for (const auto& point : *points) {
            if (point["workers"] == workers) return point["median_jobs_per_second"].get<double>();
        }
        return 0;
    };
    for (const char* key : {"throughput", "throughput_cli", "throughput_capacity_1", "throughput_capacity_1_threads",
                            "throughput_direct", "throughput_cli_direct", "throughput_capacity_1_direct"}) {
        if (!results.contains(key) || !results[key].contains("median_jobs_per_second")) continue;
        auto& throughput = results[key];
        throughput["ratio_to_ceiling"] =
            ratio(throughput["median_jobs_per_second"].get<double>(), ceiling_throughput(throughput["workers"].get<int>()));
    }
    for (const char* workload : {"latency", "latency_direct"}) {
        if (!results.contains(workload) || !results[workload].contains("median") ||
            find_figure(results, {"ceiling", "latency", "median"}) == nullptr) {
            continue;
        }
        auto& latency = results[workload];
        const auto& reference = results["ceiling"]["latency"]["median"];
        nlohmann::json ratios;
        for (const char* key : {"p50_us", "p90_us", "p99_us", "p999_us", "mean_us", "max_us"}) {
            ratios[key] = ratio(latency["median"][key].get<double>(), reference[key].get<double>());
        }
        latency["ratio_to_ceiling"] = ratios;
    }
    if (results.contains("durable")) {
        const double memory_only =
            results.contains("throughput") ? results["throughput"]["median_jobs_per_second"].get<double>() : 0;
        for (auto& policy : results["durable"]["policies"]) {
            const double value = policy["median_jobs_per_second"].get<double>();
            policy["ratio_to_memory_only"] = ratio(value, memory_only);
            policy["ratio_to_ceiling"] = ratio(value, ceiling_throughput(policy["workers"].get<int>()));
        }
    }
    if (results.contains("http") && results.contains("throughput")) {
        const double zeromq = results["throughput"]["median_jobs_per_second"].get<double>();
        for (const char* phase : {"single", "batch", "workers"}) {
            auto& figures = results["http"][phase];
            figures["ratio_to_zeromq_throughput"] = ratio(figures["median_jobs_per_second"].get<double>(), zeromq);
        }
    }
    if (results.contains("scaling")) {
        for (auto& point : results["scaling"]["points"]) {
            const double reference = ceiling_throughput(point["workers"].get<int>());
            point["ceiling_jobs_per_second"] = reference > 0 ? nlohmann::json(reference) : nlohmann::json(nullptr);
            point["ratio_to_ceiling"] = ratio(point["median_jobs_per_second"].get<double>(), reference);
        }
    }
    add_direct_ratios();
    add_peer_ratios();
}

void Suite::add_direct_ratios() {
    auto& results = report_["workloads"];
    // Each against the same shape over ZeroMQ, measured minutes before in this run.
    for (const auto& [direct, zeromq] : {std::pair{"throughput_direct", "throughput"},
                                         std::pair{"throughput_cli_direct", "throughput_cli"},
                                         std::pair{"throughput_capacity_1_direct", "throughput_capacity_1"}}) {
        if (!results.contains(direct) || !results[direct].contains("median_jobs_per_second") ||
            !results.contains(zeromq)) {
            continue;
        }
        results[direct]["ratio_to_zeromq"] = ratio(results[direct]["median_jobs_per_second"].get<double>(),
                                                   results[zeromq]["median_jobs_per_second"].get<double>());
    }
}

const char* Suite::direct_transport_unusable() const {
    if (options_.uses_raw_producer) return "the raw producer speaks only ZeroMQ";
    if (!curve_broker_flags_.empty()) return "the direct transport has no CURVE";
    return nullptr;
}

void finish_throughput_runs(nlohmann::json& figures) {
    std::vector<double> values;
    for (const auto& run : figures["runs"]) values.push_back(run["jobs_per_second"].get<double>());
    figures["median_jobs_per_second"] = median(values);
    std::printf("    median: %.0f jobs/s\n", figures["median_jobs_per_second"].get<double>());
    std::fflush(stdout);
}

}  // namespace corsair::bench
