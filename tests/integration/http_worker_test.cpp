// Workers over HTTP with real processes: a Python urllib worker next to a C++ corsair-worker, an
// HTTP worker killed while holding a lease, a late completion fenced off, and the lease calls'
// refusals. Every wait is bounded by a deadline.
#include <csignal>
#include <set>
#include <sstream>

#include <catch2/catch.hpp>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "cluster.hpp"
#include "deadline.hpp"

using namespace std::chrono_literals;
using corsair::test::ChildProcess;
using corsair::test::Cluster;
using nlohmann::json;
namespace p = corsair::protocol;

namespace {

Cluster http_cluster() {
    return Cluster({"--heartbeat", "100ms", "--liveness", "3", "--http", "127.0.0.1:0", "--max-payload", "64KiB"});
}

httplib::Client http_client(Cluster& cluster) {
    const auto& address = cluster.endpoints().http;
    REQUIRE_FALSE(address.empty());
    const auto colon = address.rfind(':');
    httplib::Client client(address.substr(0, colon), std::stoi(address.substr(colon + 1)));
    client.set_read_timeout(30, 0);
    return client;
}

httplib::Result post_json(httplib::Client& client, const std::string& path, const json& body) {
    return client.Post(path.c_str(), body.dump(), "application/json");
}

ChildProcess start_python_worker(Cluster& cluster, const std::string& lease, bool is_holding) {
    std::vector<std::string> argv{"/usr/bin/python3", CORSAIR_HTTP_WORKER_SCRIPT, "--url",
                                  "http://" + cluster.endpoints().http, "--queue", "q", "--lease", lease};
    if (is_holding) argv.push_back("--hold");
    return ChildProcess(argv, {}, cluster.log_dir() + "/python-worker.log");
}

// The job id and attempt of the "claimed ID ATTEMPT TOKEN" line the Python worker prints.
std::pair<std::string, int> wait_for_claim(ChildProcess& worker) {
    const auto line = worker.wait_for_line("claimed ", 10s);
    REQUIRE(line);
    std::istringstream words(line->substr(line->find("claimed ")));
    std::string word, id;
    int attempt = 0;
    words >> word >> id >> attempt;
    return {id, attempt};
}

// STATUS of `id` until it is done, under a deadline.
p::StatusReply wait_until_done(corsair::producer::Producer& producer, const std::string& id,
                               std::chrono::milliseconds timeout) {
    p::StatusReply status;
    const bool is_done = corsair::test::wait_until(
        [&] {
            status = producer.status(id, 2s);
            return status.state == p::JobState::done;
        },
        timeout, 20ms);
    REQUIRE(is_done);
    return status;
}

std::string result_text(const p::StatusReply& status) {
    return std::string(static_cast<const char*>(status.payload.data()), status.payload.size());
}

}  // namespace

TEST_CASE("a Python urllib worker and a C++ worker serve one queue side by side", "[integration][http][worker]") {
    auto cluster = http_cluster();
    auto python = start_python_worker(cluster, "5s", false);
    REQUIRE(python.wait_for_line("waiting", 10s));
    cluster.start_worker("cpp", {"--builtin", "sleep"}, "q", 1);
    REQUIRE(cluster.wait_for_workers(2));
    auto producer = cluster.make_producer();
    std::set<std::string> ids;
    for (int i = 0; i < 30; ++i) ids.insert(producer->submit("q", "40", 10s));
    int by_python = 0;
    int by_cpp = 0;
    for (const auto& id : ids) {
        const auto result = result_text(wait_until_done(*producer, id, 30s));
        if (result == "py:40") ++by_python;
        if (result == "slept 40 ms") ++by_cpp;
    }
    CHECK(by_python + by_cpp == 30);
    CHECK(by_python > 0);
    CHECK(by_cpp > 0);
}

