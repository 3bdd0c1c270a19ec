// The broker's HTTP side against a real broker and workers (docs/http.md): health and readiness,
// jobs in over HTTP and out through ZeroMQ workers, the JSON API's answers and errors, tokens
// and their roles, and a few hundred malformed requests that change nothing.
#include <csignal>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "cli_runner.hpp"
#include "cluster.hpp"
#include "deadline.hpp"
#include "http_client.hpp"
#include "scratch_dir.hpp"

using namespace std::chrono_literals;
using corsair::test::Cluster;
using corsair::test::HttpClient;
using corsair::test::wait_until;
using nlohmann::json;

namespace {

std::string job_path(const std::string& id) { return "/api/v1/jobs/" + id; }

// The state of job `id` over HTTP, once it ended or `wait` passed.
json job_waited(HttpClient& http, const std::string& id, const std::string& wait = "10s") {
    const auto answer = http.get(job_path(id) + "?wait=" + wait);
    REQUIRE(answer.status == 200);
    return answer.json();
}

std::string write_tokens(const std::string& path, const std::string& text) {
    std::ofstream(path) << text;
    return path;
}

}  // namespace

TEST_CASE("health and readiness answer without a token and tell the broker's state", "[integration][http]") {
    Cluster cluster;
    HttpClient http(cluster.endpoints().http);
    REQUIRE_FALSE(cluster.endpoints().http.empty());
    const auto health = http.get("/health");
    REQUIRE(health.status == 200);
    CHECK(health.json()["status"] == "ok");
    CHECK(health.json()["version"] == "0.1.0");
    CHECK(health.json()["jobs_processed"] == 0);
    CHECK(health.json()["broker_instance"].is_string());
    CHECK(health.json()["last_job_ended_at_ms"].is_null());
    const auto ready = http.get("/ready");
    CHECK(ready.status == 200);
    CHECK(ready.json()["ready"] == true);
}

TEST_CASE("a job submitted over HTTP is durable when answered 202, runs on a ZeroMQ worker and its result is long-polled",
          "[integration][http]") {
    Cluster cluster;
    HttpClient http(cluster.endpoints().http);
    const auto accepted = http.post_json("/api/v1/queues/q/jobs", {{"payload", "hello"}, {"priority", 7}});
    REQUIRE(accepted.status == 202);
    const std::string id = accepted.json()["id"];
    CHECK(accepted.json()["queue"] == "q");
    CHECK(accepted.json()["existed"] == false);

    // The same job through the CLI: the shapes are shared.
    const auto status = corsair::test::json_lines(corsair::test::corsair_cli(cluster, {"status", id, "--json"}).out);
    REQUIRE(status.size() == 1);
    CHECK(status[0]["state"] == "pending");
    CHECK(status[0]["priority"] == 7);
    // The same shape, field for field; created_at_ms is told as "ago" on the wire, so it may move a ms.
    auto over_http = http.get(job_path(id)).json();
    auto over_cli = status[0];
    CHECK(std::llabs(over_http["created_at_ms"].get<long long>() - over_cli["created_at_ms"].get<long long>()) < 1000);
    over_http.erase("created_at_ms");
    over_cli.erase("created_at_ms");
    CHECK(over_http == over_cli);

    cluster.start_worker("echo", {"--builtin", "echo"});
    const auto ended = job_waited(http, id);
    CHECK(ended["state"] == "done");
    CHECK(ended["result"] == "hello");
    CHECK(ended["attempt"] == 1);

    const auto health = http.get("/health").json();
    CHECK(health["jobs_processed"] == 1);
    CHECK(health["last_job_ended_at_ms"].is_number());
}

TEST_CASE("a job id given by the client makes a resubmit idempotent", "[integration][http]") {
    Cluster cluster;
    HttpClient http(cluster.endpoints().http);
    const json job{{"payload", "once"}, {"id", "order-42"}};
    const auto first = http.post_json("/api/v1/queues/q/jobs", job);
    const auto second = http.post_json("/api/v1/queues/q/jobs", job);
    REQUIRE(first.status == 202);
    REQUIRE(second.status == 202);
    CHECK(first.json()["existed"] == false);
    CHECK(second.json()["existed"] == true);
    CHECK(second.json()["id"] == "order-42");
    const auto other_payload = http.post_json("/api/v1/queues/q/jobs", {{"payload", "twice"}, {"id", "order-42"}});
    CHECK(other_payload.status == 409);
    CHECK(other_payload.json()["error"] == "id_conflict");
    CHECK(http.get("/api/v1/queues/q").json()["pending"] == 1);
}

