// --log-format json with the real programs (docs/cli.md, Logs): every line the broker, the worker
// or corsair writes to stderr is one JSON object with time, level, logger and message, and an
// event's fields are keys of their own; --log-level chooses which lines are written.
#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <sys/wait.h>

#include "child_process.hpp"
#include "cli_runner.hpp"
#include "cluster.hpp"
#include "deadline.hpp"
#include "scratch_dir.hpp"

using namespace std::chrono_literals;
using corsair::test::Cluster;
using nlohmann::json;

namespace {

// Every whole line of `log` (a last one still being written is left out), each parsed; fails the
// test on a line that is not one JSON object.
std::vector<json> json_log_lines(const std::string& log) {
    std::vector<json> lines;
    std::istringstream in(log.substr(0, log.rfind('\n') + 1));
    for (std::string line; std::getline(in, line);) {
        INFO(line);
        json parsed = json::parse(line, nullptr, false);
        REQUIRE(parsed.is_object());
        for (const char* key : {"time", "level", "logger", "message"}) CHECK(parsed.contains(key));
        lines.push_back(std::move(parsed));
    }
    return lines;
}

const json* first_with_message(const std::vector<json>& lines, const std::string& message) {
    for (const auto& line : lines) {
        if (line["message"] == message) return &line;
    }
    return nullptr;
}

}  // namespace

TEST_CASE("with --log-format json the broker and the worker write one JSON object per line, fields as keys",
          "[integration][log]") {
    Cluster cluster({"--heartbeat", "200ms", "--liveness", "3", "--log-format", "json"});
    cluster.start_worker("w1", {"--builtin", "echo", "--log-format", "json"}, "q", 2);
    REQUIRE(cluster.wait_for_workers(1));
    auto producer = cluster.make_producer();
    CHECK(producer->wait_result(producer->submit_async("q", "logged", true), 10s).result == "logged");
    cluster.worker("w1").signal(SIGTERM);
    REQUIRE(cluster.worker("w1").wait_exit(10s));
    REQUIRE(corsair::test::wait_until(
        [&] { return cluster.broker_log().find("\"message\":\"worker left\"") != std::string::npos; }, 10s, 20ms));

    const auto broker_lines = json_log_lines(cluster.broker_log());
    const json* bound = first_with_message(broker_lines, "bound");
    REQUIRE(bound != nullptr);
    CHECK((*bound)["logger"] == "broker");
    CHECK((*bound)["level"] == "info");
    CHECK((*bound)["producers"].get<std::string>().rfind("tcp://127.0.0.1:", 0) == 0);
    CHECK((*bound)["liveness"] == 3);
    const json* joined = first_with_message(broker_lines, "worker joined");
    REQUIRE(joined != nullptr);
    CHECK((*joined)["worker"] == "w1");
    CHECK((*joined)["capacity"] == 2);

    const auto worker_lines = json_log_lines(cluster.worker_log("w1"));
    REQUIRE_FALSE(worker_lines.empty());
    for (const auto& line : worker_lines) CHECK(line["logger"] == "worker");
}

TEST_CASE("CORSAIR_LOG_FORMAT and CORSAIR_LOG_LEVEL set what the flags set, and a bad value is a usage error",
          "[integration][log]") {
    corsair::test::ScratchDir logs("corsair-log-format");
    const std::string log_path = (logs / "broker.log").string();
    // A memory-only broker on ephemeral ports, stopped with SIGTERM once ready; its log's lines.
    auto run_broker = [&](std::vector<std::string> environment, std::vector<std::string> flags = {}) {
        std::vector<std::string> argv{CORSAIR_BROKER_BIN, "--producers", "tcp://127.0.0.1:*", "--workers",
                                      "tcp://127.0.0.1:*", "--http", "", "--data-dir", ""};
        for (auto& flag : flags) argv.push_back(flag);
        std::filesystem::remove(log_path);
        corsair::test::ChildProcess broker(argv, std::move(environment), log_path);
        REQUIRE(broker.wait_for_line("corsair-broker ready", 10s));
        broker.signal(SIGTERM);
        const auto status = broker.wait_exit(10s);
        REQUIRE(status);
        CHECK(WEXITSTATUS(*status) == 0);
        std::ifstream in(log_path);
        return json_log_lines({std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()});
    };
    SECTION("json from the environment") {
        const auto lines = run_broker({"CORSAIR_LOG_FORMAT=json"});
        CHECK(first_with_message(lines, "bound") != nullptr);
        CHECK(first_with_message(lines, "stopped") != nullptr);
    }
    SECTION("warn from the environment: the warning, no lifecycle lines") {
        const auto lines = run_broker({"CORSAIR_LOG_FORMAT=json", "CORSAIR_LOG_LEVEL=warn"});
        REQUIRE_FALSE(lines.empty());
        for (const auto& line : lines) CHECK(line["level"] == "warning");
        CHECK(first_with_message(lines, "bound") == nullptr);
    }
    SECTION("a flag wins over the environment") {
        const auto lines = run_broker({"CORSAIR_LOG_FORMAT=json", "CORSAIR_LOG_LEVEL=warn"}, {"--log-level", "info"});
        CHECK(first_with_message(lines, "bound") != nullptr);
    }
    SECTION("a bad --log-format or CORSAIR_LOG_FORMAT is a usage error") {
        for (const auto& environment : {std::vector<std::string>{}, std::vector<std::string>{"CORSAIR_LOG_FORMAT=xml"}}) {
            std::vector<std::string> argv{CORSAIR_BROKER_BIN, "--data-dir", ""};
            if (environment.empty()) {
                argv.push_back("--log-format");
                argv.push_back("xml");
            }
            corsair::test::ChildProcess broker(argv, environment, log_path);
            const auto status = broker.wait_exit(10s);
            REQUIRE(status);
            CHECK(WEXITSTATUS(*status) == 2);
        }
    }
}