TEST_CASE("an HTTP worker killed holding a lease has its job requeued with attempt 2 after the lease time",
          "[integration][http][worker]") {
    auto cluster = http_cluster();
    auto producer = cluster.make_producer();
    const auto id = producer->submit("q", "x", 10s);
    auto python = start_python_worker(cluster, "1s", true);
    const auto [claimed_id, attempt] = wait_for_claim(python);
    const auto claimed_at = std::chrono::steady_clock::now();
    REQUIRE(claimed_id == id);
    REQUIRE(attempt == 1);
    python.signal(SIGKILL);
    REQUIRE(python.wait_exit(10s));
    cluster.start_worker("cpp", {"--builtin", "echo"}, "q", 1);
    const auto status = wait_until_done(*producer, id, 20s);
    const auto took = std::chrono::steady_clock::now() - claimed_at;
    CHECK(status.attempt == 2);
    CHECK(status.worker == "cpp");
    CHECK(result_text(status) == "x");
    // The lease held the job for its whole time although its holder was gone.
    CHECK(took >= 900ms);
}

TEST_CASE("a completion after the lease expired gets 409 and the other worker's result stands",
          "[integration][http][worker]") {
    auto cluster = http_cluster();
    auto client = http_client(cluster);
    auto producer = cluster.make_producer();
    const auto id = producer->submit("q", "x", 10s);
    auto claimed = post_json(client, "/api/v1/queues/q/claim", {{"wait", "5s"}, {"lease", "300ms"}});
    REQUIRE(claimed);
    REQUIRE(claimed->status == 200);
    const auto lease = json::parse(claimed->body);
    CHECK(lease["id"] == id);
    CHECK(lease["attempt"] == 1);
    CHECK(lease["payload"] == "x");
    CHECK(lease["lease_ms"] == 300);
    CHECK(lease["token"].get<std::string>().size() == 32);
    cluster.start_worker("cpp", {"--builtin", "echo"}, "q", 1);
    const auto status = wait_until_done(*producer, id, 20s);
    CHECK(status.attempt == 2);
    const std::string token = lease["token"];
    auto late = post_json(client, "/api/v1/leases/" + token + "/complete", {{"result", "late"}});
    REQUIRE(late);
    CHECK(late->status == 409);
    CHECK(json::parse(late->body)["error"] == "lease_expired");
    auto extend = post_json(client, "/api/v1/leases/" + token + "/extend", json::object());
    REQUIRE(extend);
    CHECK(extend->status == 409);
    CHECK(result_text(producer->status(id, 2s)) == "x");
}

TEST_CASE("a claim on an empty queue answers 204 once its wait is over", "[integration][http][worker]") {
    auto cluster = http_cluster();
    auto client = http_client(cluster);
    const auto started = std::chrono::steady_clock::now();
    auto claimed = client.Post("/api/v1/queues/empty/claim?wait=300ms", "", "application/json");
    const auto took = std::chrono::steady_clock::now() - started;
    REQUIRE(claimed);
    CHECK(claimed->status == 204);
    CHECK(took >= 290ms);
    CHECK(took < 5s);
}

