// The corsair CLI and the exec worker, as an operator uses them.
#include <fstream>
#include <iterator>
#include <set>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "cli_runner.hpp"
#include "cluster.hpp"
#include "deadline.hpp"
#include "scratch_dir.hpp"

using namespace std::chrono_literals;
using corsair::test::ChildProcess;
using corsair::test::Cluster;
using corsair::test::corsair_cli;
using corsair::test::json_lines;
using nlohmann::json;

namespace {

std::string read_file(const std::string& path) {
    std::ifstream file(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(file), {});
}

}  // namespace


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
    CHECK(refused.exit_code == 5);
    CHECK(refused.out.empty());
    // With --json, stdout names the refused job and why.
    auto refused_json = corsair_cli(cluster, {"submit", "second-queue", "b", "--json"});
    CHECK(refused_json.exit_code == 5);
    auto lines = corsair::test::json_lines(refused_json.out);
    REQUIRE(lines.size() == 1);
    const auto& error = lines[0].at("error");
    CHECK_FALSE(error.at("id").get<std::string>().empty());
    CHECK(error.at("code") == "too_many_queues");
    CHECK(error.at("message").get<std::string>().rfind("queue second-queue", 0) == 0);
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
    CHECK(unknown.exit_code == 5);
    std::vector<std::string> argv{CORSAIR_CLI_BIN, "stats", "--broker", "tcp://127.0.0.1:1", "--wait-timeout", "500ms"};
    ChildProcess cli(argv, {}, cluster.log_dir() + "/cli.log");
    auto status = cli.wait_exit(20s);
    REQUIRE(status);
    CHECK(WEXITSTATUS(*status) == 4);
}

TEST_CASE("a worker on the producer endpoint, and the CLI on the worker endpoint, are told where to go and exit 2",
          "[integration][cli]") {
    Cluster cluster;
    const auto& endpoints = cluster.endpoints();
    ChildProcess worker({CORSAIR_WORKER_BIN, "--broker", endpoints.producers, "--queue", "q", "--builtin", "echo"}, {},
                        cluster.log_dir() + "/misplaced-worker.log");
    const auto worker_status = worker.wait_exit(10s);
    REQUIRE(worker_status);
    CHECK(WEXITSTATUS(*worker_status) == 2);
    CHECK_THAT(read_file(cluster.log_dir() + "/misplaced-worker.log"),
               Catch::Contains("this is the producer endpoint; workers connect to " + endpoints.workers));

    std::vector<std::string> argv{CORSAIR_CLI_BIN, "stats", "--broker", endpoints.workers};
    ChildProcess cli(argv, {}, cluster.log_dir() + "/misplaced-cli.log");
    const auto cli_status = cli.wait_exit(10s);
    REQUIRE(cli_status);
    CHECK(WEXITSTATUS(*cli_status) == 2);
    CHECK_THAT(read_file(cluster.log_dir() + "/misplaced-cli.log"),
               Catch::Contains("this is the worker endpoint; producers connect to " + endpoints.producers));
}

TEST_CASE("every binary has --version, and usage errors exit 2 in all three", "[integration][cli]") {
    for (const std::string binary : {CORSAIR_BROKER_BIN, CORSAIR_WORKER_BIN, CORSAIR_CLI_BIN}) {
        INFO(binary);
        ChildProcess version({binary, "--version"}, {}, "/dev/null");
        const auto status = version.wait_exit(10s);
        REQUIRE(status);
        CHECK(WEXITSTATUS(*status) == 0);
        ChildProcess bad({binary, "--no-such-flag"}, {}, "/dev/null");
        const auto bad_status = bad.wait_exit(10s);
        REQUIRE(bad_status);
        CHECK(WEXITSTATUS(*bad_status) == 2);
    }
}

TEST_CASE("a broker that cannot bind names the endpoint and exits 6", "[integration][cli]") {
    Cluster cluster;
    corsair::test::ScratchDir data;
    const std::string log = cluster.log_dir() + "/second-broker.log";
    ChildProcess second({CORSAIR_BROKER_BIN, "--producers", cluster.endpoints().producers, "--workers",
                         "tcp://127.0.0.1:0", "--data-dir", data.path().string(), "--http", "127.0.0.1:0"},
                        {}, log);
    const auto status = second.wait_exit(10s);
    REQUIRE(status);
    CHECK(WEXITSTATUS(*status) == 6);
    CHECK_THAT(read_file(log), Catch::Contains("--producers " + cluster.endpoints().producers +
                                                               ": Address already in use"));
}

TEST_CASE("binary bytes survive submit - and result --output", "[integration][cli]") {
    Cluster cluster;
    cluster.start_worker("e", {"--builtin", "echo"}, "bytes", 1);
    REQUIRE(cluster.wait_for_workers(1));
    const std::string input = cluster.log_dir() + "/input.bin";
    const std::string bytes("\x89PNG\r\n\x1a\n\0\xff\xfe", 11);
    std::ofstream(input, std::ios::binary) << bytes;
    auto submit = corsair_cli(cluster, {"submit", "bytes", "--payload-file", input, "--wait", "--json"});
    CHECK(submit.exit_code == 0);
    const auto line = json_lines(submit.out).at(0);
    CHECK(line["result"].is_null());
    const std::string id = line["id"];
    const std::string output = cluster.log_dir() + "/output.bin";
    CHECK(corsair_cli(cluster, {"result", id, "--output", output}).exit_code == 0);
    CHECK(read_file(output) == bytes);
}
