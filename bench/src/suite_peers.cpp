// The peers in the same run (--peers, issue 17): Redis and beanstalkd, when installed, measured
// with the throughput and latency workloads' sizes, and Corsair's ratios to the best of them.
#include <cstdio>

#include "peer.hpp"
#include "suite.hpp"

namespace corsair::bench {

namespace {

constexpr const char* kDescription =
    "Redis (a list queue) and beanstalkd (a tube), each a fresh server on a free loopback port, memory only, "
    "driven by this binary over plain TCP (RESP; beanstalkd's text protocol); workers are this binary re-executed, "
    "one process and one connection each, echoing the payload as the result";
// Why each peer has one throughput figure, compared with both of Corsair's.
constexpr const char* kShape =
    "each peer worker holds one job at a time and cannot prefetch, so the peer's one throughput figure (producer "
    "pipelining up to 1,000 unacknowledged submits) is both its capacity-1 and its pipelined figure";

nlohmann::json client_description(Peer peer) {
    if (peer == Peer::redis) {
        return {{"producer", "one thread, two connections: LPUSH corsair-bench-jobs pipelined (up to 1,000 "
                             "unacknowledged); BLMPOP 0 1 corsair-bench-results RIGHT COUNT 1000, sent again on each reply"},
                {"worker", "BRPOP corsair-bench-jobs 0; then LPUSH corsair-bench-results <payload> and the next BRPOP, "
                           "pipelined in one write"},
                {"latency", "LPUSH the job and BRPOP corsair-bench-results, pipelined in one write"},
                {"completed", "the result was popped from the producer's result list"}};
    }
    return {{"producer", "one thread, two connections: put into tube corsair-bench-jobs pipelined (up to 1,000 "
                         "unacknowledged); up to 100 reserves waiting on tube corsair-bench-results, each result deleted "
                         "(pipelined with the next reserve)"},
            {"worker", "reserve; then put <payload> into corsair-bench-results, delete the job and reserve again, "
                       "pipelined in one write"},
            {"latency", "put the job and reserve from corsair-bench-results, pipelined in one write; the result is deleted "
                        "after the clock stops"},
            {"completed", "the producer reserved the job's result from the result tube"}};
}

}  // namespace

void Suite::run_peers(bool measures_throughput, bool measures_latency) {
    std::printf("\n== peers: Redis and beanstalkd in the same run (--peers) ==\n");
    std::printf("  %s.\n  Throughput: %s.\n", kDescription, kShape);
    std::fflush(stdout);
    nlohmann::json peers = {{"description", kDescription}, {"shape", kShape}};
    for (const Peer peer : all_peers()) {
        const std::string name(to_string(peer));
        const auto program = find_server_program(peer);
        if (!program) {
            const std::string reason = std::string(server_program_name(peer)) + " not found on PATH, /usr/bin or /usr/sbin";
            std::printf("  %s: not installed (%s), skipped\n", name.c_str(), reason.c_str());
            std::fflush(stdout);
            peers[name] = {{"installed", false}, {"reason", reason}};
            continue;
        }
        nlohmann::json figures = {{"installed", true},
                                  {"server", *program},
                                  {"version", server_version(peer, *program)},
                                  {"client", client_description(peer)}};
        std::printf("  %s: %s (%s)\n", name.c_str(), program->c_str(), figures["version"].get<std::string>().c_str());
        std::fflush(stdout);
        if (measures_throughput) figures["throughput"] = measure_peer_throughput(peer, *program);
        if (measures_latency) figures["latency"] = measure_peer_latency(peer, *program);
        peers[name] = figures;
    }
    report_["workloads"]["peers"] = peers;
}

void Suite::add_peer_ratios() {
    auto& results = report_["workloads"];
    if (!results.contains("peers")) return;
    auto& peers = results["peers"];
    nlohmann::json best_throughput, best_latency;
    for (const Peer peer : all_peers()) {
        const std::string name(to_string(peer));
        const auto& figures = peers[name];
        if (figures.contains("throughput")) {
            const double value = figures["throughput"]["median_jobs_per_second"].get<double>();
            if (best_throughput.is_null() || value > best_throughput["median_jobs_per_second"].get<double>()) {
                best_throughput = {{"peer", name}, {"median_jobs_per_second", value}};
            }
        }
        if (figures.contains("latency")) {
            const double value = figures["latency"]["median"]["p50_us"].get<double>();
            if (best_latency.is_null() || value < best_latency["p50_us"].get<double>()) {
                best_latency = {{"peer", name}, {"p50_us", value}};
            }
        }
    }
    peers["best"] = {{"throughput", best_throughput}, {"latency", best_latency}};
    if (!best_throughput.is_null()) {
        const double reference = best_throughput["median_jobs_per_second"].get<double>();
        for (const char* key : {"throughput", "throughput_cli", "throughput_capacity_1", "throughput_capacity_1_threads",
                                "throughput_direct", "throughput_cli_direct", "throughput_capacity_1_direct"}) {
            if (!results.contains(key) || !results[key].contains("median_jobs_per_second")) continue;
            auto& figures = results[key];
            figures["ratio_to_best_peer"] = figures["median_jobs_per_second"].get<double>() / reference;
            figures["best_peer"] = best_throughput["peer"];
        }
    }
    for (const char* workload : {"latency", "latency_direct"}) {
        if (best_latency.is_null() || !results.contains(workload) || !results[workload].contains("median")) continue;
        auto& latency = results[workload];
        latency["ratio_to_best_peer"] = {
            {"p50_us", latency["median"]["p50_us"].get<double>() / best_latency["p50_us"].get<double>()}};
        latency["best_peer"] = best_latency["peer"];
    }
}

}  // namespace corsair::bench