TEST_CASE("lease calls refuse what they cannot do with a JSON error", "[integration][http][worker]") {
    auto cluster = http_cluster();
    auto client = http_client(cluster);
    auto producer = cluster.make_producer();
    const auto id = producer->submit("q", "x", 10s);
    auto claimed = post_json(client, "/api/v1/queues/q/claim", {{"wait", "5s"}, {"lease", "30s"}, {"worker", "t"}});
    REQUIRE(claimed);
    REQUIRE(claimed->status == 200);
    const std::string token = json::parse(claimed->body)["token"];
    CHECK(json::parse(claimed->body)["worker"].get<std::string>().rfind("http:t#", 0) == 0);
    const std::string lease = "/api/v1/leases/" + token;
    auto expect = [&](httplib::Result result, int status, const std::string& code) {
        REQUIRE(result);
        CHECK(result->status == status);
        CHECK(json::parse(result->body)["error"] == code);
    };

    SECTION("an unknown or malformed token is 404") {
        expect(post_json(client, "/api/v1/leases/0123456789abcdef0123456789abcdef/complete", json::object()), 404,
               "unknown_lease");
        expect(post_json(client, "/api/v1/leases/nothex/fail", json::object()), 404, "unknown_lease");
    }
    SECTION("bad bodies are 400 and leave the lease standing") {
        expect(post_json(client, "/api/v1/queues/q/claim", {{"wait", "1s"}, {"bogus", 1}}), 400, "bad_request");
        expect(post_json(client, "/api/v1/queues/q/claim", {{"wait", "forever"}}), 400, "bad_request");
        expect(post_json(client, lease + "/fail", {{"permanent", "yes"}}), 400, "bad_request");
        expect(post_json(client, lease + "/progress", {{"percent", 101}}), 400, "bad_request");
        expect(post_json(client, lease + "/complete", {{"result_base64", "!!"}}), 400, "bad_request");
        expect(client.Post((lease + "/extend").c_str(), "{", "application/json"), 400, "bad_request");
        auto extended = post_json(client, lease + "/extend", {{"lease", "2s"}});
        REQUIRE(extended);
        CHECK(extended->status == 200);
        CHECK(json::parse(extended->body)["lease_ms"] == 2000);
    }
    SECTION("a result over the broker's payload limit is 413") {
        expect(client.Post((lease + "/complete").c_str(), std::string(65 * 1024, 'r'), "application/octet-stream"),
               413, "payload_too_large");
    }
    SECTION("a permanent failure sends the job to the dead set, and the lease ends") {
        auto failed = post_json(client, lease + "/fail", {{"error", "bad input"}, {"permanent", true}});
        REQUIRE(failed);
        CHECK(failed->status == 200);
        expect(post_json(client, lease + "/complete", json::object()), 409, "lease_ended");
        REQUIRE(corsair::test::wait_until([&] { return producer->status(id, 2s).state == p::JobState::failed; }, 10s, 20ms));
    }
}

TEST_CASE("past 1,024 HTTP worker leases a claim gets 429 too_many_leases, one completed makes room",
          "[integration][http][worker]") {
    // The broker's default heartbeat: 1,024 held leases are 1,024 worker connections heartbeating.
    Cluster cluster({"--http", "127.0.0.1:0"});
    auto client = http_client(cluster);
    client.set_keep_alive(true);
    auto producer = cluster.make_producer();
    constexpr int kLeases = 1'024;  // LeaseKeeper::kMaxConnections, docs/http.md
    std::string last_id;
    for (int i = 0; i <= kLeases; ++i) last_id = producer->submit("q", "job " + std::to_string(i), 10s);
    std::vector<std::string> tokens;
    for (int i = 0; i < kLeases; ++i) {
        auto claimed = post_json(client, "/api/v1/queues/q/claim", {{"wait", "5s"}, {"lease", "10m"}});
        REQUIRE(claimed);
        REQUIRE(claimed->status == 200);
        tokens.push_back(json::parse(claimed->body)["token"]);
    }
    auto refused = post_json(client, "/api/v1/queues/q/claim", {{"wait", "5s"}, {"lease", "10m"}});
    REQUIRE(refused);
    CHECK(refused->status == 429);
    CHECK(json::parse(refused->body)["error"] == "too_many_leases");
    // The job that was not claimed (the last, first in first out) is still waiting, untouched.
    const auto waiting = producer->status(last_id, 5s);
    CHECK(waiting.state == p::JobState::pending);
    CHECK(waiting.attempt == 0);
    auto done = post_json(client, "/api/v1/leases/" + tokens.front() + "/complete", {{"result", "ok"}});
    REQUIRE(done);
    CHECK(done->status == 200);
    auto claimed = post_json(client, "/api/v1/queues/q/claim", {{"wait", "5s"}, {"lease", "10m"}});
    REQUIRE(claimed);
    CHECK(claimed->status == 200);
}
