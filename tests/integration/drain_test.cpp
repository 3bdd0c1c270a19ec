// A broker's stop does not throw running work away (docs/durability.md, Stopping; protocol.md §10,
// Restarts and reconnects): SIGTERM drains it, and a restarted broker re-adopts the jobs its
// workers still run. Each job's runs are counted by the command itself, which appends a line to a
// file; every wait is for a condition under a deadline.
#include <csignal>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <catch2/catch.hpp>

#include "cluster.hpp"
#include "deadline.hpp"
#include "scratch_dir.hpp"

using namespace std::chrono_literals;
using corsair::test::BrokerEndpoints;
using corsair::test::Cluster;
using corsair::test::ScratchDir;
namespace p = corsair::protocol;

namespace {

// An exec worker whose command records "<job id> <attempt>" in `runs`, then works `seconds`.
std::vector<std::string> counting_command(const std::string& runs, int seconds) {
    return {"--", "/bin/sh", "-c",
            "echo \"$CORSAIR_JOB_ID $CORSAIR_ATTEMPT\" >> '" + runs + "'; sleep " + std::to_string(seconds) +
                "; echo ran"};
}

// Each job id in `runs`, with the attempts it was started with.
std::map<std::string, std::vector<std::string>> runs_in(const std::string& runs) {
    std::map<std::string, std::vector<std::string>> started;
    std::ifstream file(runs);
    std::string id;
    std::string attempt;
    while (file >> id >> attempt) started[id].push_back(attempt);
    return started;
}

std::size_t run_count(const std::string& runs) {
    std::size_t count = 0;
    for (const auto& [id, attempts] : runs_in(runs)) count += attempts.size();
    return count;
}

corsair::producer::JobOptions one_attempt() {
    corsair::producer::JobOptions options;
    options.max_attempts = 1;
    return options;
}

// Waits until STATUS says `id` is done; returns its last reply.
std::optional<p::StatusReply> wait_done(Cluster& cluster, const std::string& id, std::chrono::milliseconds timeout) {
    std::optional<p::StatusReply> last;
    corsair::test::wait_until(
        [&] {
            try {
                auto producer = cluster.make_producer();
                last = producer->status(id, 2s);
                return last->state == p::JobState::done;
            } catch (const std::exception&) {
                return false;
            }
        },
        timeout, 100ms);
    return last;
}

bool log_has(Cluster& cluster, const std::string& text) {
    return cluster.broker_log().find(text) != std::string::npos;
}

}  // namespace

TEST_CASE("SIGTERM drains the broker: running jobs finish and are journaled, and a restart runs nothing again",
          "[integration][drain]") {
    ScratchDir scratch("corsair-drain");
    const std::string runs = (scratch / "runs").string();
    Cluster cluster;
    cluster.start_worker("w1", counting_command(runs, 2), "q", 3);
    REQUIRE(cluster.wait_for_workers(1));
    auto producer = cluster.make_producer();
    std::set<std::string> ids;
    for (int i = 0; i < 3; ++i) ids.insert(producer->submit_async("q", "x", true, one_attempt()));
    REQUIRE(corsair::test::wait_until([&] { return run_count(runs) == 3; }, 10s, 20ms));

    cluster.broker().signal(SIGTERM);
    const auto status = cluster.broker().wait_exit(15s);
    REQUIRE(status);
    CHECK(WIFEXITED(*status));
    CHECK(WEXITSTATUS(*status) == 0);
    CHECK(log_has(cluster, "draining running=3"));
    CHECK(log_has(cluster, "drained ended=3"));
    // Every RESULT went out before the broker left.
    std::map<std::string, corsair::producer::Outcome> outcomes;
    corsair::test::wait_until(
        [&] {
            for (auto& event : producer->poll(50ms)) {
                if (event.kind == corsair::producer::Event::Kind::result) outcomes[event.id] = event.outcome;
            }
            return outcomes.size() == ids.size();
        },
        5s, 0ms);
    REQUIRE(outcomes.size() == ids.size());
    for (const auto& [id, outcome] : outcomes) {
        CHECK(outcome.state == p::JobState::done);
        CHECK(outcome.attempt == 1);
    }

    const BrokerEndpoints endpoints = cluster.endpoints();
    cluster.start_broker(endpoints);
    REQUIRE(cluster.wait_for_workers(1, 30s));
    for (const auto& id : ids) {
        auto done = wait_done(cluster, id, 5s);
        REQUIRE(done);
        CHECK(done->state == p::JobState::done);
        CHECK(done->attempt == 1);
    }
    // A job after the restart runs; none of the three ran again.
    auto after = cluster.make_producer();
    const auto fresh = after->submit_async("q", "x", true);
    CHECK(after->wait_result(fresh, 20s).state == p::JobState::done);
    const auto started = runs_in(runs);
    CHECK(started.size() == 4);
    for (const auto& id : ids) CHECK(started.at(id) == std::vector<std::string>{"1"});
}