TEST_CASE("batches as a JSON array or NDJSON answer per job, raw bytes take their options from the query",
          "[integration][http]") {
    Cluster cluster;
    HttpClient http(cluster.endpoints().http);
    const auto batch = http.post_json("/api/v1/queues/q/jobs",
                                      json::array({{{"payload", "a"}}, {{"payload", "b"}, {"priority", 5000}},
                                                   {{"payload_base64", "AAEC/w=="}}}));
    REQUIRE(batch.status == 207);
    const auto answers = batch.json()["jobs"];
    REQUIRE(answers.size() == 3);
    CHECK(answers[0]["existed"] == false);
    CHECK(answers[1]["error"] == "bad_request");
    CHECK_THAT(answers[1]["message"].get<std::string>(), Catch::Contains("priority must be an integer from -1000 to 1000"));
    CHECK(answers[2]["existed"] == false);

    const auto ndjson = http.call("POST", "/api/v1/queues/q/jobs", "{\"payload\":\"x\"}\n\n{\"payload\":\"y\"}\n",
                                  "application/x-ndjson");
    REQUIRE(ndjson.status == 202);
    CHECK(ndjson.json()["jobs"].size() == 2);

    const std::string bytes("\x00\x01\xfe\xff", 4);
    const auto raw = http.call("POST", "/api/v1/queues/q/jobs?delay=1h&max_attempts=2", bytes, "application/octet-stream");
    REQUIRE(raw.status == 202);
    const auto status = http.get(job_path(raw.json()["id"]) + "?payload=true").json();
    CHECK(status["state"] == "delayed");
    CHECK(status["max_attempts"] == 2);
    CHECK(http.get("/api/v1/queues/q").json()["pending"] == 4);
}

TEST_CASE("the admin API pauses, lists, retries and purges the dead set, cancels and sets queues", "[integration][http]") {
    Cluster cluster;
    HttpClient http(cluster.endpoints().http);
    REQUIRE(http.call("PUT", "/api/v1/queues/work", R"({"max_length": 100})", "application/json").status == 201);
    CHECK(http.call("PUT", "/api/v1/queues/work", "", "").status == 200);
    const auto settings = http.call("PATCH", "/api/v1/queues/work/settings", R"({"timeout":"30s","jitter":10})",
                                    "application/json");
    REQUIRE(settings.status == 200);
    CHECK(settings.json()["timeout_ms"] == 30000);
    CHECK(settings.json()["max_length"] == 100);

    const auto doomed = http.post_json("/api/v1/queues/work/jobs", {{"payload", "x"}, {"max_attempts", 1}});
    const std::string doomed_id = doomed.json()["id"];
    cluster.start_worker("failing", {"--", "/bin/false"}, "work", 1);
    REQUIRE(job_waited(http, doomed_id)["state"] == "failed");
    cluster.worker("failing").kill_and_reap();
    const auto dead = http.get("/api/v1/queues/work/dead").json();
    CHECK(dead["total"] == 1);
    CHECK(dead["jobs"][0]["id"] == doomed_id);

    REQUIRE(http.call("POST", "/api/v1/queues/work/pause", "", "").json()["paused"] == true);
    REQUIRE(http.call("POST", job_path(doomed_id) + "/retry", "", "").status == 200);
    CHECK(http.get("/api/v1/queues/work/dead").json()["total"] == 0);
    const auto listed = http.get("/api/v1/queues/work/jobs?state=pending").json();
    REQUIRE(listed["jobs"].size() == 1);
    CHECK(listed["jobs"][0]["id"] == doomed_id);
    CHECK(http.call("POST", job_path(doomed_id) + "/cancel", "", "").status == 200);
    CHECK(http.get(job_path(doomed_id)).json()["state"] == "cancelled");
    CHECK(http.call("POST", job_path(doomed_id) + "/cancel", "", "").json()["error"] == "wrong_state");
    CHECK(http.call("POST", "/api/v1/queues/work/resume", "", "").json()["paused"] == false);

    const auto workers = http.get("/api/v1/workers").json()["workers"];
    CHECK(workers.is_array());
    CHECK(http.get("/api/v1/stats").json()["queues"][0]["queue"] == "work");
    CHECK(http.call("DELETE", "/api/v1/queues/work", "", "").status == 200);
    CHECK(http.get("/api/v1/queues/work").status == 404);
}

