// corsair-bench-check FILE: the smoke test's judge. Exit 0 when FILE is a corsair-bench --json
// report holding every workload's figures, each of them positive; otherwise 1, naming what is
// missing. It checks shape only: no figure is compared with a target.
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace {

int failures = 0;

const nlohmann::json* at(const nlohmann::json& root, const std::string& pointer) {
    const nlohmann::json::json_pointer path(pointer);
    return root.contains(path) ? &root.at(path) : nullptr;
}

void require(const nlohmann::json& root, const std::string& pointer) {
    if (at(root, pointer) == nullptr) {
        std::fprintf(stderr, "missing: %s\n", pointer.c_str());
        ++failures;
    }
}

void require_positive(const nlohmann::json& root, const std::string& pointer) {
    const auto* value = at(root, pointer);
    if (value == nullptr || !value->is_number() || value->get<double>() <= 0) {
        std::fprintf(stderr, "not a positive number: %s\n", pointer.c_str());
        ++failures;
    }
}

void require_number(const nlohmann::json& root, const std::string& pointer) {
    const auto* value = at(root, pointer);
    if (value == nullptr || !value->is_number()) {
        std::fprintf(stderr, "not a number: %s\n", pointer.c_str());
        ++failures;
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: corsair-bench-check REPORT.json\n");
        return 2;
    }
    std::ifstream file(argv[1]);
    nlohmann::json report;
    try {
        report = nlohmann::json::parse(file);
    } catch (const nlohmann::json::exception& e) {
        std::fprintf(stderr, "%s does not parse: %s\n", argv[1], e.what());
        return 1;
    }
    for (const char* key : {"/seed", "/runs", "/quick", "/command", "/machine/cpu_model", "/machine/kernel",
                            "/machine/commit"}) {
        require(report, key);
    }
    require_positive(report, "/machine/nproc");

    const std::string w = "/workloads";
    for (const char* key : {"/throughput/median_jobs_per_second", "/throughput/ratio_to_ceiling",
                            "/throughput/runs/0/jobs_per_second", "/latency/median/p50_us", "/latency/median/p99_us",
                            "/latency/median/p999_us", "/latency/distribution/0/us", "/latency/ratio_to_ceiling/p50_us",
                            "/ceiling/latency/median/p50_us", "/ceiling/throughput/0/median_jobs_per_second",
                            "/durable/policies/always/median_jobs_per_second",
                            "/durable/policies/interval/median_jobs_per_second",
                            "/durable/policies/never/median_jobs_per_second",
                            "/durable/policies/always/ratio_to_memory_only", "/memory/runs/0/rss_before_bytes",
                            "/memory/runs/0/rss_after_bytes", "/many_workers/runs/0/seconds",
                            "/many_workers/runs/0/heartbeats_sent", "/http/single/median_jobs_per_second",
                            "/http/batch/median_jobs_per_second", "/http/single/ratio_to_zeromq_throughput",
                            "/http/batch/ratio_to_zeromq_throughput", "/http/workers/median_jobs_per_second",
                            "/http/workers/ratio_to_zeromq_throughput"}) {
        require_positive(report, w + key);
    }
    const auto* points = at(report, w + "/scaling/points");
    if (points == nullptr || !points->is_array() || points->empty()) {
        std::fprintf(stderr, "missing: %s/scaling/points\n", w.c_str());
        ++failures;
    } else {
        for (std::size_t i = 0; i < points->size(); ++i) {
            require_positive(report, w + "/scaling/points/" + std::to_string(i) + "/median_jobs_per_second");
        }
    }
    // Measurements that may legitimately be zero (or, for memory, even below zero on a tiny run).
    require_number(report, w + "/memory/median_overhead_bytes_per_job");
    require_number(report, w + "/many_workers/median_broker_cpu_percent");
    require_number(report, w + "/many_workers/max_false_deaths");

    if (failures > 0) {
        std::fprintf(stderr, "%s: %d problem(s)\n", argv[1], failures);
        return 1;
    }
    std::printf("%s: complete\n", argv[1]);
    return 0;
}
