// The corsair CLI and the exec worker, as an operator uses them.
#include <fstream>
#include <set>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "cli_runner.hpp"
#include "cluster.hpp"
#include "deadline.hpp"

using namespace std::chrono_literals;
using corsair::test::ChildProcess;
using corsair::test::Cluster;
using corsair::test::corsair_cli;
using corsair::test::json_lines;
using nlohmann::json;


TEST_CASE("corsair submit --wait prints the result of an exec worker's command", "[integration][cli]") {
    Cluster cluster;
    // The payload reaches the command on stdin; no shell ever sees it.
    cluster.start_worker("upper", {"--", "/usr/bin/tr", "a-z", "A-Z"}, "upper", 2);
    REQUIRE(cluster.wait_for_workers(1));
    auto run = corsair_cli(cluster, {"submit", "upper", "hello; $(rm -rf /) `x`", "--wait"});
    CHECK(run.exit_code == 0);
    CHECK(run.out.find("HELLO; $(RM -RF /) `X`") != std::string::npos);

    SECTION("with --json, one object with id, state and result") {
        auto json_run = corsair_cli(cluster, {"submit", "upper", "abc", "--wait", "--json"});
        CHECK(json_run.exit_code == 0);
        auto lines = json_lines(json_run.out);
        REQUIRE(lines.size() == 1);
        CHECK(lines[0]["state"] == "done");
        CHECK(lines[0]["result"] == "ABC");
        CHECK_FALSE(lines[0]["id"].get<std::string>().empty());

        auto status = corsair_cli(cluster, {"status", lines[0]["id"].get<std::string>(), "--json"});
        CHECK(status.exit_code == 0);
        CHECK(json_lines(status.out).at(0)["state"] == "done");
        auto result = corsair_cli(cluster, {"result", lines[0]["id"].get<std::string>()});
        CHECK(result.exit_code == 0);
        CHECK(result.out.find("ABC") != std::string::npos);
    }
    SECTION("without --wait it prints the job id, and status finds it") {
        auto submit = corsair_cli(cluster, {"submit", "upper", "later"});
        CHECK(submit.exit_code == 0);
        std::string id = submit.out.substr(0, submit.out.find('\n'));
        REQUIRE_FALSE(id.empty());
        REQUIRE(corsair::test::wait_until(
            [&] { return corsair_cli(cluster, {"status", id, "--json"}).out.find("\"done\"") != std::string::npos; },
            10s, 50ms));
    }
}

TEST_CASE("a failing command fails the job with its exit status and stderr", "[integration][cli]") {
    Cluster cluster;
    cluster.start_worker("failer", {"--", "/bin/sh", "-c", "echo \"attempt $CORSAIR_ATTEMPT went wrong\" >&2; exit 3"},
                         "fail", 1);
    REQUIRE(cluster.wait_for_workers(1));
    auto run = corsair_cli(cluster, {"submit", "fail", "x", "--wait", "--json", "--max-attempts", "1"});
    CHECK(run.exit_code == 1);
    auto lines = json_lines(run.out);
    REQUIRE(lines.size() == 1);
    CHECK(lines[0]["state"] == "failed");
    const auto error = lines[0]["error"].get<std::string>();
    CHECK(error.find("attempt 1 went wrong") != std::string::npos);
    CHECK(error.find('3') != std::string::npos);
}

TEST_CASE("the job's id, queue and attempt reach the command's environment", "[integration][cli]") {
    Cluster cluster;
    cluster.start_worker("env", {"--", "/bin/sh", "-c", "echo \"$CORSAIR_JOB_ID $CORSAIR_QUEUE $CORSAIR_ATTEMPT\""},
                         "envq", 1);
    REQUIRE(cluster.wait_for_workers(1));
    auto run = corsair_cli(cluster, {"submit", "envq", "x", "--wait", "--json"});
    auto lines = json_lines(run.out);
    REQUIRE(lines.size() == 1);
    const auto id = lines[0]["id"].get<std::string>();
    CHECK(lines[0]["result"].get<std::string>().find(id + " envq 1") != std::string::npos);
}

