// CURVE on both ports with the real binaries (docs/security.md): keys made by `corsair keygen`
// or written in its format, a broker with --curve-secret-key and --allowed-keys, and peers
// holding allowed, unknown, removed or wrong keys.
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <sys/stat.h>
#include <sys/wait.h>

#include <catch2/catch.hpp>

#include "child_process.hpp"
#include "cli_runner.hpp"
#include "cluster.hpp"
#include "corsair/producer/producer.hpp"
#include "corsair/protocol/curve.hpp"
#include "deadline.hpp"
#include "scratch_dir.hpp"
#include "tcp_relay.hpp"

using namespace std::chrono_literals;
using corsair::producer::ProducerError;
using corsair::test::Cluster;
using corsair::test::ScratchDir;
using corsair::test::wait_until;
namespace p = corsair::protocol;
namespace fs = std::filesystem;

namespace {

// A broker key, an --allowed-keys folder and the clients' keys, in a scratch folder.
class Keys {
public:
    Keys() {
        fs::create_directories(allowed_dir());
        make("broker", "");
        make("alice", "producer");
        make("host7", "worker");
        make("ops", "admin");
        make("stranger", "producer", false);
    }

    std::string allowed_dir() const { return (dir_ / "allowed").string(); }
    std::string public_file(const std::string& name) const { return (dir_ / (name + ".key")).string(); }
    std::string secret_file(const std::string& name) const { return (dir_ / (name + ".key_secret")).string(); }
    std::string allowed_file(const std::string& name) const { return allowed_dir() + "/" + name + ".key"; }
    const std::string& public_key(const std::string& name) const { return pairs_.at(name).public_key; }

    p::CurveClientKeys client(const std::string& name) const {
        return p::CurveClientKeys::from_files(public_file("broker"), secret_file(name));
    }
    std::vector<std::string> broker_flags() const {
        return {"--heartbeat", "200ms", "--liveness", "3", "--curve-secret-key", secret_file("broker"),
                "--allowed-keys", allowed_dir()};
    }
    // A worker's flags with `name`'s key.
    std::vector<std::string> worker_flags(const std::string& name) const {
        return {"--builtin", "echo", "--curve-server-key", public_file("broker"), "--curve-key", secret_file(name)};
    }
    std::vector<std::string> cli_flags(const std::string& name, const std::string& server = "broker") const {
        return {"--curve-server-key", public_file(server), "--curve-key", secret_file(name)};
    }

private:
    void make(const std::string& name, const std::string& role, bool is_allowed = true) {
        const auto pair = p::generate_curve_key_pair();
        pairs_[name] = pair;
        std::map<std::string, std::string> metadata{{"name", name}};
        if (!role.empty()) metadata["role"] = role;
        std::ofstream(public_file(name)) << p::format_certificate(pair, false, metadata, "test");
        std::ofstream(secret_file(name)) << p::format_certificate(pair, true, metadata, "test");
        if (is_allowed && !role.empty()) fs::copy_file(public_file(name), allowed_file(name));
    }

