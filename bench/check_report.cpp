// corsair-bench-check [--expect-peers] FILE: the smoke tests' judge. Exit 0 when FILE is a
// corsair-bench --json report holding the figures of every workload it planned, each of them
// positive, and, when it measured peers (--peers), each installed peer's figures and Corsair's
// ratios to the best; otherwise 1, naming what is missing. --expect-peers also fails a report in
// which no peer was measured. It checks shape only: no figure is compared with a target.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
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

// What each planned workload must hold, positive, under /workloads.
const std::map<std::string, std::vector<std::string>> kPositiveFigures = {
    {"ceiling", {"/ceiling/latency/median/p50_us", "/ceiling/throughput/0/median_jobs_per_second"}},
    {"throughput",
     {"/throughput/median_jobs_per_second", "/throughput/ratio_to_ceiling", "/throughput/runs/0/jobs_per_second",
      "/throughput_capacity_1/median_jobs_per_second", "/throughput_capacity_1/ratio_to_ceiling",
      "/throughput_capacity_1/runs/0/jobs_per_second", "/throughput_cli/median_jobs_per_second",
      "/throughput_cli/ratio_to_ceiling", "/throughput_cli/runs/0/jobs_per_second",
      "/throughput_cli/runs/0/producer_cpu_seconds"}},
    {"latency",
     {"/latency/median/p50_us", "/latency/median/p99_us", "/latency/median/p999_us", "/latency/distribution/0/us",
      "/latency/ratio_to_ceiling/p50_us"}},
    {"durable",
     {"/durable/policies/always/median_jobs_per_second", "/durable/policies/interval/median_jobs_per_second",
      "/durable/policies/never/median_jobs_per_second", "/durable/policies/always/ratio_to_memory_only"}},
    {"memory", {"/memory/runs/0/rss_before_bytes", "/memory/runs/0/rss_after_bytes"}},
    {"many-workers", {"/many_workers/runs/0/seconds", "/many_workers/runs/0/heartbeats_sent"}},
    {"http",
     {"/http/single/median_jobs_per_second", "/http/batch/median_jobs_per_second",
      "/http/single/ratio_to_zeromq_throughput", "/http/batch/ratio_to_zeromq_throughput",
      "/http/workers/median_jobs_per_second", "/http/workers/ratio_to_zeromq_throughput"}},
};

// The peers' section (--peers): each peer installed or not; an installed one has the figures of
// the planned throughput and latency workloads; Corsair's ratios to the best are there. Returns
// how many peers were measured.
int check_peers(const nlohmann::json& report, const std::string& w, bool plans_throughput, bool plans_latency) {
    int measured = 0;
    for (const char* peer : {"redis", "beanstalkd"}) {
        const std::string at_peer = w + "/peers/" + peer;
        const auto* installed = at(report, at_peer + "/installed");
        if (installed == nullptr || !installed->is_boolean()) {
            std::fprintf(stderr, "missing: %s/installed\n", at_peer.c_str());
            ++failures;
            continue;
        }
        if (!installed->get<bool>()) continue;
        ++measured;
        require(report, at_peer + "/version");
        if (plans_throughput) {
            require_positive(report, at_peer + "/throughput/median_jobs_per_second");
            require_positive(report, at_peer + "/throughput/runs/0/jobs_per_second");
            require_number(report, at_peer + "/throughput/runs/0/broker_cpu_seconds");
        }
        if (plans_latency) {
            require_positive(report, at_peer + "/latency/median/p50_us");
            require_positive(report, at_peer + "/latency/median/p99_us");
        }
    }
    if (measured > 0 && plans_throughput) {
        require_positive(report, w + "/peers/best/throughput/median_jobs_per_second");
        require_positive(report, w + "/throughput/ratio_to_best_peer");
        require_positive(report, w + "/throughput_capacity_1/ratio_to_best_peer");
        require_positive(report, w + "/throughput_cli/ratio_to_best_peer");
        if (at(report, w + "/throughput_direct/skipped") == nullptr) {
            for (const char* key : {"throughput_direct", "throughput_cli_direct", "throughput_capacity_1_direct"}) {
                require_positive(report, w + "/" + key + "/ratio_to_best_peer");
            }
        }
    }
    if (measured > 0 && plans_latency) {
        require_positive(report, w + "/peers/best/latency/p50_us");
        require_positive(report, w + "/latency/ratio_to_best_peer/p50_us");
        if (at(report, w + "/latency_direct/skipped") == nullptr) {
            require_positive(report, w + "/latency_direct/ratio_to_best_peer/p50_us");
        }
    }
    return measured;
}