TEST_CASE("a drain that times out leaves its job running, and the restarted broker re-adopts it from its worker",
          "[integration][drain]") {
    ScratchDir scratch("corsair-drain");
    const std::string runs = (scratch / "runs").string();
    Cluster cluster({"--heartbeat", "200ms", "--liveness", "3", "--drain-timeout", "300ms"});
    cluster.start_worker("w1", counting_command(runs, 3), "q", 2);
    REQUIRE(cluster.wait_for_workers(1));
    auto producer = cluster.make_producer();
    const auto id = producer->submit_async("q", "x", true, one_attempt());
    REQUIRE(corsair::test::wait_until([&] { return run_count(runs) == 1; }, 10s, 20ms));

    cluster.broker().signal(SIGTERM);
    const auto status = cluster.broker().wait_exit(5s);
    REQUIRE(status);
    CHECK(WIFEXITED(*status));
    CHECK(WEXITSTATUS(*status) == 0);
    CHECK(log_has(cluster, "drain timed out ended=0 still_running=1"));

    cluster.start_broker(cluster.endpoints());
    auto done = wait_done(cluster, id, 20s);
    REQUIRE(done);
    CHECK(done->state == p::JobState::done);
    CHECK(done->attempt == 1);
    CHECK(runs_in(runs).at(id) == std::vector<std::string>{"1"});
    CHECK(cluster.counter("leases_readopted") == 1);
    CHECK(cluster.counter("jobs_requeued") == 0);
}

TEST_CASE("kill -9 of the broker mid-job: the worker re-announces its job, which completes once on attempt 1",
          "[integration][drain]") {
    ScratchDir scratch("corsair-drain");
    const std::string runs = (scratch / "runs").string();
    Cluster cluster;
    cluster.start_worker("w1", counting_command(runs, 2), "q", 2);
    REQUIRE(cluster.wait_for_workers(1));
    auto producer = cluster.make_producer();
    const auto id = producer->submit_async("q", "x", true, one_attempt());
    REQUIRE(corsair::test::wait_until([&] { return run_count(runs) == 1; }, 10s, 20ms));

    const BrokerEndpoints endpoints = cluster.endpoints();
    cluster.kill_broker();
    cluster.start_broker(endpoints);
    auto done = wait_done(cluster, id, 20s);
    REQUIRE(done);
    CHECK(done->state == p::JobState::done);
    CHECK(done->attempt == 1);
    CHECK(runs_in(runs).at(id) == std::vector<std::string>{"1"});
    CHECK(cluster.counter("jobs_requeued") == 0);
}

TEST_CASE("a second SIGTERM stops a draining broker at once", "[integration][drain]") {
    ScratchDir scratch("corsair-drain");
    const std::string runs = (scratch / "runs").string();
    Cluster cluster;
    cluster.start_worker("w1", counting_command(runs, 30), "q", 1);
    REQUIRE(cluster.wait_for_workers(1));
    auto producer = cluster.make_producer();
    producer->submit_async("q", "x", true);
    REQUIRE(corsair::test::wait_until([&] { return run_count(runs) == 1; }, 10s, 20ms));

    cluster.broker().signal(SIGTERM);
    REQUIRE(corsair::test::wait_until([&] { return log_has(cluster, "draining running=1"); }, 5s, 20ms));
    CHECK(cluster.broker().is_running());
    cluster.broker().signal(SIGTERM);
    const auto status = cluster.broker().wait_exit(5s);
    REQUIRE(status);
    CHECK(WIFEXITED(*status));
    CHECK(WEXITSTATUS(*status) == 0);
    CHECK(log_has(cluster, "drain cut short by a second stop request running=1"));
}

// protocol.md §11: a lease a worker names again after a broker restart counts against its
// capacity, so the worker never runs more than its capacity at once. The command writes a line
// when it starts and one when it ends (run_count() counts those lines); the second job must
// start only after the first ended.
TEST_CASE("after kill -9 of the broker, a worker of capacity 1 still running a job gets no second job until it ends",
          "[integration][drain]") {
    ScratchDir scratch("corsair-drain");
    const std::string log = (scratch / "log").string();
    Cluster cluster;
    cluster.start_worker("w1",
                         {"--", "/bin/sh", "-c",
                          "echo \"start $CORSAIR_JOB_ID\" >> '" + log + "'; sleep \"$(cat)\"; echo \"end $CORSAIR_JOB_ID\" >> '" +
                              log + "'; echo ran"},
                         "q", 1);
    REQUIRE(cluster.wait_for_workers(1));
    auto producer = cluster.make_producer();
    // The first job (its payload is how long it sleeps) outlasts the restart and the re-announcement.
    const auto first = producer->submit_async("q", "6", true, one_attempt());
    REQUIRE(corsair::test::wait_until([&] { return run_count(log) == 1; }, 10s, 20ms));
    // Accepted, so durable before the kill: nobody here would resend it.
    const std::string second = producer->submit("q", "0.1", one_attempt()).job_id;

    const BrokerEndpoints endpoints = cluster.endpoints();
    cluster.kill_broker();
    cluster.start_broker(endpoints);
    auto done = wait_done(cluster, second, 30s);
    REQUIRE(done);
    CHECK(done->state == p::JobState::done);
    std::vector<std::string> lines;
    std::ifstream file(log);
    for (std::string line; std::getline(file, line);) lines.push_back(line);
    CHECK(lines == std::vector<std::string>{"start " + first, "end " + first, "start " + second, "end " + second});
    CHECK(wait_done(cluster, first, 5s)->attempt == 1);
}