    ScratchDir dir_{"corsair-curve"};
    std::map<std::string, p::CurveKeyPair> pairs_;
};

// The broker's code for `request`'s refusal, or "accepted" if it went through.
template <typename Request>
std::string refusal_of(Request&& request) {
    try {
        request();
        return "accepted";
    } catch (const ProducerError& e) {
        return std::string(p::to_string(e.code())) + (e.is_timeout() ? " (timeout)" : "");
    }
}

int count_of(const std::string& text, const std::string& needle) {
    int count = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++count;
    return count;
}

std::string file_text(const std::string& path) {
    std::ifstream in(path);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("corsair keygen writes a czmq certificate pair, the secret one readable by its owner only",
          "[integration][curve]") {
    ScratchDir dir("corsair-keygen");
    corsair::test::ChildProcess keygen({CORSAIR_CLI_BIN, "keygen", "host7", "--role", "worker", "--dir", dir.path().string()});
    while (keygen.read_line(10s)) {
    }
    const auto status = keygen.wait_exit(10s);
    REQUIRE(status);
    CHECK(WEXITSTATUS(*status) == 0);
    const auto public_path = (dir / "host7.key").string();
    const auto secret_path = (dir / "host7.key_secret").string();
    struct stat secret_stat {};
    REQUIRE(::stat(secret_path.c_str(), &secret_stat) == 0);
    CHECK((secret_stat.st_mode & 0777) == 0600);
    // czmq's zcert layout: a metadata section, then curve with the Z85 keys.
    const std::string public_text = file_text(public_path);
    CHECK_THAT(public_text, Catch::Contains("ZeroMQ CURVE Public Certificate") && Catch::Contains("\nmetadata\n") &&
                                Catch::Contains("    role = \"worker\"") && Catch::Contains("\ncurve\n    public-key = \""));
    CHECK_THAT(public_text, !Catch::Contains("secret-key"));
    const auto pair = p::read_secret_key_file(secret_path);
    CHECK(p::read_public_key_file(public_path) == pair.public_key);
    CHECK_THAT(keygen.stdout_text(), Catch::Contains(pair.public_key));

    corsair::test::ChildProcess again({CORSAIR_CLI_BIN, "keygen", "host7", "--dir", dir.path().string()});
    const auto again_status = again.wait_exit(10s);
    REQUIRE(again_status);
    CHECK(WEXITSTATUS(*again_status) == 2);  // never overwrites a key without --force
    CHECK(p::read_secret_key_file(secret_path).secret_key == pair.secret_key);
}

TEST_CASE("with CURVE on, allowed keys run jobs and stats name each worker's key", "[integration][curve]") {
    Keys keys;
    Cluster cluster(keys.broker_flags());
    cluster.use_curve(keys.client("ops"));
    cluster.start_worker("w1", keys.worker_flags("host7"));
    REQUIRE(cluster.wait_for_workers(1));
    auto producer = cluster.make_producer(keys.client("alice"));
    const auto id = producer->submit_async("q", "hello over curve", true);
    const auto outcome = producer->wait_result(id, 10s);
    CHECK(outcome.state == p::JobState::done);
    CHECK(outcome.result == "hello over curve");

    const auto stats = cluster.stats();
    REQUIRE(stats);
    REQUIRE(stats->workers.size() == 1);
    CHECK(stats->workers[0].key == "host7");
    CHECK_THAT(cluster.broker_log(), Catch::Contains("worker joined worker=w1") && Catch::Contains("key=host7"));
    const auto run = corsair::test::corsair_cli(cluster, [&] {
        auto args = std::vector<std::string>{"stats"};
        for (auto& flag : keys.cli_flags("ops")) args.push_back(flag);
        return args;
    }());
    CHECK(run.exit_code == 0);
    CHECK_THAT(run.out, Catch::Contains("KEY") && Catch::Contains("host7"));
}

TEST_CASE("the CORSAIR_* environment turns CURVE on for the broker, the worker and the CLI, and a flag wins over it",
          "[integration][curve]") {
    Keys keys;
    Cluster cluster;  // up without CURVE; restarted below with its keys from the environment only
    cluster.run_broker_under({"/usr/bin/env", "CORSAIR_CURVE_SECRET_KEY=" + keys.secret_file("broker"),
                              "CORSAIR_ALLOWED_KEYS=" + keys.allowed_dir()});
    cluster.start_broker();
    cluster.use_curve(keys.client("ops"));
    CHECK_THAT(cluster.broker_log(), Catch::Contains("CURVE on: allowed keys loaded"));
    cluster.CorsairCluster::start_worker("w1", {"--builtin", "echo"}, "q", 2,
                                         {"/usr/bin/env", "CORSAIR_CURVE_SERVER_KEY=" + keys.public_file("broker"),
                                          "CORSAIR_CURVE_KEY=" + keys.secret_file("host7")});
    REQUIRE(cluster.wait_for_workers(1));
    const auto stats = cluster.stats();
    REQUIRE(stats);
    REQUIRE(stats->workers.size() == 1);
    CHECK(stats->workers[0].key == "host7");

    const std::vector<std::string> alice_env{"CORSAIR_CURVE_SERVER_KEY=" + keys.public_file("broker"),
                                             "CORSAIR_CURVE_KEY=" + keys.secret_file("alice")};
    const auto run = corsair::test::corsair_cli(cluster, {"submit", "q", "keys from the environment", "--wait"}, 30s,
                                                alice_env);
    CHECK(run.exit_code == 0);
    CHECK_THAT(run.out, Catch::Contains("keys from the environment"));
    // Without keys the same broker lets nothing through.
    CHECK(corsair::test::corsair_cli(cluster, {"submit", "q", "x", "--wait-timeout", "1s"}).exit_code == 4);
    // --curve-key wins over CORSAIR_CURVE_KEY: the stranger's key is the one refused.
    const auto refusals = cluster.counter("auth_refusals");
    const auto flagged = corsair::test::corsair_cli(
        cluster, {"stats", "--wait-timeout", "1s", "--curve-key", keys.secret_file("stranger")}, 30s, alice_env);
    CHECK(flagged.exit_code == 4);
    CHECK(cluster.counter("auth_refusals") > refusals);
    CHECK(cluster.counter("jobs_submitted") == 1);
}

TEST_CASE("a key not in --allowed-keys gets no command through and is logged once", "[integration][curve]") {
    Keys keys;
    Cluster cluster(keys.broker_flags());
    cluster.use_curve(keys.client("ops"));
    // libzmq does not retry a handshake refused with ZAP status 400: each connection is one
    // refusal. Three connections: three refusals, one log line.
    for (int i = 0; i < 3; ++i) {
        auto stranger = cluster.make_producer(keys.client("stranger"));
        stranger->submit_async("q", "from a stranger", false);
        REQUIRE(wait_until([&] { return cluster.counter("auth_refusals") >= static_cast<std::uint64_t>(i + 1); }, 10s,
                           50ms));
        CHECK_THROWS_AS(stranger->stats(300ms), ProducerError);
    }
    const auto stats = cluster.stats();
    REQUIRE(stats);
    CHECK(stats->counters.at("jobs_submitted") == 0);
    CHECK(stats->queues.empty());  // not even the queue it named exists
    CHECK(count_of(cluster.broker_log(), "key " + keys.public_key("stranger") + " from 127.0.0.1") == 1);

    SECTION("the CLI with an unknown key gives up within --wait-timeout, naming the keys to check") {
        auto args = std::vector<std::string>{"submit", "q", "x", "--wait-timeout", "1s"};
        for (auto& flag : keys.cli_flags("stranger")) args.push_back(flag);
        const auto started = std::chrono::steady_clock::now();
        const auto run = corsair::test::corsair_cli(cluster, args);
        CHECK(std::chrono::steady_clock::now() - started < 5s);
        CHECK(run.exit_code == 4);
        CHECK_THAT(file_text(cluster.log_dir() + "/cli.log"), Catch::Contains("--allowed-keys"));
    }
    SECTION("a client without CURVE gets nowhere either") {
        const auto run = corsair::test::corsair_cli(cluster, {"submit", "q", "x", "--wait-timeout", "1s"});
        CHECK(run.exit_code == 4);
        CHECK(cluster.counter("jobs_submitted") == 0);
    }
    SECTION("a client expecting another server key gives up within --wait-timeout") {
        auto args = std::vector<std::string>{"stats", "--wait-timeout", "1s"};
        for (auto& flag : keys.cli_flags("ops", "alice")) args.push_back(flag);
        const auto run = corsair::test::corsair_cli(cluster, args);
        CHECK(run.exit_code == 4);
        CHECK_THAT(file_text(cluster.log_dir() + "/cli.log"), Catch::Contains("--curve-server-key"));
    }
}

TEST_CASE("a worker with another server key or an unknown key never joins, keeps trying and says what to check",
          "[integration][curve]") {
    Keys keys;
    Cluster cluster(keys.broker_flags());
    cluster.use_curve(keys.client("ops"));
    std::vector<std::string> flags;
    SECTION("--curve-server-key is not the broker's") {
        flags = {"--builtin", "echo", "--curve-server-key", keys.public_file("alice"), "--curve-key",
                 keys.secret_file("host7")};
    }
    SECTION("its key is not in --allowed-keys") { flags = keys.worker_flags("stranger"); }
    auto& worker = cluster.start_worker("lost", flags);
    // The handshake fails without a word to the client: the worker sees a silent broker, and
    // after its liveness window says so, naming the CURVE settings to check.
    REQUIRE(wait_until(
        [&] {
            const auto log = cluster.worker_log("lost");
            return log.find("no broker for") != std::string::npos && log.find("--curve-server-key") != std::string::npos;
        },
        15s, 50ms));
    CHECK(worker.is_running());
    const auto stats = cluster.stats();
    REQUIRE(stats);
    CHECK(stats->workers.empty());
    CHECK(cluster.counter("workers_joined") == 0);
}

TEST_CASE("each key's role limits the commands it may send", "[integration][curve]") {
    Keys keys;
    Cluster cluster(keys.broker_flags());
    cluster.use_curve(keys.client("ops"));
    auto alice = cluster.make_producer(keys.client("alice"));
    auto ops = cluster.make_producer(keys.client("ops"));
    const auto id = alice->submit("q", "pending job", 10s);

    SECTION("a producer key submits and looks, but cannot cancel or administer") {
        CHECK(alice->status(id, 5s).state == p::JobState::pending);
        CHECK(alice->stats(5s).counters.at("jobs_submitted") == 1);
        CHECK(refusal_of([&] { alice->cancel(id, 5s); }) == "forbidden");
        CHECK(refusal_of([&] { alice->purge("q", {}, 5s); }) == "forbidden");
        CHECK(refusal_of([&] { alice->pause("q", 5s); }) == "forbidden");
        CHECK(refusal_of([&] { alice->dead("q", 10, 5s); }) == "forbidden");
        CHECK(refusal_of([&] { alice->retry_all("q", 5s); }) == "forbidden");
        p::QueueSettings settings;
        settings.queue = "q";
        settings.max_length = 5;
        CHECK(refusal_of([&] { alice->queue_settings(settings, 5s); }) == "forbidden");
        CHECK(cluster.counter("forbidden_commands") == 6);
        CHECK(ops->status(id, 5s).state == p::JobState::pending);  // nothing it asked for was done
    }
    SECTION("an admin key may do all of it") {
        CHECK(refusal_of([&] { ops->pause("q", 5s); }) == "accepted");
        CHECK(refusal_of([&] { ops->resume("q", 5s); }) == "accepted");
        CHECK(refusal_of([&] { ops->dead("q", 10, 5s); }) == "accepted");
        CHECK(refusal_of([&] { ops->cancel(id, 5s); }) == "accepted");
        CHECK(cluster.counter("forbidden_commands") == 0);
    }
    SECTION("a worker key cannot submit, nor look at the broker") {
        auto host7 = cluster.make_producer(keys.client("host7"));
        CHECK(refusal_of([&] { host7->submit("q", "x", 5s); }) == "forbidden");
        CHECK(refusal_of([&] { host7->stats(5s); }) == "forbidden");
        CHECK(cluster.counter("jobs_submitted") == 1);
    }
    SECTION("a producer key cannot serve a queue: the worker exits 2 and takes no job") {
        auto& worker = cluster.start_worker("thief", keys.worker_flags("alice"));
        const auto status = worker.wait_exit(10s);
        REQUIRE(status);
        CHECK(WEXITSTATUS(*status) == 2);
        CHECK_THAT(cluster.worker_log("thief"), Catch::Contains("refused this worker's key") &&
                                                    Catch::Contains("needs a worker key"));
        CHECK(ops->status(id, 5s).state == p::JobState::pending);
        CHECK(cluster.counter("jobs_dispatched") == 0);
    }
    SECTION("the CLI reports a forbidden command with exit code 5") {
        auto args = std::vector<std::string>{"cancel", id};
        for (auto& flag : keys.cli_flags("alice")) args.push_back(flag);
        const auto run = corsair::test::corsair_cli(cluster, args);
        CHECK(run.exit_code == 5);
        CHECK_THAT(file_text(cluster.log_dir() + "/cli.log"), Catch::Contains("needs an admin key"));
    }
}

TEST_CASE("a key removed from --allowed-keys is refused after SIGHUP while other peers carry on",
          "[integration][curve]") {
    Keys keys;
    Cluster cluster(keys.broker_flags());
    cluster.use_curve(keys.client("ops"));
    cluster.start_worker("w1", keys.worker_flags("host7"));
    REQUIRE(cluster.wait_for_workers(1));
    auto alice = cluster.make_producer(keys.client("alice"));
    CHECK(alice->wait_result(alice->submit_async("q", "before", true), 10s).state == p::JobState::done);

    fs::remove(keys.allowed_file("alice"));
    cluster.broker().signal(SIGHUP);
    REQUIRE(wait_until([&] { return count_of(cluster.broker_log(), "allowed keys reloaded") == 1; }, 10s, 20ms));

    // The connection stays (no reconnect), but its next command is refused.
    CHECK(refusal_of([&] { alice->submit("q", "after", 5s); }) == "forbidden");
    CHECK_THAT(cluster.broker_log(), Catch::Contains("is no longer in the broker's --allowed-keys"));
    // The worker, still allowed, was never dropped and still takes jobs.
    auto ops = cluster.make_producer();
    CHECK(ops->wait_result(ops->submit_async("q", "still served", true), 10s).state == p::JobState::done);
    CHECK(cluster.counter("workers_joined") == 1);
    CHECK(cluster.counter("workers_dead") == 0);
    // A new connection with the removed key is refused at the handshake.
    const auto refusals = cluster.counter("auth_refusals");
    auto again = cluster.make_producer(keys.client("alice"));
    again->submit_async("q", "new connection", false);
    CHECK(wait_until([&] { return cluster.counter("auth_refusals") > refusals; }, 10s, 50ms));
}

TEST_CASE("a directory that no longer loads keeps the keys in force", "[integration][curve]") {
    Keys keys;
    Cluster cluster(keys.broker_flags());
    cluster.use_curve(keys.client("ops"));
    std::ofstream(keys.allowed_dir() + "/broken.key") << "curve\n    public-key = \"short\"\n";
    cluster.broker().signal(SIGHUP);
    REQUIRE(wait_until([&] { return count_of(cluster.broker_log(), "allowed keys not reloaded") == 1; }, 10s, 20ms));
    CHECK_THAT(cluster.broker_log(), Catch::Contains("broken.key:2"));
    CHECK_NOTHROW(cluster.make_producer(keys.client("alice"))->stats(5s));  // alice's key still works
}

TEST_CASE("the broker will not start on a bad key setting, naming the file", "[integration][curve]") {
    Keys keys;
    ScratchDir logs("corsair-curve-start");
    auto start = [&](std::vector<std::string> flags) {
        std::vector<std::string> argv{CORSAIR_BROKER_BIN, "--producers", "tcp://127.0.0.1:0", "--workers",
                                      "tcp://127.0.0.1:0", "--http", "", "--data-dir", ""};
        for (auto& flag : flags) argv.push_back(flag);
        corsair::test::ChildProcess broker(argv, {}, (logs / "broker.log").string());
        const auto status = broker.wait_exit(10s);
        REQUIRE(status);
        return std::pair{WEXITSTATUS(*status), file_text((logs / "broker.log").string())};
    };
    SECTION("a secret key among the allowed ones") {
        fs::copy_file(keys.secret_file("alice"), keys.allowed_dir() + "/alice.key_secret");
        const auto [code, log] = start(keys.broker_flags());
        CHECK(code == 2);
        CHECK_THAT(log, Catch::Contains("alice.key_secret: holds a secret key"));
    }
    SECTION("a public file as the broker's own key") {
        const auto [code, log] = start({"--curve-secret-key", keys.public_file("broker"), "--allowed-keys",
                                        keys.allowed_dir()});
        CHECK(code == 2);
        CHECK_THAT(log, Catch::Contains("broker.key: no `secret-key`"));
    }
    SECTION("an allowed key without a role") {
        std::ofstream(keys.allowed_dir() + "/norole.key")
            << "metadata\ncurve\n    public-key = \"" << keys.public_key("stranger") << "\"\n";
        const auto [code, log] = start(keys.broker_flags());
        CHECK(code == 2);
        CHECK_THAT(log, Catch::Contains("norole.key: no role"));
    }
    SECTION("--allowed-keys without --curve-secret-key") {
        const auto [code, log] = start({"--allowed-keys", keys.allowed_dir()});
        CHECK(code == 2);
    }
    SECTION("more key files than the 10,000 a folder may hold") {
        // Read before any file is parsed: the folder is refused for its size alone.
        for (int i = 0; i < 10'000; ++i) std::ofstream(keys.allowed_dir() + "/extra-" + std::to_string(i) + ".key");
        const auto [code, log] = start(keys.broker_flags());
        CHECK(code == 2);
        CHECK_THAT(log, Catch::Contains(keys.allowed_dir() + ": more than 10000 key files"));
    }
}

TEST_CASE("without CURVE a port bound beyond loopback is announced as open to anyone, on loopback or with CURVE not",
          "[integration][curve]") {
    Keys keys;
    ScratchDir logs("corsair-curve-open");
    // Binds the producer port on every address (nothing is sent to it), the worker port on loopback.
    auto start_log = [&](std::vector<std::string> flags) {
        std::vector<std::string> argv{CORSAIR_BROKER_BIN, "--producers", "tcp://0.0.0.0:*", "--workers",
                                      "tcp://127.0.0.1:*", "--http", "", "--data-dir", ""};
        for (auto& flag : flags) argv.push_back(flag);
        const auto log_path = (logs / "broker.log").string();
        fs::remove(log_path);
        corsair::test::ChildProcess broker(argv, {}, log_path);
        REQUIRE(broker.wait_for_line("corsair-broker ready", 10s));
        broker.signal(SIGTERM);
        REQUIRE(broker.wait_exit(10s));
        return file_text(log_path);
    };
    SECTION("without CURVE: one warning, naming the open endpoint and not the loopback one") {
        const auto log = start_log({});
        CHECK(count_of(log, "is open to anyone who can reach this host") == 1);
        CHECK_THAT(log, Catch::Contains("tcp://0.0.0.0:"));
        // The loopback port is never the one warned about.
        for (auto at = log.find("is open to anyone"); at != std::string::npos; at = log.find("is open to anyone", at + 1)) {
            const auto line_start = log.rfind('\n', at);
            CHECK(log.substr(line_start == std::string::npos ? 0 : line_start, at - line_start).find("127.0.0.1") ==
                  std::string::npos);
        }
    }
    SECTION("with CURVE on: no warning") {
        const auto log = start_log({"--curve-secret-key", keys.secret_file("broker"), "--allowed-keys", keys.allowed_dir()});
        CHECK(count_of(log, "is open to anyone") == 0);
        CHECK_THAT(log, Catch::Contains("CURVE on"));
    }
}

TEST_CASE("with CURVE on, no payload or result crosses the wire in clear", "[integration][curve]") {
    const std::string secret_payload = "payload-that-must-never-be-seen-0123456789";
    const bool is_curve = GENERATE(true, false);
    Keys keys;
    Cluster cluster(is_curve ? keys.broker_flags() : std::vector<std::string>{"--heartbeat", "200ms", "--liveness", "3"});
    if (is_curve) cluster.use_curve(keys.client("ops"));
    corsair::test::TcpRelay producer_hop(corsair::test::port_of(cluster.endpoints().producers));
    corsair::test::TcpRelay worker_hop(corsair::test::port_of(cluster.endpoints().workers));
    std::vector<std::string> worker_argv{CORSAIR_WORKER_BIN, "--broker", worker_hop.endpoint(), "--queue", "q", "--id", "w1"};
    for (auto& flag : is_curve ? keys.worker_flags("host7") : std::vector<std::string>{"--builtin", "echo"}) {
        worker_argv.push_back(flag);
    }
    corsair::test::ChildProcess worker(worker_argv, {}, cluster.log_dir() + "/worker-w1.log");
    REQUIRE(cluster.wait_for_workers(1));

    corsair::producer::ProducerOptions options;
    options.broker_endpoint = producer_hop.endpoint();
    if (is_curve) options.curve = keys.client("alice");
    zmq::context_t context;
    corsair::producer::Producer producer(context, options);
    const auto outcome = producer.wait_result(producer.submit_async("q", secret_payload, true), 10s);
    REQUIRE(outcome.state == p::JobState::done);
    CHECK(outcome.result == secret_payload);  // it went through both relays, to the worker and back

    const std::string seen = producer_hop.captured() + worker_hop.captured();
    CHECK(seen.size() > secret_payload.size());
    if (is_curve) {
        CHECK(seen.find(secret_payload) == std::string::npos);
        CHECK(seen.find("payload-that") == std::string::npos);
    } else {
        // The relays do see plain traffic: without CURVE the payload crosses each hop in clear.
        CHECK(count_of(seen, secret_payload) >= 2);
    }
}