TEST_CASE("errors are JSON with the protocol's codes and fitting statuses", "[integration][http]") {
    Cluster cluster({"--heartbeat", "200ms", "--liveness", "3", "--max-payload", "1k"});
    HttpClient http(cluster.endpoints().http);
    const auto expect = [](const corsair::test::HttpAnswer& answer, int status, const std::string& code) {
        INFO(answer.body);
        CHECK(answer.status == status);
        CHECK(answer.json()["error"] == code);
        CHECK(answer.json()["message"].is_string());
    };
    expect(http.get("/api/v1/jobs/nope"), 404, "unknown_job");
    expect(http.get("/api/v1/queues/nope/dead"), 404, "unknown_queue");
    expect(http.get("/api/v1/nothing-here"), 404, "unknown_route");
    expect(http.call("POST", "/api/v1/queues/q/jobs", "{not json", "application/json"), 400, "bad_request");
    expect(http.post_json("/api/v1/queues/q/jobs", {{"payload", "x"}, {"prioirty", 1}}), 400, "bad_request");
    expect(http.post_json("/api/v1/queues/q/jobs", {{"payload_base64", "%%%"}}), 400, "bad_request");
    expect(http.post_json("/api/v1/queues/q/jobs", {{"payload", 5}}), 400, "bad_request");
    expect(http.post_json("/api/v1/queues/q/jobs", {{"payload", std::string(2000, 'x')}}), 413, "payload_too_large");
    expect(http.call("POST", "/api/v1/queues/q/jobs", std::string(100'000, 'x'), "application/octet-stream"), 413,
           "payload_too_large");
    expect(http.post_json("/api/v1/queues/bad%20name/jobs", {{"payload", "x"}}), 400, "bad_request");
    expect(http.get("/api/v1/queues/q/jobs?state=sideways"), 400, "bad_request");
    expect(http.get("/api/v1/jobs/x?wait=2h"), 400, "bad_request");
    CHECK(http.get("/api/v1/stats").json()["queues"].empty());
}

TEST_CASE("with tokens, every route but /health and /ready needs one, and each role is held to its routes",
          "[integration][http]") {
    corsair::test::ScratchDir folder;
    const auto tokens = write_tokens(folder.path().string() + "/tokens",
                                     "# role token\nadmin admin-token-0123456789\nproducer producer-token-0123456\n"
                                     "worker worker-token-01234567890\n");
    Cluster cluster({"--heartbeat", "200ms", "--liveness", "3", "--http-tokens", tokens});
    const auto address = cluster.endpoints().http;
    HttpClient anonymous(address);
    HttpClient admin(address, "admin-token-0123456789");
    HttpClient producer(address, "producer-token-0123456");
    HttpClient worker(address, "worker-token-01234567890");
    HttpClient stranger(address, "not-a-token-at-all-000");

    CHECK(anonymous.get("/health").status == 200);
    CHECK(anonymous.get("/ready").status == 200);
    CHECK(anonymous.get("/api/v1/stats").status == 401);
    CHECK(anonymous.get("/metrics").status == 401);
    CHECK(anonymous.post_json("/api/v1/queues/q/jobs", {{"payload", "x"}}).status == 401);
    CHECK(stranger.get("/api/v1/stats").status == 401);

    const auto submitted = producer.post_json("/api/v1/queues/q/jobs", {{"payload", "x"}});
    REQUIRE(submitted.status == 202);
    CHECK(producer.get(job_path(submitted.json()["id"])).status == 200);
    CHECK(producer.get("/api/v1/stats").status == 403);
    CHECK(producer.call("POST", "/api/v1/queues/q/pause", "", "").status == 403);
    CHECK(worker.post_json("/api/v1/queues/q/jobs", {{"payload", "x"}}).status == 403);
    CHECK(worker.get("/api/v1/stats").status == 403);
    CHECK(producer.post_json("/api/v1/queues/q/claim", {{"wait", "100ms"}}).status == 403);
    CHECK(anonymous.post_json("/api/v1/queues/q/claim", {{"wait", "100ms"}}).status == 401);
    const auto claimed = worker.post_json("/api/v1/queues/q/claim", {{"wait", "5s"}});
    REQUIRE(claimed.status == 200);
    CHECK(worker.post_json("/api/v1/leases/" + claimed.json()["token"].get<std::string>() + "/complete",
                           {{"result", "ok"}})
              .status == 200);
    CHECK(admin.get("/api/v1/stats").status == 200);
    CHECK(admin.get("/metrics").status == 200);
    CHECK(wait_until([&] { return admin.get("/api/v1/queues/q").json()["done"] == 1; }, 10s));

    const auto metrics = admin.get("/metrics").body;
    CHECK_THAT(metrics, Catch::Contains("corsair_http_requests_total{outcome=\"auth_refused\"} 10"));

    // The file is reread on SIGHUP: a removed token stops working, a new one starts.
    write_tokens(tokens, "admin admin-token-9876543210\n");
    cluster.broker().signal(SIGHUP);
    HttpClient new_admin(address, "admin-token-9876543210");
    CHECK(wait_until([&] { return new_admin.get("/api/v1/stats").status == 200; }, 10s));
    CHECK(admin.get("/api/v1/stats").status == 401);
    CHECK(producer.post_json("/api/v1/queues/q/jobs", {{"payload", "x"}}).status == 401);
    // A broken file is refused and the tokens in force stay.
    write_tokens(tokens, "emperor short\n");
    cluster.broker().signal(SIGHUP);
    CHECK(wait_until([&] { return cluster.broker_log().find("http tokens not reloaded") != std::string::npos; }, 10s));
    CHECK(new_admin.get("/api/v1/stats").status == 200);
}

TEST_CASE("HTTP on an address other than loopback needs tokens or --http-insecure", "[integration][http]") {
    corsair::test::ScratchDir folder;
    const std::string log = folder.path().string() + "/broker.log";
    corsair::test::ChildProcess refused({CORSAIR_BROKER_BIN, "--producers", "tcp://127.0.0.1:0", "--workers",
                                         "tcp://127.0.0.1:0", "--data-dir", folder.path().string() + "/data", "--http",
                                         "0.0.0.0:0"},
                                        {}, log);
    const auto status = refused.wait_exit(10s);
    REQUIRE(status);
    CHECK(WEXITSTATUS(*status) == 2);
    std::ifstream file(log);
    const std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    CHECK_THAT(text, Catch::Contains("--http 0.0.0.0:0 is not a loopback address and no --http-tokens is given"));

    Cluster open({"--http", "0.0.0.0:0", "--http-insecure"});
    CHECK(wait_until([&] { return open.broker_log().find("WITHOUT TOKENS") != std::string::npos; }, 10s));
}

TEST_CASE("hundreds of malformed requests get 4xx JSON, are counted and change nothing", "[integration][http]") {
    Cluster cluster({"--heartbeat", "200ms", "--liveness", "3", "--max-payload", "4k"});
    HttpClient http(cluster.endpoints().http);
    const std::vector<std::pair<std::string, std::string>> bodies{
        {"application/json", ""},
        {"application/json", "[]"},
        {"application/json", "{\"payload\":"},
        {"application/json", "{\"payload\":\"x\",\"delay\":\"soon\"}"},
        {"application/json", "{\"payload\":\"x\",\"at\":\"yesterday\"}"},
        {"application/json", "{\"payload\":\"x\",\"max_attempts\":0}"},
        {"application/json", "{\"payload\":\"x\",\"delay\":\"1s\",\"at\":\"@1\"}"},
        {"application/json", "{\"payload\":[1,2]}"},
        {"application/json", "{\"payload_base64\":\"abc\"}"},
        {"application/json", "{\"payload\":\"x\",\"payload_base64\":\"eA==\"}"},
        {"application/json", "[1,2,3]"},
        {"application/json", "\"just a string\""},
        {"application/x-ndjson", "{\"payload\":\"x\"}\nnot json\n"},
        {"application/json", std::string(10'000, '[')},
    };
    int answered = 0;
    for (int round = 0; round < 20; ++round) {
        for (const auto& [type, body] : bodies) {
            const auto answer = http.call("POST", "/api/v1/queues/q/jobs", body, type);
            INFO(body.substr(0, 80) << " -> " << answer.body);
            CHECK(answer.status >= 400);
            CHECK(answer.status < 500);
            CHECK(answer.json().contains("error"));
            ++answered;
        }
        CHECK(http.get("/api/v1/queues/q/jobs?limit=0").status == 400);
        CHECK(http.call("DELETE", "/api/v1/jobs/x", "", "").status == 404);
        answered += 2;
    }
    REQUIRE(answered >= 300);
    // The broker queued nothing and still serves.
    CHECK(http.get("/api/v1/stats").json()["counters"]["jobs_submitted"] == 0);
    CHECK(http.get("/health").json()["status"] == "ok");
    const auto metrics = http.get("/metrics").body;
    CHECK_THAT(metrics, Catch::Contains("corsair_http_requests_total{outcome=\"bad_request\"} " + std::to_string(answered)));
}

TEST_CASE("a draining broker is not ready and says it is stopping, yet still answers", "[integration][http]") {
    Cluster cluster({"--heartbeat", "200ms", "--liveness", "3", "--drain-timeout", "20s"});
    HttpClient http(cluster.endpoints().http);
    const auto accepted = http.post_json("/api/v1/queues/q/jobs", {{"payload", "3000"}});
    REQUIRE(accepted.status == 202);
    const std::string id = accepted.json()["id"];
    cluster.start_worker("sleeper", {"--builtin", "sleep"}, "q", 1);
    REQUIRE(wait_until([&] { return http.get(job_path(id)).json()["state"] == "running"; }, 10s));
    cluster.broker().signal(SIGTERM);
    CHECK(wait_until([&] { return http.get("/ready").status == 503; }, 5s));
    const auto health = http.get("/health");
    CHECK(health.status == 200);
    CHECK(health.json()["status"] == "stopping");
    const auto refused = http.post_json("/api/v1/queues/q/jobs", {{"payload", "1"}});
    CHECK(refused.status == 503);
    CHECK(refused.json()["error"] == "shutting_down");
    // The running job still ends; the broker exits once it is journaled, and after a restart
    // HTTP tells it done.
    const auto status = cluster.broker().wait_exit(20s);
    REQUIRE(status);
    CHECK(WEXITSTATUS(*status) == 0);
    cluster.start_broker(cluster.endpoints());
    CHECK(HttpClient(cluster.endpoints().http).get(job_path(id)).json()["state"] == "done");
}

namespace {

// Sends `bytes` on a fresh loopback connection to `address` and returns what comes back until
// the server closes it or `timeout` passes.
// One TCP connection to the HTTP port, to send what a client library would not; closed when it
// goes away.
class RawConnection {
public:
    explicit RawConnection(const std::string& address) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
        REQUIRE(fd_ >= 0);
        const auto colon = address.rfind(':');
        sockaddr_in peer{};
        peer.sin_family = AF_INET;
        peer.sin_port = htons(static_cast<std::uint16_t>(std::stoi(address.substr(colon + 1))));
        ::inet_pton(AF_INET, address.substr(0, colon).c_str(), &peer.sin_addr);
        REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&peer), sizeof(peer)) == 0);
    }
    ~RawConnection() { close(); }
    RawConnection(const RawConnection&) = delete;
    RawConnection& operator=(const RawConnection&) = delete;

    void send(const std::string& bytes) {
        REQUIRE(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size()));
    }
    // Everything that arrives until the peer closes ("<closed>" appended) or `timeout` passes.
    std::string read_until_closed(std::chrono::milliseconds timeout) {
        std::string answer;
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) break;
            pollfd item{fd_, POLLIN, 0};
            if (::poll(&item, 1, static_cast<int>(left.count())) <= 0) break;
            char buffer[4096];
            const auto got = ::recv(fd_, buffer, sizeof(buffer), 0);
            if (got <= 0) {
                answer += "<closed>";
                break;
            }
            answer.append(buffer, static_cast<std::size_t>(got));
        }
        return answer;
    }
    void close() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }

private:
    int fd_;
};

std::string raw_exchange(const std::string& address, const std::string& bytes, std::chrono::milliseconds timeout) {
    RawConnection connection(address);
    if (!bytes.empty()) connection.send(bytes);
    return connection.read_until_closed(timeout);
}

}  // namespace

TEST_CASE("garbage, oversized request lines and headers get 4xx, and a slow client is dropped", "[integration][http]") {
    Cluster cluster({"--heartbeat", "200ms", "--liveness", "3", "--http-read-timeout", "500ms"});
    const auto address = cluster.endpoints().http;
    for (const std::string& garbage : {std::string("this is not HTTP\r\n\r\n"), std::string("GET\r\n\r\n"),
                                       std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11) + "\r\n\r\n",
                                       "GET /" + std::string(9000, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n",
                                       "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(9000, 'b') + "\r\n\r\n",
                                       std::string("POST /api/v1/queues/q/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n")}) {
        const auto answer = raw_exchange(address, garbage, 5s);
        INFO(garbage.substr(0, 60) << " -> " << answer.substr(0, 200));
        const bool is_client_error = answer.rfind("HTTP/1.1 4", 0) == 0;
        const bool is_dropped = answer == "<closed>";
        CHECK((is_client_error || is_dropped));
    }
    // Half a request, then silence: the connection is closed after --http-read-timeout.
    const auto started = std::chrono::steady_clock::now();
    const auto slow = raw_exchange(address, "GET /health HTTP/1.1\r\nHost: x\r\n", 10s);
    CHECK_THAT(slow, Catch::EndsWith("<closed>"));
    CHECK(std::chrono::steady_clock::now() - started < 5s);
    HttpClient http(address);
    CHECK(http.get("/health").json()["status"] == "ok");
    CHECK(http.get("/api/v1/stats").json()["counters"]["jobs_submitted"] == 0);
}

