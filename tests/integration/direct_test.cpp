// The direct transport (docs/protocol.md §2.1, the low-latency mode) with the real binaries:
// producers and workers over direct:// run jobs beside ZeroMQ ones under the same rules, a
// killed direct worker's job is redone, bad bytes on the port are dropped by name, and the
// broker refuses what would open a hole (--direct with CURVE, a direct:// endpoint given to a
// ZeroMQ flag).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <set>
#include <string>

#include <catch2/catch.hpp>

#include "cli_runner.hpp"
#include "cluster.hpp"
#include "corsair/producer/producer.hpp"
#include "corsair/protocol/stream.hpp"
#include "deadline.hpp"
#include "raw_tcp.hpp"
#include "scratch_dir.hpp"

using namespace std::chrono_literals;
using corsair::producer::Outcome;
using corsair::test::ChildProcess;
using corsair::test::Cluster;
namespace p = corsair::protocol;

namespace {

const std::vector<std::string> kDirectBroker = {"--heartbeat", "200ms", "--liveness", "3", "--direct",
                                                "direct://127.0.0.1:0", "--direct-spin", "1ms"};

std::unique_ptr<corsair::producer::Producer> direct_producer(zmq::context_t& context, Cluster& cluster) {
    corsair::producer::ProducerOptions options;
    options.broker_endpoint = cluster.endpoints().direct;
    return std::make_unique<corsair::producer::Producer>(context, options);
}

// Runs corsair-broker with `flags` and returns its exit code and stderr; it must exit within 10 s.
std::pair<int, std::string> broker_refusal(const std::vector<std::string>& flags, const std::string& log_path) {
    std::vector<std::string> argv{CORSAIR_BROKER_BIN, "--data-dir", "", "--http", ""};
    argv.insert(argv.end(), flags.begin(), flags.end());
    ChildProcess broker(argv, {}, log_path);
    const auto status = broker.wait_exit(10s);
    REQUIRE(status);
    std::ifstream in(log_path);
    return {WEXITSTATUS(*status), std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>())};
}

}  // namespace

TEST_CASE("over the direct transport, producers and workers run jobs beside ZeroMQ ones", "[integration][direct]") {
    Cluster cluster(kDirectBroker);
    REQUIRE(cluster.endpoints().direct.rfind("direct://127.0.0.1:", 0) == 0);
    CHECK(cluster.broker_log().find("direct=" + cluster.endpoints().direct) != std::string::npos);
    cluster.connect_workers_direct(true);
    cluster.start_worker("direct-worker", {"--builtin", "echo", "--inline", "--direct-spin", "1ms"}, "q", 1);
    cluster.connect_workers_direct(false);
    cluster.start_worker("zeromq-worker", {"--builtin", "echo"}, "q", 1);
    REQUIRE(cluster.wait_for_workers(2));

    zmq::context_t context;
    auto direct = direct_producer(context, cluster);
    auto zeromq = cluster.make_producer();
    std::set<std::string> direct_ids, zeromq_ids;
    for (int i = 0; i < 200; ++i) {
        direct_ids.insert(direct->submit_async("q", "direct-" + std::to_string(i), true));
        zeromq_ids.insert(zeromq->submit_async("q", "zeromq-" + std::to_string(i), true));
    }
    for (const auto& id : direct_ids) {
        const Outcome outcome = direct->wait_result(id, 15s);
        CHECK(outcome.state == p::JobState::done);
        CHECK(outcome.result.rfind("direct-", 0) == 0);
    }
    for (const auto& id : zeromq_ids) CHECK(zeromq->wait_result(id, 15s).state == p::JobState::done);

    // Both workers took jobs, whichever way they came in.
    const auto stats = direct->stats(5s);
    std::set<std::string> busy;
    for (const auto& worker : stats.workers) {
        if (worker.done > 0) busy.insert(worker.name);
    }
    CHECK(busy == std::set<std::string>{"direct-worker", "zeromq-worker"});

    // The CLI over direct:// too.
    const auto run = corsair::test::corsair_cli(cluster, {"submit", "q", "hello", "--wait", "--broker", cluster.endpoints().direct});
    CHECK(run.exit_code == 0);
    CHECK(run.out == "hello");
}

