// A real network partition: the broker in one network namespace, a worker or a producer in
// another, joined by a veth pair whose packets the test drops (NamespacePair::cut) and lets
// through again (heal). Every process runs inside a namespace with `ip netns exec`, so the test
// reaches the broker with the `corsair` CLI run there too. Needs root and iproute2; without them
// each case exits with kSkipped, which CTest reports as skipped.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "corsair_cluster.hpp"
#include "deadline.hpp"
#include "namespace_pair.hpp"
#include "scratch_dir.hpp"

using namespace std::chrono_literals;
using corsair::test::BrokerHost;
using corsair::test::ChildProcess;
using corsair::test::ClusterOptions;
using corsair::test::CorsairCluster;
using corsair::test::NamespacePair;
using corsair::test::ScratchDir;
using corsair::test::wait_until;
using nlohmann::json;

namespace {

// CTest's SKIP_RETURN_CODE for this executable (tests/integration/CMakeLists.txt).
constexpr int kSkipped = 77;
constexpr auto kHeartbeat = 200ms;
// A 1 s liveness window: short enough for a quick test, and wide enough that a process starved by
// a loaded 2-core CI machine is not declared dead when no link is cut.
constexpr int kLiveness = 5;

void skip_unless_namespaces_work() {
    if (auto why = NamespacePair::unavailable_reason()) {
        std::printf("SKIPPED: no network namespaces here: %s\n", why->c_str());
        std::fflush(stdout);
        std::exit(kSkipped);
    }
}

ClusterOptions cluster_options() {
    ClusterOptions options;
    options.broker_bin = CORSAIR_BROKER_BIN;
    options.worker_bin = CORSAIR_WORKER_BIN;
    options.broker_flags = {"--heartbeat", "200ms", "--liveness", std::to_string(kLiveness), "--http", ""};
    options.worker_stdout = ChildProcess::Stdout::discarded;
    return options;
}

// The broker on the near end's address, inside the near namespace.
BrokerHost near_host(const NamespacePair& net) { return BrokerHost{NamespacePair::kNearAddress, net.near_exec()}; }

// The `corsair` CLI run inside a namespace against the cluster's broker, as an operator on that
// host would; stderr goes to the cluster's cli.log.
class Cli {
public:
    Cli(std::vector<std::string> exec, const CorsairCluster& cluster)
        : exec_(std::move(exec)), endpoint_(cluster.endpoints().producers), log_(cluster.log_dir() + "/cli.log") {}

    // Starts `corsair ARGS... --broker EP` without waiting for it.
    ChildProcess start(const std::vector<std::string>& args) const {
        auto argv = exec_;
        argv.push_back(CORSAIR_CLI_BIN);
        argv.insert(argv.end(), args.begin(), args.end());
        argv.insert(argv.end(), {"--broker", endpoint_});
        return ChildProcess(argv, {}, log_);
    }

    // Runs it to its end (10 s at most, else the test fails); its JSON lines.
    std::vector<json> run(const std::vector<std::string>& args) const {
        auto cli = start(args);
        const auto status = cli.wait_exit(10s);
        REQUIRE(status);
        while (cli.read_line(0ms)) {
        }
        INFO("corsair exited with wait status " << *status << "; see " << log_);
        REQUIRE((WIFEXITED(*status) && WEXITSTATUS(*status) == 0));
        return lines_of(cli.stdout_text());
    }

    // `corsair stats --json`, or null when the broker does not answer.
    json stats() const {
        auto cli = start({"stats", "--json", "--wait-timeout", "3s"});
        const auto status = cli.wait_exit(10s);
        while (cli.read_line(0ms)) {
        }
        if (!status || !WIFEXITED(*status) || WEXITSTATUS(*status) != 0) return nullptr;
        const auto lines = lines_of(cli.stdout_text());
        return lines.empty() ? json(nullptr) : lines.front();
    }

    json status(const std::string& id) const { return run({"status", id, "--json"}).at(0); }