TEST_CASE("past --http-threads and --http-backlog a connection gets 503 overloaded at once, the others are served",
          "[integration][http]") {
    Cluster cluster({"--heartbeat", "200ms", "--liveness", "3", "--http-threads", "2", "--http-backlog", "1"});
    const auto address = cluster.endpoints().http;
    // A long poll on a job no worker takes holds a thread for its wait. Two threads and a
    // backlog of one hold three: of four such requests at least one is past both, and is
    // refused at once. (Complete requests: a refused connection is answered on the accept
    // thread, which reads its request first.)
    auto producer = cluster.make_producer();
    const auto id = producer->submit("q", "x", 10s);
    const std::string request = "GET /api/v1/jobs/" + id + "?wait=3s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    std::vector<std::unique_ptr<RawConnection>> connections;
    for (int i = 0; i < 4; ++i) {
        connections.push_back(std::make_unique<RawConnection>(address));
        connections.back()->send(request);
    }
    int refused = 0;
    int served = 0;
    for (auto& connection : connections) {
        const auto answer = connection->read_until_closed(20s);
        INFO(answer.substr(0, 300));
        if (answer.rfind("HTTP/1.1 503", 0) == 0) {
            CHECK_THAT(answer, Catch::Contains("\"overloaded\"") && Catch::Contains("--http-backlog"));
            ++refused;
        } else {
            CHECK(answer.rfind("HTTP/1.1 200", 0) == 0);  // the wait passed: the job is still pending
            CHECK_THAT(answer, Catch::Contains("\"pending\""));
            ++served;
        }
        CHECK_THAT(answer, Catch::EndsWith("<closed>"));
    }
    CHECK(refused >= 1);
    CHECK(served >= 1);
    HttpClient http(address);
    const auto metrics = http.get("/metrics");
    CHECK_THAT(metrics.body, Catch::Contains("outcome=\"overloaded\"} " + std::to_string(refused)));
}