TEST_CASE("a direct worker killed with SIGKILL: its job is redone by another worker", "[integration][direct]") {
    Cluster cluster(kDirectBroker);
    cluster.connect_workers_direct(true);
    cluster.start_worker("victim", {"--builtin", "sleep", "--prefetch", "0"}, "q", 1);
    REQUIRE(cluster.wait_for_workers(1));
    zmq::context_t context;
    auto producer = direct_producer(context, cluster);
    const std::string id = producer->submit_async("q", "60000", true);  // far longer than the test
    REQUIRE(corsair::test::wait_until(
        [&] {
            const auto status = producer->status(id, 2s);
            return status.state == p::JobState::running && status.worker == "victim";
        },
        10s, 20ms));
    cluster.worker("victim").kill_and_reap();
    cluster.start_worker("rescuer", {"--builtin", "echo"}, "q", 1);
    // Dead after 3 heartbeats of 200 ms; the echo worker answers at once.
    const Outcome outcome = producer->wait_result(id, 15s);
    CHECK(outcome.state == p::JobState::done);
    CHECK(outcome.result == "60000");
    CHECK(outcome.attempt == 2);
}

TEST_CASE("bad bytes on the direct port are dropped and named in the log, and the broker goes on serving",
          "[integration][direct]") {
    Cluster cluster(kDirectBroker);
    const auto connect_raw = [&] { return corsair::test::connect_raw_tcp(cluster.endpoints().direct); };
    const auto closed_by_broker = [](int fd) {
        timeval timeout{10, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
        char byte;
        // End of stream, or a reset: the broker closed it with bytes of ours unread.
        const ssize_t got = ::recv(fd, &byte, 1, 0);
        return got == 0 || (got < 0 && errno == ECONNRESET);
    };
    {
        const int fd = connect_raw();
        const std::string request = "GET /metrics HTTP/1.1\r\n\r\n";
        REQUIRE(::send(fd, request.data(), request.size(), MSG_NOSIGNAL) > 0);
        CHECK(closed_by_broker(fd));
        ::close(fd);
    }
    {
        // A producer's greeting, then a message whose frames decode to nothing: answered ERROR,
        // as over ZeroMQ, and the connection stays.
        const int fd = connect_raw();
        std::string bytes = p::stream::greeting(p::stream::Role::producer);
        p::Frames junk;
        junk.emplace_back("junk", 4);
        p::stream::append_message(bytes, junk);
        // Then a frame count no message has: the stream cannot be trusted any further.
        p::stream::detail::put_u32(bytes, 0);
        REQUIRE(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) > 0);
        p::stream::MessageReader reader(1 << 20);
        p::Frames frames;
        std::string problem;
        timeval timeout{10, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
        bool is_closed = false;
        while (!is_closed && reader.next(frames, problem) != p::stream::MessageReader::Next::message) {
            const ssize_t got = ::recv(fd, reader.space(4096), 4096, 0);
            if (got <= 0) is_closed = true;
            else reader.commit(static_cast<std::size_t>(got));
        }
        REQUIRE_FALSE(is_closed);
        auto decoded = p::decode(frames, 0);
        REQUIRE(decoded);
        CHECK(std::holds_alternative<p::Error>(decoded.value()));
        CHECK(closed_by_broker(fd));
        ::close(fd);
    }
    REQUIRE(corsair::test::wait_until(
        [&] { return cluster.broker_log().find("reason=malformed_stream") != std::string::npos; }, 10s, 20ms));
    CHECK(cluster.broker_log().find("reason=bad_greeting") != std::string::npos);
    CHECK(cluster.counter("direct_connections_dropped") == 2);
    cluster.connect_workers_direct(true);
    cluster.start_worker("w", {"--builtin", "echo"}, "q", 1);
    REQUIRE(cluster.wait_for_workers(1));
    const auto run = corsair::test::corsair_cli(cluster, {"submit", "q", "still", "--wait", "--broker", cluster.endpoints().direct});
    CHECK(run.out == "still");
}

TEST_CASE("the broker refuses --direct with CURVE, and a direct:// endpoint given to a ZeroMQ flag",
          "[integration][direct]") {
    corsair::test::ScratchDir dir("corsair-direct");
    ChildProcess keygen({CORSAIR_CLI_BIN, "keygen", "broker", "--dir", dir.path().string()}, {}, (dir / "keygen.log").string());
    REQUIRE(keygen.wait_exit(10s) == 0);
    std::filesystem::create_directories(dir / "allowed");
    const auto [curve_code, curve_log] = broker_refusal(
        {"--producers", "tcp://127.0.0.1:0", "--workers", "tcp://127.0.0.1:0", "--curve-secret-key",
         (dir / "broker.key_secret").string(), "--allowed-keys", (dir / "allowed").string(), "--direct",
         "direct://127.0.0.1:0"},
        (dir / "curve.log").string());
    CHECK(curve_code == 2);
    CHECK_THAT(curve_log, Catch::Contains("--direct cannot be used with CURVE"));

    const auto [flag_code, flag_log] =
        broker_refusal({"--producers", "direct://127.0.0.1:0"}, (dir / "flag.log").string());
    CHECK(flag_code == 2);
    CHECK_THAT(flag_log, Catch::Contains("is for the direct transport: give it to --direct"));
}

TEST_CASE("direct producers and workers ride out a broker restart: the worker sees the closed connection at once "
          "and joins the new broker",
          "[integration][direct]") {
    // A port of our own, free now, so that the restarted broker binds the same one.
    int port = 0;
    {
        const int probe = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(probe, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
        socklen_t length = sizeof address;
        ::getsockname(probe, reinterpret_cast<sockaddr*>(&address), &length);
        port = ntohs(address.sin_port);
        ::close(probe);
    }
    const std::string endpoint = "direct://127.0.0.1:" + std::to_string(port);
    Cluster cluster({"--heartbeat", "200ms", "--liveness", "3", "--direct", endpoint});
    REQUIRE(cluster.endpoints().direct == endpoint);
    cluster.connect_workers_direct(true);
    cluster.start_worker("w", {"--builtin", "echo"}, "q", 1);
    REQUIRE(cluster.wait_for_workers(1));
    zmq::context_t context;
    auto producer = direct_producer(context, cluster);
    CHECK(producer->wait_result(producer->submit_async("q", "before", true), 15s).result == "before");

    cluster.kill_broker();
    cluster.start_broker(cluster.endpoints());
    REQUIRE(cluster.endpoints().direct == endpoint);
    // The job is journaled before ACCEPTED, so it is done once the worker is back.
    const std::string id = producer->submit_async("q", "after", true);
    const Outcome outcome = producer->wait_result(id, 15s);
    CHECK(outcome.state == p::JobState::done);
    CHECK(outcome.result == "after");
    CHECK_THAT(cluster.worker_log("w"), Catch::Contains("reason=direct_connection_closed"));
}

TEST_CASE("a ZeroMQ worker given the direct port is named as such in the broker's log, at most once a second",
          "[integration][direct]") {
    Cluster cluster(kDirectBroker);
    const auto parts = p::stream::split_endpoint(cluster.endpoints().direct);
    REQUIRE(parts);
    const std::string wrong = "tcp://" + parts->first + ":" + parts->second;
    const auto started = std::chrono::steady_clock::now();
    ChildProcess worker({CORSAIR_WORKER_BIN, "--broker", wrong, "--queue", "q", "--builtin", "echo"}, {},
                        cluster.log_dir() + "/zeromq-at-direct.log");
    // Its DEALER reconnects every 100 ms: the second warning says how many were left out.
    REQUIRE(corsair::test::wait_until(
        [&] { return cluster.broker_log().find("more such connections dropped") != std::string::npos; }, 10s, 20ms));
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started);
    const std::string log = cluster.broker_log();
    CHECK_THAT(log, Catch::Contains("a ZeroMQ peer: give it the broker's tcp:// endpoint, or direct:// to this one"));
    int warnings = 0;
    for (auto at = log.find("reason=bad_greeting"); at != std::string::npos; at = log.find("reason=bad_greeting", at + 1)) {
        ++warnings;
    }
    CHECK(warnings <= seconds.count() + 2);
    worker.kill_and_reap();
}

TEST_CASE("a broker that stops tells its direct workers so, as it tells its ZeroMQ ones", "[integration][direct]") {
    auto flags = kDirectBroker;
    flags.insert(flags.end(), {"--drain-timeout", "0"});
    Cluster cluster(flags);
    cluster.connect_workers_direct(true);
    cluster.start_worker("w", {"--builtin", "echo"}, "q", 1);
    REQUIRE(cluster.wait_for_workers(1));
    cluster.broker().signal(SIGTERM);
    REQUIRE(cluster.broker().wait_exit(10s));
    CHECK(corsair::test::wait_until(
        [&] { return cluster.worker_log("w").find("broker disconnected us") != std::string::npos; }, 10s, 20ms));
}