    static std::vector<json> lines_of(const std::string& text) {
        std::vector<json> lines;
        std::size_t start = 0;
        while (start < text.size()) {
            auto end = text.find('\n', start);
            if (end == std::string::npos) end = text.size();
            if (end > start) lines.push_back(json::parse(text.substr(start, end - start)));
            start = end + 1;
        }
        return lines;
    }

private:
    std::vector<std::string> exec_;
    std::string endpoint_;
    std::string log_;
};

// The stats entry of worker `name`, or null if the broker does not list it.
json worker_entry(const json& stats, const std::string& name) {
    if (stats.is_null()) return nullptr;
    for (const auto& worker : stats.at("workers")) {
        if (worker.at("worker") == name) return worker;
    }
    return nullptr;
}

std::set<std::string> worker_names(const json& stats) {
    std::set<std::string> names;
    if (stats.is_null()) return names;
    for (const auto& worker : stats.at("workers")) names.insert(worker.at("worker").get<std::string>());
    return names;
}

std::uint64_t counter(const json& stats, const std::string& name) {
    if (stats.is_null()) return 0;
    const auto& counters = stats.at("counters");
    return counters.contains(name) ? counters.at(name).get<std::uint64_t>() : 0;
}

bool contains(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

long long ms_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
}

// A command handler that ends only once `gate` exists, then answers "far attempt N": the test
// decides when the cut-off worker's jobs end, and their results name where they ran.
std::string gated_handler(const ScratchDir& folder) {
    const auto script = folder / "far-handler";
    std::ofstream(script) << "#!/bin/sh\ncat > /dev/null\nuntil [ -e '" << (folder / "gate").string()
                          << "' ]; do sleep 0.05; done\necho \"far attempt $CORSAIR_ATTEMPT\"\n";
    std::filesystem::permissions(script, std::filesystem::perms::owner_all);
    return script.string();
}

}  // namespace

TEST_CASE("a worker cut off by a partition is declared dead, its jobs finish elsewhere, its late results are "
          "fenced, and it rejoins once the link heals",
          "[integration][partition]") {
    skip_unless_namespaces_work();
    ScratchDir folder("corsair-test-partition-worker");
    NamespacePair net;  // outlives the cluster: the processes go first, then their namespaces
    CorsairCluster cluster(cluster_options(), near_host(net));
    const Cli cli(net.near_exec(), cluster);

    cluster.start_worker("far", {"--", gated_handler(folder)}, "q", 2, net.far_exec());
    REQUIRE(wait_until([&] { return !worker_entry(cli.stats(), "far").is_null(); }, 10s, 50ms));
    std::map<std::string, std::string> payload_of;
    for (const std::string payload : {"job-1", "job-2"}) {
        payload_of[cli.run({"submit", "q", payload, "--json"}).at(0).at("id").get<std::string>()] = payload;
    }
    REQUIRE(wait_until([&] { return worker_entry(cli.stats(), "far").value("in_flight", 0) == 2; }, 10s, 50ms));
    cluster.start_worker("near", {"--builtin", "echo"}, "q", 2, net.near_exec());
    REQUIRE(wait_until([&] { return worker_names(cli.stats()).size() == 2; }, 10s, 50ms));

    net.cut();
    const auto cut_at = std::chrono::steady_clock::now();
    REQUIRE(wait_until([&] { return contains(cluster.broker_log(), "worker died worker=far"); }, 10s, 20ms));
    const auto declared_dead_ms = ms_since(cut_at);
    std::printf("[measure] partition of a worker holding 2 jobs -> declared dead in %lld ms (liveness window %lld ms)\n",
                declared_dead_ms, static_cast<long long>((kHeartbeat * kLiveness).count()));
    CHECK(declared_dead_ms <= (kHeartbeat * kLiveness + 2s).count());
    CHECK(contains(cluster.broker_log(), "worker died worker=far reason=heartbeat_timeout requeued=2"));
    const auto deaths = [&] {
        const auto log = cluster.broker_log();
        std::size_t count = 0;
        const std::string needle = "worker died worker=far ";
        for (auto at = log.find(needle); at != std::string::npos; at = log.find(needle, at + 1)) ++count;
        return count;
    };

    // Requeued to the near worker, which ends them on their second attempt.
    for (const auto& [id, payload] : payload_of) {
        INFO(id);
        REQUIRE(wait_until([&] { return cli.status(id).at("state") == "done"; }, 10s, 50ms));
        const auto status = cli.status(id);
        CHECK(status.at("attempt") == 2);
        CHECK(status.at("result") == payload);
    }
    std::printf("[measure] partition -> both jobs done by the other worker in %lld ms\n", ms_since(cut_at));

    // The far worker hears nothing either: it gives the broker up, then its jobs end, and it
    // keeps their results for the next connection (protocol.md §7).
    REQUIRE(wait_until([&] { return contains(cluster.worker_log("far"), "broker lost reason=heartbeat_timeout"); },
                       10s, 20ms));
    std::ofstream(folder / "gate").put('\n');
    for (const auto& [id, payload] : payload_of) {
        INFO(id);
        REQUIRE(wait_until(
            [&] { return contains(cluster.worker_log("far"), "result kept until the broker answers job=" + id); },
            10s, 20ms));
    }

    // One death, the cut's: a worker cut off cannot flap.
    CHECK(deaths() == 1);
    net.heal();
    const auto healed_at = std::chrono::steady_clock::now();
    // Its READY names both leases; the broker, which requeued them, answers ABANDON unknown_lease
    // and the worker drops the kept results (fenced by (id, attempt), protocol.md §10).
    for (const auto& [id, payload] : payload_of) {
        INFO(id);
        REQUIRE(wait_until(
            [&] {
                return contains(cluster.worker_log("far"),
                                "abandoned job=" + id + " attempt=1 reason=unknown_lease result=dropped");
            },
            30s, 50ms));
        CHECK(contains(cluster.broker_log(), "held lease unknown; abandoned job=" + id + " attempt=1 worker=far"));
    }
    REQUIRE(wait_until([&] { return !worker_entry(cli.stats(), "far").is_null(); }, 30s, 50ms));
    std::printf("[measure] heal -> late results fenced and the worker listed again in %lld ms\n", ms_since(healed_at));
    for (const auto& [id, payload] : payload_of) {
        INFO(id);
        const auto status = cli.status(id);
        CHECK(status.at("state") == "done");
        CHECK(status.at("attempt") == 2);
        CHECK(status.at("result") == payload);
    }
    const auto stats = cli.stats();
    REQUIRE_FALSE(stats.is_null());
    // Not == 1: a worker starved past the liveness window on a loaded machine is a death too.
    CHECK(counter(stats, "workers_dead") >= 1);
    std::printf("[measure] deaths of the far worker: %zu (the cut's, plus any starved heartbeat)\n", deaths());
    CHECK(counter(stats, "jobs_done") == 2);
    // A late DONE that reached the broker would be counted here; these were dropped by the worker.
    CHECK(counter(stats, "stale_completions") == 0);

    // It serves again: with the near worker drained away, a new job runs on the far one.
    cluster.worker("near").signal(SIGTERM);
    REQUIRE(cluster.worker("near").wait_exit(10s));
    REQUIRE(wait_until([&] { return worker_names(cli.stats()) == std::set<std::string>{"far"}; }, 10s, 50ms));
    const auto outcome = cli.run({"submit", "q", "job-3", "--wait", "--json"});
    REQUIRE(outcome.size() == 1);
    CHECK(outcome.at(0).at("state") == "done");
    CHECK(outcome.at(0).at("result").get<std::string>().starts_with("far attempt "));
}