TEST_CASE("under --log-format json a usage error of the broker or the worker is one JSON object",
          "[integration][log]") {
    corsair::test::ScratchDir logs("corsair-log-usage");
    const std::string log_path = (logs / "usage.log").string();
    // Runs the program to its exit (2) and returns its stderr's lines, each a JSON object.
    auto refused = [&](std::vector<std::string> argv, std::vector<std::string> environment = {}) {
        std::filesystem::remove(log_path);
        corsair::test::ChildProcess program(std::move(argv), std::move(environment), log_path);
        const auto status = program.wait_exit(10s);
        REQUIRE(status);
        CHECK(WEXITSTATUS(*status) == 2);
        std::ifstream in(log_path);
        return json_log_lines({std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()});
    };
    SECTION("the broker, an unknown flag after --log-format json") {
        const auto lines = refused({CORSAIR_BROKER_BIN, "--log-format", "json", "--bogus"});
        REQUIRE(lines.size() == 1);
        CHECK(lines[0]["logger"] == "broker");
        CHECK(lines[0]["level"] == "error");
        CHECK(lines[0]["code"] == "usage");
        CHECK(lines[0]["help"] == "corsair-broker --help");
        CHECK_THAT(lines[0]["message"].get<std::string>(), Catch::Contains("--bogus"));
    }
    SECTION("the worker, no handler, json from CORSAIR_LOG_FORMAT") {
        const auto lines = refused({CORSAIR_WORKER_BIN, "--queue", "q", "--broker", "tcp://127.0.0.1:1"},
                                   {"CORSAIR_LOG_FORMAT=json"});
        REQUIRE(lines.size() == 1);
        CHECK(lines[0]["logger"] == "worker");
        CHECK_THAT(lines[0]["message"].get<std::string>(), Catch::Contains("give a handler"));
    }
    SECTION("the worker, a command that cannot run, json from a config file") {
        const std::string config = (logs / "worker.toml").string();
        {
            std::ofstream out(config);
            out << "log-format = \"json\"\nqueue = [\"q\"]\nbroker = \"tcp://127.0.0.1:1\"\n";
        }
        const auto lines = refused({CORSAIR_WORKER_BIN, "--config", config, "--", "/nonexistent/command"});
        REQUIRE(lines.size() == 1);
        CHECK_THAT(lines[0]["message"].get<std::string>(), Catch::Contains("cannot serve with this command"));
    }
}

TEST_CASE("at info a busy broker and worker log their lifecycle, not a line per job", "[integration][log]") {
    Cluster cluster({"--heartbeat", "200ms", "--liveness", "3", "--log-level", "info"});
    cluster.start_worker("w1", {"--builtin", "echo", "--log-level", "info"}, "q", 8);
    REQUIRE(cluster.wait_for_workers(1));
    auto producer = cluster.make_producer();
    constexpr int kJobs = 2000;
    std::vector<std::string> ids;
    for (int i = 0; i < kJobs; ++i) ids.push_back(producer->submit_async("q", "job " + std::to_string(i), true));
    for (const auto& id : ids) REQUIRE(producer->wait_result(id, 20s).result.rfind("job ", 0) == 0);
    const auto lines = [](const std::string& log) { return std::count(log.begin(), log.end(), '\n'); };
    INFO("broker log:\n" << cluster.broker_log() << "\nworker log:\n" << cluster.worker_log("w1"));
    // Start-up, the worker joining and the like: a handful of lines for 2,000 jobs.
    CHECK(lines(cluster.broker_log()) < 40);
    CHECK(lines(cluster.worker_log("w1")) < 40);
}

