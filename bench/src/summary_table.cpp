#include "summary_table.hpp"

#include <cstdio>
#include <string>
#include <utility>
#include <vector>

namespace corsair::bench {

const nlohmann::json* find_figure(const nlohmann::json& object, const std::vector<std::string>& path) {
    const nlohmann::json* node = &object;
    for (const auto& key : path) {
        if (!node->is_object() || !node->contains(key)) return nullptr;
        node = &(*node)[key];
    }
    return node;
}

namespace {

std::string with_commas(double value) {
    const std::string digits = std::to_string(static_cast<long long>(value + 0.5));
    std::string text;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0) text += ',';
        text += digits[i];
    }
    return text;
}

void row(const std::string& figure, const std::string& value, const std::string& ratio) {
    std::printf("  %-62s %16s   %s\n", figure.c_str(), value.c_str(), ratio.c_str());
}

// "87.8 % of ceiling" (`as_percent`) or "1.05 x ceiling"; "-" when there was no ceiling to divide by.
std::string ratio_text(const nlohmann::json& ratio, bool as_percent) {
    if (ratio.is_null()) return "-";
    char text[64];
    if (as_percent) {
        std::snprintf(text, sizeof text, "%.1f %% of ceiling", ratio.get<double>() * 100);
    } else {
        std::snprintf(text, sizeof text, "%.2f x ceiling", ratio.get<double>());
    }
    return text;
}

// "; 3.05 x best peer (redis)" beside a Corsair figure, when peers were measured.
std::string to_best_peer(const nlohmann::json& figure, const nlohmann::json* ratio) {
    if (ratio == nullptr || !figure.contains("best_peer")) return "";
    char text[96];
    std::snprintf(text, sizeof text, "; %.2f x best peer (%s)", ratio->get<double>(),
                  figure["best_peer"].get<std::string>().c_str());
    return text;
}

std::string percentiles_text(const nlohmann::json& latency) {
    char text[64];
    std::snprintf(text, sizeof text, "%.0f / %.0f / %.0f", latency["p50_us"].get<double>(),
                  latency["p99_us"].get<double>(), latency["p999_us"].get<double>());
    return text;
}

std::string percent_text(const nlohmann::json& ratio, const char* of_what) {
    char text[96];
    std::snprintf(text, sizeof text, "%.1f %% of %s", ratio.is_null() ? 0.0 : ratio.get<double>() * 100, of_what);
    return text;
}

// What the others are measured against: the ceiling and the peers.
void print_references(const nlohmann::json& results) {
    if (const auto* ceiling = find_figure(results, {"ceiling"})) {
        for (const auto& point : (*ceiling)["throughput"]) {
            row("ceiling throughput, " + std::to_string(point["workers"].get<int>()) + " workers (jobs/s)",
                with_commas(point["median_jobs_per_second"].get<double>()), "");
        }
        if (const auto* latency = find_figure(*ceiling, {"latency", "median"})) {
            row("ceiling latency p50 / p99 / p99.9 (us)", percentiles_text(*latency), "");
        }
    }
    const auto* peers = find_figure(results, {"peers"});
    if (peers == nullptr) return;
    for (const auto& [name, figures] : peers->items()) {
        if (!figures.is_object() || !figures.contains("installed")) continue;
        if (!figures["installed"].get<bool>()) {
            row("peer " + name, "-", "not installed");
            continue;
        }
        if (const auto* throughput = find_figure(figures, {"throughput"})) {
            row("peer " + name + ", " + std::to_string((*throughput)["workers"].get<int>()) + " workers (jobs/s)",
                with_commas((*throughput)["median_jobs_per_second"].get<double>()),
                "one job per worker = its pipelined figure");
        }
        if (const auto* latency = find_figure(figures, {"latency", "median"})) {
            row("peer " + name + " latency p50/p99/p99.9 (us)", percentiles_text(*latency), "");
        }
    }
}

void print_throughputs(const nlohmann::json& results) {
    for (const auto& [key, label] : {std::pair{"throughput", ""},
                                      std::pair{"throughput_cli", ", corsair submit --file --wait"},
                                      std::pair{"throughput_capacity_1", ", --capacity 1"},
                                      std::pair{"throughput_capacity_1_threads", ", --capacity 1 --threads 1"}}) {
        const auto* throughput = find_figure(results, {key});
        if (throughput == nullptr) continue;
        row("throughput, " + std::to_string((*throughput)["workers"].get<int>()) + " workers" + label + " (jobs/s)",
            with_commas((*throughput)["median_jobs_per_second"].get<double>()),
            ratio_text((*throughput)["ratio_to_ceiling"], true) +
                to_best_peer(*throughput, find_figure(*throughput, {"ratio_to_best_peer"})));
    }
    // Over the direct transport, against the same shape over ZeroMQ (the ceiling is a ZeroMQ proxy).
    for (const auto& [key, label] : {std::pair{"throughput_direct", ", direct transport"},
                                      std::pair{"throughput_cli_direct", ", CLI, direct transport"},
                                      std::pair{"throughput_capacity_1_direct", ", --capacity 1, direct"}}) {
        const auto* throughput = find_figure(results, {key, "median_jobs_per_second"}) ? find_figure(results, {key})
                                                                                       : nullptr;
        if (throughput == nullptr) continue;
        const auto* to_zeromq = find_figure(*throughput, {"ratio_to_zeromq"});
        char text[48] = "-";
        if (to_zeromq != nullptr && to_zeromq->is_number()) {
            std::snprintf(text, sizeof text, "%.2f x over ZeroMQ", to_zeromq->get<double>());
        }
        row("throughput, " + std::to_string((*throughput)["workers"].get<int>()) + " workers" + label + " (jobs/s)",
            with_commas((*throughput)["median_jobs_per_second"].get<double>()),
            text + to_best_peer(*throughput, find_figure(*throughput, {"ratio_to_best_peer"})));
    }
    const auto* http = find_figure(results, {"http"});
    if (http == nullptr) return;
    for (const char* phase : {"single", "batch"}) {
        const auto& figures = (*http)[phase];
        row("http, " + std::to_string(figures["jobs_per_request"].get<long long>()) + " job(s) per request (jobs/s)",
            with_commas(figures["median_jobs_per_second"].get<double>()),
            percent_text(figures["ratio_to_zeromq_throughput"], "ZeroMQ throughput"));
    }
    const auto& workers = (*http)["workers"];
    row("http workers, " + std::to_string(workers["workers"].get<int>()) + " threads (jobs/s)",
        with_commas(workers["median_jobs_per_second"].get<double>()),
        percent_text(workers["ratio_to_zeromq_throughput"], "ZeroMQ throughput"));
}