TEST_CASE("a producer cut off by a partition while it waits gets every result once the link heals, each exactly once",
          "[integration][partition]") {
    skip_unless_namespaces_work();
    ScratchDir folder("corsair-test-partition-producer");
    NamespacePair net;
    CorsairCluster cluster(cluster_options(), near_host(net));
    const Cli near(net.near_exec(), cluster);
    const Cli far(net.far_exec(), cluster);

    constexpr int kJobs = 20;
    std::multiset<std::string> payloads;
    {
        std::ofstream jobs(folder / "jobs.txt");
        for (int i = 0; i < kJobs; ++i) {
            jobs << "job-" << i << "\n";
            payloads.insert("job-" + std::to_string(i));
        }
    }
    // No worker yet: every job waits in the queue until the producer is cut off.
    auto producer = far.start({"submit", "q", "--file", (folder / "jobs.txt").string(), "--wait", "--json",
                               "--wait-timeout", "60s"});
    REQUIRE(wait_until(
        [&] {
            const auto stats = near.stats();
            return !stats.is_null() && counter(stats, "jobs_submitted") == kJobs;
        },
        10s, 50ms));

    net.cut();
    const auto cut_at = std::chrono::steady_clock::now();
    cluster.start_worker("near", {"--builtin", "echo"}, "q", 4, net.near_exec());
    REQUIRE(wait_until([&] { return counter(near.stats(), "jobs_done") == kJobs; }, 20s, 50ms));
    std::printf("[measure] %d jobs done while their producer was cut off, %lld ms after the cut\n", kJobs,
                ms_since(cut_at));
    // Not one result crossed the cut.
    CHECK_FALSE(producer.read_line(0ms));
    REQUIRE(producer.is_running());

    net.heal();
    const auto healed_at = std::chrono::steady_clock::now();
    const auto status = producer.wait_exit(60s);
    REQUIRE(status);
    std::printf("[measure] heal -> the producer had all %d results and exited in %lld ms\n", kJobs, ms_since(healed_at));
    while (producer.read_line(0ms)) {
    }
    INFO("corsair submit output:\n" << producer.stdout_text());
    CHECK((WIFEXITED(*status) && WEXITSTATUS(*status) == 0));

    std::map<std::string, int> results_per_id;
    std::multiset<std::string> results;
    for (const auto& line : Cli::lines_of(producer.stdout_text())) {
        ++results_per_id[line.at("id").get<std::string>()];
        CHECK(line.at("state") == "done");
        results.insert(line.at("result").get<std::string>());
    }
    CHECK(results_per_id.size() == static_cast<std::size_t>(kJobs));
    for (const auto& [id, count] : results_per_id) {
        INFO(id);
        CHECK(count == 1);
    }
    CHECK(results == payloads);
    const auto stats = near.stats();
    CHECK(counter(stats, "jobs_done") == kJobs);
    CHECK(counter(stats, "jobs_submitted") == kJobs);
}
