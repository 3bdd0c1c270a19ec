// --max-payload other than the default, with the real binaries: every party learns the broker's
// limit, an oversized payload is refused at once in words, and an oversized result fails its job
// for good instead of holding the worker or cutting its connection.
#include <chrono>
#include <string>

#include <catch2/catch.hpp>

#include "cli_runner.hpp"
#include "cluster.hpp"
#include "corsair/producer/producer.hpp"

using namespace std::chrono_literals;
using corsair::producer::Outcome;
using corsair::producer::ProducerError;
using corsair::test::Cluster;
namespace p = corsair::protocol;

namespace {

// The command prints as many bytes as its payload says: the job's payload chooses its result size.
const std::vector<std::string> kSizedResult = {"--", "/bin/sh", "-c", "head -c \"$(cat)\" /dev/zero"};

Outcome run_job(corsair::producer::Producer& producer, const std::string& payload) {
    const std::string id = producer.submit_async("q", payload, true);
    return producer.wait_result(id, 15s);
}

}  // namespace

TEST_CASE("a broker with --max-payload 1000 refuses a larger submit at once and fails a larger result for good",
          "[integration][payload_limit]") {
    Cluster cluster({"--heartbeat", "200ms", "--liveness", "3", "--max-payload", "1000"});
    cluster.start_worker("w", kSizedResult, "q", 1);
    REQUIRE(cluster.wait_for_workers(1));
    auto producer = cluster.make_producer();

    SECTION("a 2000-byte submit from the CLI is refused at once, naming the limit") {
        const auto started = std::chrono::steady_clock::now();
        const auto run = corsair::test::corsair_cli(cluster, {"submit", "q", std::string(2000, 'a'), "--wait"});
        CHECK(std::chrono::steady_clock::now() - started < 3s);  // before: a 5 s timeout, "is the broker running?"
        CHECK(run.exit_code != 0);
        CHECK(run.exit_code != 3);  // refused, not unreachable
        CHECK(cluster.counter("payload_refusals") == 1);
    }
    SECTION("a 2000-byte submit from the library is refused with the limit, and the next one locally") {
        try {
            producer->submit("q", std::string(2000, 'a'), 5s);
            FAIL("a 2000-byte payload was accepted");
        } catch (const ProducerError& e) {
            CHECK(e.kind() == ProducerError::Kind::refused);
            CHECK(e.code() == p::ErrorCode::payload_too_large);
            CHECK_THAT(std::string(e.what()), Catch::Contains("at most 1000 bytes"));
        }
        CHECK_THROWS_AS(producer->submit_async("q", std::string(1500, 'a'), false), ProducerError);
        CHECK(cluster.counter("payload_refusals") == 1);  // the second never left the producer
    }
    SECTION("a 2000-byte result fails its job for good and frees the worker's only credit") {
        const Outcome outcome = run_job(*producer, "2000");
        CHECK(outcome.state == p::JobState::failed);
        CHECK(outcome.attempt == 1);
        // The worker stops the command at the limit it learned from the broker's HEARTBEAT.
        CHECK_THAT(outcome.error, Catch::Contains("too large") && Catch::Contains("1000 bytes") &&
                                      Catch::Contains("--max-payload"));
        CHECK(run_job(*producer, "10").state == p::JobState::done);  // before: stuck in flight for ever
    }
    SECTION("a 100 KB result fails its job for good without cutting the worker's connection") {
        const Outcome outcome = run_job(*producer, "100000");
        CHECK(outcome.state == p::JobState::failed);
        CHECK(outcome.attempt == 1);  // before: three connection_lost attempts, then dead
        CHECK_THAT(outcome.error, Catch::Contains("too large") && Catch::Contains("1000 bytes"));
        CHECK(cluster.counter("workers_dead") == 0);
        CHECK(cluster.counter("workers_joined") == 1);
        CHECK(run_job(*producer, "1000").state == p::JobState::done);
    }
}

TEST_CASE("a job larger than 8 MiB runs under a raised --max-payload", "[integration][payload_limit]") {
    // Heartbeats of 1 s, not the harness's 200 ms: copying 12 MB through both sockets on a loaded
    // 2-core machine once took the worker past a 600 ms liveness window (a fresh-clone run beside
    // an ASan build), and this case is about the size limit, not about liveness.
    Cluster cluster({"--heartbeat", "1s", "--liveness", "3", "--max-payload", "20000000"});
    cluster.start_worker("w", {"--", "/bin/sh", "-c", "wc -c | tr -d ' '"}, "q", 1);
    REQUIRE(cluster.wait_for_workers(1));
    auto producer = cluster.make_producer();
    const Outcome outcome = run_job(*producer, std::string(12'000'000, 'p'));
    // Before: the worker's 8 MiB socket limit cut its connection at every attempt (connection_lost).
    CHECK(outcome.state == p::JobState::done);
    CHECK(outcome.result == "12000000\n");
    CHECK(outcome.attempt == 1);
    CHECK(cluster.counter("workers_dead") == 0);
}