TEST_CASE("corsair submit --file pipelines one job per line and waits for every result", "[integration][cli]") {
    Cluster cluster;
    cluster.start_worker("e1", {"--builtin", "echo"}, "lines", 4);
    cluster.start_worker("e2", {"--builtin", "echo"}, "lines", 4);
    REQUIRE(cluster.wait_for_workers(2));
    const std::string path = cluster.log_dir() + "/jobs.txt";
    {
        std::ofstream file(path);
        for (int i = 0; i < 500; ++i) file << "line " << i << "\n";
    }
    auto run = corsair_cli(cluster, {"submit", "lines", "--file", path, "--wait", "--json"}, 60s);
    CHECK(run.exit_code == 0);
    auto lines = json_lines(run.out);
    REQUIRE(lines.size() == 500);
    std::set<std::string> ids, results;
    for (auto& line : lines) {
        CHECK(line["state"] == "done");
        ids.insert(line["id"].get<std::string>());
        results.insert(line["result"].get<std::string>());
    }
    CHECK(ids.size() == 500);
    CHECK(results.count("line 0") == 1);
    CHECK(results.count("line 499") == 1);
}

TEST_CASE("corsair stats shows queues and workers", "[integration][cli]") {
    Cluster cluster;
    cluster.start_worker("named-worker", {"--builtin", "echo"}, "statsq", 3);
    REQUIRE(cluster.wait_for_workers(1));
    auto run = corsair_cli(cluster, {"stats", "--json"});
    CHECK(run.exit_code == 0);
    CHECK(run.out.find("named-worker") != std::string::npos);
    CHECK(run.out.find("statsq") != std::string::npos);
    auto table = corsair_cli(cluster, {"stats"});
    CHECK(table.exit_code == 0);
    CHECK(table.out.find("named-worker") != std::string::npos);
}

TEST_CASE("a broker at --max-queues refuses a new queue with too_many_queues and keeps serving the old",
          "[integration][cli]") {
    Cluster cluster({"--heartbeat", "200ms", "--liveness", "3", "--max-queues", "1"});
    auto first = corsair_cli(cluster, {"submit", "only-queue", "a"});
    CHECK(first.exit_code == 0);
    auto refused = corsair_cli(cluster, {"submit", "second-queue", "b"});
    CHECK(refused.exit_code == 1);
    CHECK(refused.out.empty());
    // With --json, stdout names the refused job and why.
    auto refused_json = corsair_cli(cluster, {"submit", "second-queue", "b", "--json"});
    CHECK(refused_json.exit_code == 1);
    auto lines = corsair::test::json_lines(refused_json.out);
    REQUIRE(lines.size() == 1);
    CHECK_FALSE(lines[0].at("id").get<std::string>().empty());
    CHECK(lines[0].at("state") == "refused");
    CHECK(lines[0].at("error").get<std::string>().rfind("too_many_queues: queue second-queue", 0) == 0);
    auto again = corsair_cli(cluster, {"submit", "only-queue", "c"});
    CHECK(again.exit_code == 0);
    CHECK(cluster.counter("queue_limit_refusals") == 2);
    CHECK(cluster.counter("jobs_submitted") == 2);
    // A worker asking for a new queue is refused too, and says so in its log.
    cluster.start_worker("w1", {"--builtin", "echo"}, "third-queue", 1);
    CHECK(corsair::test::wait_until(
        [&] { return cluster.worker_log("w1").find("too_many_queues") != std::string::npos; }, 10s, 20ms));
    CHECK(cluster.stats()->workers.empty());
}

TEST_CASE("the CLI reports an unknown job and an unreachable broker clearly", "[integration][cli]") {
    Cluster cluster;
    auto unknown = corsair_cli(cluster, {"status", "no-such-job"});
    CHECK(unknown.exit_code == 1);
    std::vector<std::string> argv{CORSAIR_CLI_BIN, "stats", "--broker", "tcp://127.0.0.1:1", "--wait-timeout", "500ms"};
    ChildProcess cli(argv, {}, cluster.log_dir() + "/cli.log");
    auto status = cli.wait_exit(20s);
    REQUIRE(status);
    CHECK(WEXITSTATUS(*status) == 3);
}