void print_latency(const nlohmann::json& results) {
    for (const auto& [workload, mode] : {std::pair{"latency", ""}, std::pair{"latency_direct", ", low-latency mode"}}) {
        const auto* latency = find_figure(results, {workload, "median"}) ? find_figure(results, {workload}) : nullptr;
        if (latency == nullptr) continue;
        for (const auto& [key, label] : std::vector<std::pair<std::string, std::string>>{
                 {"p50_us", "p50"}, {"p99_us", "p99"}, {"p999_us", "p99.9"}, {"mean_us", "mean"}, {"max_us", "max"}}) {
            char text[32];
            std::snprintf(text, sizeof text, "%.0f", (*latency)["median"][key].get<double>());
            const auto* ratio = find_figure(*latency, {"ratio_to_ceiling", key});
            row("latency" + std::string(mode) + " " + label + " (us)", text,
                (ratio ? ratio_text(*ratio, false) : "-") +
                    to_best_peer(*latency, find_figure(*latency, {"ratio_to_best_peer", key})));
        }
        for (const auto& [key, name] : {std::pair{"median_broker_cpu_percent", "broker"},
                                        std::pair{"median_worker_cpu_percent", "worker"}}) {
            const auto* cpu = find_figure(*latency, {key});
            if (cpu == nullptr) continue;
            char text[32];
            std::snprintf(text, sizeof text, "%.0f %%", cpu->get<double>());
            row("latency" + std::string(mode) + ": " + name + " CPU", text, "of one core, while the jobs ran");
        }
    }
}

// The journal's cost, scaling with workers, memory and idle workers.
void print_resources(const nlohmann::json& results) {
    if (const auto* durable = find_figure(results, {"durable", "policies"})) {
        for (const auto& [policy, figures] : durable->items()) {
            row("durable --fsync " + policy + " (jobs/s)", with_commas(figures["median_jobs_per_second"].get<double>()),
                ratio_text(figures["ratio_to_ceiling"], true) + "; " +
                    percent_text(figures["ratio_to_memory_only"], "memory-only"));
        }
    }
    if (const auto* scaling = find_figure(results, {"scaling", "points"})) {
        for (const auto& point : *scaling) {
            row("scaling, " + std::to_string(point["workers"].get<int>()) + " workers (jobs/s)",
                with_commas(point["median_jobs_per_second"].get<double>()),
                ratio_text(point["ratio_to_ceiling"], true));
        }
    }
    if (const auto* memory = find_figure(results, {"memory"})) {
        char text[32];
        std::snprintf(text, sizeof text, "%.0f", (*memory)["median_overhead_bytes_per_job"].get<double>());
        row("memory: broker overhead per pending job (bytes)", text, "beyond the payload");
    }
    if (const auto* idle = find_figure(results, {"many_workers"})) {
        char text[32];
        std::snprintf(text, sizeof text, "%.2f %%", (*idle)["median_broker_cpu_percent"].get<double>());
        row("many-workers: broker CPU, " + std::to_string((*idle)["workers"].get<int>()) + " idle workers", text,
            "of one core");
        row("many-workers: false deaths (must be 0)", std::to_string((*idle)["max_false_deaths"].get<long long>()),
            (*idle)["max_false_deaths"].get<long long>() == 0 ? "ok" : "FAILED");
    }
}

}  // namespace

void print_summary_table(const nlohmann::json& report, int runs, std::uint64_t seed) {
    const auto& load = report["load_average_at_end"];
    std::printf("\n== summary (medians of %d run(s), seed %llu; load average at end %.2f %.2f %.2f) ==\n", runs,
                static_cast<unsigned long long>(seed), load[0].get<double>(), load[1].get<double>(),
                load[2].get<double>());
    const auto& results = report["workloads"];
    print_references(results);
    print_throughputs(results);
    print_latency(results);
    print_resources(results);
    std::fflush(stdout);
}

}  // namespace corsair::bench