// Every planned workload's figures. `plans(name)`: whether the report planned that workload.
template <class Plans>
void check_workloads(const nlohmann::json& report, const std::string& w, Plans plans) {
    for (const auto& [workload, figures] : kPositiveFigures) {
        if (!plans(workload)) continue;
        for (const auto& figure : figures) require_positive(report, w + figure);
    }
    // The low-latency mode runs with the latency workload, unless the run cannot use it (--curve,
    // --producer raw), which it then says.
    if (plans("latency") && at(report, w + "/latency_direct/skipped") == nullptr) {
        for (const char* figure : {"/latency_direct/median/p50_us", "/latency_direct/ratio_to_ceiling/p50_us",
                                   "/latency_direct/median_broker_cpu_percent"}) {
            require_positive(report, w + figure);
        }
    }
    // So does the throughput workload's direct-transport half.
    if (plans("throughput") && at(report, w + "/throughput_direct/skipped") == nullptr) {
        for (const char* key : {"throughput_direct", "throughput_cli_direct", "throughput_capacity_1_direct"}) {
            for (const char* figure : {"/median_jobs_per_second", "/ratio_to_zeromq", "/runs/0/jobs_per_second"}) {
                require_positive(report, w + "/" + key + figure);
            }
        }
    }
    if (plans("scaling")) {
        const auto* points = at(report, w + "/scaling/points");
        if (points == nullptr || !points->is_array() || points->empty()) {
            std::fprintf(stderr, "missing: %s/scaling/points\n", w.c_str());
            ++failures;
        } else {
            for (std::size_t i = 0; i < points->size(); ++i) {
                require_positive(report, w + "/scaling/points/" + std::to_string(i) + "/median_jobs_per_second");
            }
        }
    }
    // Measurements that may legitimately be zero (or, for memory, even below zero on a tiny run).
    if (plans("memory")) require_number(report, w + "/memory/median_overhead_bytes_per_job");
    if (plans("many-workers")) {
        require_number(report, w + "/many_workers/median_broker_cpu_percent");
        require_number(report, w + "/many_workers/max_false_deaths");
    }
}

}  // namespace

int main(int argc, char** argv) {
    const bool expects_peers = argc == 3 && std::strcmp(argv[1], "--expect-peers") == 0;
    if (argc != 2 && !expects_peers) {
        std::fprintf(stderr, "usage: corsair-bench-check [--expect-peers] REPORT.json\n");
        return 2;
    }
    const char* path = argv[argc - 1];
    std::ifstream file(path);
    nlohmann::json report;
    try {
        report = nlohmann::json::parse(file);
    } catch (const nlohmann::json::exception& e) {
        std::fprintf(stderr, "%s does not parse: %s\n", path, e.what());
        return 1;
    }
    for (const char* key : {"/seed", "/runs", "/quick", "/command", "/machine/cpu_model", "/machine/kernel",
                            "/machine/commit", "/planned"}) {
        require(report, key);
    }
    require_positive(report, "/machine/nproc");
    std::vector<std::string> planned;
    if (const auto* names = at(report, "/planned"); names != nullptr && names->is_array()) {
        for (const auto& name : *names) planned.push_back(name.get<std::string>());
    }
    auto plans = [&planned](const std::string& name) {
        return std::find(planned.begin(), planned.end(), name) != planned.end();
    };

    const std::string w = "/workloads";
    check_workloads(report, w, plans);

    const auto* measures_peers = at(report, "/measures_peers");
    const bool has_peers = measures_peers != nullptr && measures_peers->is_boolean() && measures_peers->get<bool>() &&
                           (plans("throughput") || plans("latency"));
    int peers_measured = 0;
    if (has_peers) {
        if (at(report, w + "/peers") == nullptr) {
            std::fprintf(stderr, "missing: %s/peers (the report says --peers)\n", w.c_str());
            ++failures;
        } else {
            peers_measured = check_peers(report, w, plans("throughput"), plans("latency"));
        }
    }
    if (expects_peers && peers_measured == 0) {
        std::fprintf(stderr, "no peer was measured (--expect-peers)\n");
        ++failures;
    }

    if (failures > 0) {
        std::fprintf(stderr, "%s: %d problem(s)\n", path, failures);
        return 1;
    }
    std::printf("%s: complete%s\n", path, peers_measured > 0 ? (", " + std::to_string(peers_measured) + " peer(s)").c_str() : "");
    return 0;
}
