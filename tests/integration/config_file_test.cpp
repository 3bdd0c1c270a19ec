// Settings files with the real programs (docs/configuration.md): a broker started from a --config
// file with a variable and a flag above it, a corsair-worker serving several [[handler]] tables,
// corsair reading its broker from a file, and docs/configuration.md against --print-config.
#include <sys/wait.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "child_process.hpp"
#include "cluster.hpp"
#include "corsair/producer/job_options.hpp"
#include "deadline.hpp"
#include "scratch_dir.hpp"

using namespace std::chrono_literals;
using corsair::test::ChildProcess;
using corsair::test::Cluster;

namespace {

void write_file(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Runs a program to its end; its exit code and stdout.
std::pair<int, std::string> run(std::vector<std::string> argv, std::vector<std::string> environment = {},
                                const std::string& stderr_path = {}) {
    ChildProcess child(std::move(argv), std::move(environment), stderr_path);
    const auto status = child.wait_exit(20s);
    REQUIRE(status);
    // Reading after the exit: the pipe still holds what the program wrote.
    while (child.read_line(1s)) {
    }
    return {WIFEXITED(*status) ? WEXITSTATUS(*status) : -1, child.stdout_text()};
}

// "key = value  # source" lines of --print-config, by key.
std::map<std::string, std::pair<std::string, std::string>> printed_settings(const std::string& text) {
    std::map<std::string, std::pair<std::string, std::string>> settings;
    static const std::regex line(R"(^(#\s*)?([a-z-]+) =\s*(.*?)\s+# (.*)$)");
    std::istringstream in(text);
    for (std::string row; std::getline(in, row);) {
        std::smatch match;
        if (row.rfind("[[", 0) == 0) break;  // the tables follow the settings
        if (std::regex_match(row, match, line)) {
            settings[match[2]] = {match[1].matched ? "" : match[3].str(), match[4]};
        }
    }
    return settings;
}

}  // namespace

TEST_CASE("a broker started from a --config file serves on the file's settings, under a CORSAIR_ variable and a flag",
          "[integration][config]") {
    corsair::test::ScratchDir dir("corsair-config-broker");
    const auto config = (dir / "broker.toml").string();
    const auto data = (dir / "data").string();
    write_file(config, "# as an operator writes it\n"
                       "producers = \"tcp://127.0.0.1:*\"\n"
                       "workers = \"tcp://127.0.0.1:*\"\n"
                       "http = \"\"\n"
                       "data-dir = \"" + data + "\"\n"
                       "heartbeat = \"300ms\"\n"
                       "liveness = 4\n"
                       "max-payload = \"1KiB\"\n"
                       "log-format = \"json\"\n");
    const std::vector<std::string> environment{"CORSAIR_LIVENESS=5"};
    const std::vector<std::string> argv{CORSAIR_BROKER_BIN, "--config", config, "--max-payload", "2KiB"};

    auto printed = argv;
    printed.push_back("--print-config");
    const auto [print_code, print_out] = run(printed, environment);
    CHECK(print_code == 0);
    const auto settings = printed_settings(print_out);
    INFO(print_out);
    CHECK(settings.at("heartbeat") == std::pair<std::string, std::string>{"\"300ms\"", config + ":6"});
    CHECK(settings.at("liveness") == std::pair<std::string, std::string>{"5", "env CORSAIR_LIVENESS"});
    CHECK(settings.at("max-payload") == std::pair<std::string, std::string>{"\"2KiB\"", "flag --max-payload"});
    CHECK(settings.at("result-ttl") == std::pair<std::string, std::string>{"\"24h\"", "default"});
    CHECK(settings.at("curve-secret-key").second == "not set");

    const auto log = (dir / "broker.log").string();
    ChildProcess broker(argv, environment, log);
    const auto ready = broker.wait_for_line("corsair-broker ready", 10s);
    REQUIRE(ready);
    const auto producers = std::regex_replace(*ready, std::regex(R"(.*producers=(\S+).*)"), "$1");
    CHECK(std::filesystem::exists(data));
    CHECK(corsair::test::wait_until([&] { return read_file(log).find("\"message\":\"bound\"") != std::string::npos; },
                                    10s, 20ms));
    const auto log_text = read_file(log);
    CHECK_THAT(log_text, Catch::Contains("\"heartbeat_ms\":300") && Catch::Contains("\"liveness\":5"));

    // 2KiB from the flag, not the file's 1KiB: a payload of 1.5 KiB goes in, one of 3 KiB does not.
    const auto submit = [&](std::size_t bytes) {
        return run({CORSAIR_CLI_BIN, "submit", "q", std::string(bytes, 'x'), "--broker", producers, "--json"});
    };
    CHECK(submit(1536).first == 0);
    const auto [refused_code, refused_out] = submit(3072);
    CHECK(refused_code != 0);
    CHECK_THAT(refused_out, Catch::Contains("payload_too_large"));

    broker.signal(SIGTERM);
    const auto status = broker.wait_exit(20s);
    REQUIRE(status);
    CHECK(WEXITSTATUS(*status) == 0);
}

TEST_CASE("one corsair-worker serves each [[handler]] of its file as a worker of its own, with its command, capacity "
          "and timeout",
          "[integration][config]") {
    Cluster cluster;
    corsair::test::ScratchDir dir("corsair-config-worker");
    const auto config = (dir / "worker.toml").string();
    write_file(config, "broker = \"" + cluster.endpoints().workers + "\"\n"
                       "id = \"box\"\n"
                       "heartbeat = \"200ms\"\n"
                       "\n"
                       "[[handler]]\n"
                       "queue = \"upper\"\n"
                       "command = [\"tr\", \"a-z\", \"A-Z\"]\n"
                       "capacity = 3\n"
                       "\n"
                       "[[handler]]\n"
                       "queue = \"slow\"\n"
                       "command = [\"sleep\", \"30\"]\n"
                       "timeout = \"500ms\"\n"
                       "\n"
                       "[[handler]]\n"
                       "queue = [\"echo\", \"echo2\"]\n"
                       "builtin = \"echo\"\n");
    const auto log = (dir / "worker.log").string();
    ChildProcess worker({CORSAIR_WORKER_BIN, "--config", config}, {}, log);
    REQUIRE(cluster.wait_for_workers(3));
    const auto stats = cluster.stats();
    REQUIRE(stats);
    std::map<std::string, corsair::protocol::WorkerStats> by_name;
    for (const auto& w : stats->workers) by_name[w.name] = w;
    INFO(read_file(log));
    REQUIRE(by_name.count("box/upper") == 1);
    REQUIRE(by_name.count("box/slow") == 1);
    REQUIRE(by_name.count("box/echo") == 1);
    CHECK(by_name["box/upper"].capacity == 3);
    CHECK(by_name["box/slow"].capacity == 1);
    CHECK(by_name["box/echo"].queues == std::vector<std::string>{"echo", "echo2"});

    auto producer = cluster.make_producer();
    CHECK(producer->wait_result(producer->submit_async("upper", "shout", true), 10s).result == "SHOUT");
    CHECK(producer->wait_result(producer->submit_async("echo2", "back", true), 10s).result == "back");
    corsair::producer::JobOptions once;
    once.max_attempts = 1;
    const auto started = std::chrono::steady_clock::now();
    const auto slow = producer->wait_result(producer->submit_async("slow", "", true, once), 15s);
    CHECK(slow.state == corsair::protocol::JobState::failed);
    CHECK_THAT(slow.error, Catch::StartsWith("timed out after 500ms: command killed"));
    CHECK(std::chrono::steady_clock::now() - started < 10s);

    // One SIGTERM drains every handler, and the process ends with all of them.
    worker.signal(SIGTERM);
    const auto status = worker.wait_exit(20s);
    REQUIRE(status);
    CHECK(WEXITSTATUS(*status) == 0);
    CHECK(corsair::test::wait_until([&] {
        const auto after = cluster.stats();
        return after && after->workers.empty();
    }, 10s, 50ms));
}

TEST_CASE("corsair takes its broker from --config or CORSAIR_CONFIG, below CORSAIR_PRODUCER_ENDPOINT and --broker",
          "[integration][config]") {
    Cluster cluster;
    corsair::test::ScratchDir dir("corsair-config-cli");
    const auto right = (dir / "right.toml").string();
    const auto wrong = (dir / "wrong.toml").string();
    write_file(right, "broker = \"" + cluster.endpoints().producers + "\"\nwait-timeout = \"5s\"\n");
    write_file(wrong, "broker = \"tcp://127.0.0.1:1\"\nwait-timeout = \"300ms\"\n");
    const std::string cli = CORSAIR_CLI_BIN;
    CHECK(run({cli, "stats", "--json", "--config", right}).first == 0);
    CHECK(run({cli, "--config", right, "stats", "--json"}).first == 0);
    CHECK(run({cli, "stats", "--json"}, {"CORSAIR_CONFIG=" + right}).first == 0);
    // The file's wait-timeout is used: no broker at port 1, given up after 300ms (exit 4).
    const auto started = std::chrono::steady_clock::now();
    CHECK(run({cli, "stats", "--json", "--config", wrong}).first == 4);
    CHECK(std::chrono::steady_clock::now() - started < 5s);
    CHECK(run({cli, "stats", "--json", "--config", wrong}, {"CORSAIR_PRODUCER_ENDPOINT=" + cluster.endpoints().producers})
              .first == 0);
    CHECK(run({cli, "stats", "--json", "--config", wrong, "--broker", cluster.endpoints().producers}).first == 0);

    const auto [code, out] = run({cli, "--print-config", "--config", wrong});
    CHECK(code == 0);
    const auto settings = printed_settings(out);
    CHECK(settings.at("broker") == std::pair<std::string, std::string>{"\"tcp://127.0.0.1:1\"", wrong + ":1"});
    CHECK(settings.at("wait-timeout").first == "\"300ms\"");
    CHECK(settings.count("priority") == 0);  // a command's own flags are requests, not settings
}

TEST_CASE("docs/configuration.md has a row for every setting of every program, with its variable and its default",
          "[integration][config][docs]") {
    const auto doc = read_file(CORSAIR_CONFIGURATION_DOC);
    REQUIRE_FALSE(doc.empty());
    for (const auto& [program, binary] : std::vector<std::pair<std::string, std::string>>{
             {"corsair-broker", CORSAIR_BROKER_BIN}, {"corsair-worker", CORSAIR_WORKER_BIN}, {"corsair", CORSAIR_CLI_BIN}}) {
        // The program's table: from its "### program" heading to the next heading.
        const auto start = doc.find("\n### " + program + "\n");
        REQUIRE(start != std::string::npos);
        const auto end = doc.find("\n#", start + 5);
        const auto table = doc.substr(start, end == std::string::npos ? std::string::npos : end - start);
        // Each setting's variable, as --help states it: "(Env:CORSAIR_X)".
        const auto help = run({binary, "--help"}).second + (program == "corsair" ? run({binary, "stats", "--help"}).second : "");
        const auto [code, printed] = run({binary, "--print-config"});
        REQUIRE(code == 0);
        const auto settings = printed_settings(printed);
        REQUIRE(settings.size() >= 5);
        for (const auto& [key, value] : settings) {
            INFO(program << " " << key);
            std::smatch env;
            const std::regex env_of("(?:^|\n) +(?:-\\w,)?--" + key + R"([ =][^\n]*\(Env:(\w+)\))");
            const auto variable = std::regex_search(help, env, env_of) ? "`" + env[1].str() + "`" : std::string("none");
            const auto shown_default = value.first.empty() ? "not set" : "`" + value.first + "`";
            CHECK_THAT(table, Catch::Contains("| `" + key + "` | " + variable + " | " + shown_default + " |"));
        }
    }
}

TEST_CASE("the settings files the package ships load as they are", "[integration][config]") {
    const std::string folder = CORSAIR_PACKAGING_CONFIG_DIR;
    const auto [broker_code, broker_out] = run({CORSAIR_BROKER_BIN, "--config", folder + "/broker.toml", "--print-config"});
    CHECK(broker_code == 0);
    const auto broker = printed_settings(broker_out);
    CHECK(broker.at("data-dir").first == "\"/var/lib/corsair\"");
    CHECK(broker.at("producers").first == "\"tcp://127.0.0.1:5555\"");  // loopback unless told otherwise
    const auto [worker_code, worker_out] =
        run({CORSAIR_WORKER_BIN, "--config", folder + "/worker-example.toml", "--print-config"});
    CHECK(worker_code == 0);
    CHECK_THAT(worker_out, Catch::Contains("[[handler]]"));
}