TEST_CASE("corsair's stderr follows --log-level and --log-format, and its stdout stays the output",
          "[integration][log][cli]") {
    Cluster cluster({"--heartbeat", "200ms", "--liveness", "3"});
    // Fails the job whose payload is "bad", echoes the rest.
    cluster.start_worker(
        "w1", {"--", "/bin/sh", "-c", "read -r x; if [ \"$x\" = bad ]; then echo boom >&2; exit 3; fi; echo \"$x\""},
        "q", 2);
    REQUIRE(cluster.wait_for_workers(1));
    const std::string cli_log = cluster.log_dir() + "/cli.log";
    const std::string jobs = cluster.log_dir() + "/jobs.txt";
    {
        std::ofstream out(jobs);
        out << "a\nb\nbad\nc\n";
    }
    // One run of the real corsair: exit code, stdout, and what it wrote to stderr.
    auto cli = [&](std::vector<std::string> args, std::vector<std::string> environment = {}) {
        std::filesystem::remove(cli_log);
        auto run = corsair::test::corsair_cli(cluster, std::move(args), 20s, std::move(environment));
        std::ifstream in(cli_log);
        return std::make_pair(run, std::string{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()});
    };

    SECTION("json: a failed job at warning with its fields, then the summary at info; stdout empty") {
        const auto [run, err] =
            cli({"submit", "q", "--file", jobs, "--wait", "--max-attempts", "1", "--log-format", "json"});
        CHECK(run.exit_code == 1);
        CHECK(run.out.empty());
        const auto lines = json_log_lines(err);
        REQUIRE(lines.size() == 2);
        for (const auto& line : lines) CHECK(line["logger"] == "corsair");
        CHECK(lines[0]["level"] == "warning");
        CHECK(lines[0]["state"] == "failed");
        CHECK(lines[0]["attempt"] == 1);
        CHECK_THAT(lines[0]["error"].get<std::string>(), Catch::Contains("boom"));
        CHECK(lines[1]["level"] == "info");
        CHECK(lines[1]["done"] == 3);
        CHECK(lines[1]["failed"] == 1);
        CHECK(lines[1]["queue"] == "q");
    }
    SECTION("the same from CORSAIR_LOG_FORMAT; CORSAIR_LOG_LEVEL=error keeps only why the command failed") {
        const auto [run, err] = cli({"submit", "q", "bad", "--wait", "--max-attempts", "1"},
                                    {"CORSAIR_LOG_FORMAT=json", "CORSAIR_LOG_LEVEL=error"});
        CHECK(run.exit_code == 1);
        const auto lines = json_log_lines(err);
        REQUIRE(lines.size() == 1);
        CHECK(lines[0]["level"] == "error");
        CHECK(lines[0]["state"] == "failed");
    }
    SECTION("--log-level off: nothing on stderr, the result and the exit code as ever") {
        const auto [failed, failed_err] = cli({"submit", "q", "bad", "--wait", "--max-attempts", "1", "--log-level", "off"});
        CHECK(failed.exit_code == 1);
        CHECK(failed_err.empty());
        const auto [done, done_err] = cli({"--log-level", "off", "submit", "q", "fine", "--wait"});
        CHECK(done.exit_code == 0);
        CHECK(done.out == "fine\n");
        CHECK(done_err.empty());
    }
    SECTION("text stays text: the same failure as a line for a person") {
        const auto [run, err] = cli({"submit", "q", "bad", "--wait", "--max-attempts", "1"});
        CHECK(run.exit_code == 1);
        CHECK_THAT(err, Catch::StartsWith("corsair: job ") && Catch::Contains("failed (attempt 1): exit status 3"));
    }
    SECTION("a usage error under json is one object naming the command") {
        const auto [run, err] = cli({"submit", "--log-format", "json"});
        CHECK(run.exit_code == 2);
        const auto lines = json_log_lines(err);
        REQUIRE(lines.size() == 1);
        CHECK(lines[0]["code"] == "usage");
        CHECK(lines[0]["command"] == "corsair submit");
        CHECK(lines[0]["help"] == "corsair submit --help");
    }
}
