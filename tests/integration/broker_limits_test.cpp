// The limits that protect the broker, with the real binaries: what a peer sees at each one
// (a typed ERROR, or its message dropped), and that nothing else is lost and the broker goes on.
// The table of limits is in docs/jobs.md ("Limits that protect the broker").
#include <map>
#include <set>
#include <string>

#include <catch2/catch.hpp>
#include <zmq.hpp>

#include "cluster.hpp"
#include "corsair/protocol/protocol.hpp"
#include "deadline.hpp"
#include "http_client.hpp"

using namespace std::chrono_literals;
using corsair::test::Cluster;
using corsair::test::wait_until;
namespace p = corsair::protocol;

namespace {

zmq::socket_t raw_producer(zmq::context_t& context, const Cluster& cluster) {
    zmq::socket_t socket(context, zmq::socket_type::dealer);
    socket.set(zmq::sockopt::linger, 0);
    socket.connect(cluster.endpoints().producers);
    return socket;
}

void send_raw(zmq::socket_t& socket, const std::vector<std::string>& frames) {
    for (std::size_t i = 0; i < frames.size(); ++i) {
        socket.send(zmq::buffer(frames[i]), i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
    }
}

// The messages arriving on a raw DEALER until `count` have come or `timeout` passes.
std::vector<p::Message> receive_raw(zmq::socket_t& socket, std::size_t count, std::chrono::milliseconds timeout) {
    std::vector<p::Message> messages;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (messages.size() < count && std::chrono::steady_clock::now() < deadline) {
        zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLIN, 0};
        zmq::poll(&item, 1, 100ms);
        p::Frames frames;
        while (p::receive_frames(socket, frames)) {
            auto decoded = p::decode(frames);
            REQUIRE(decoded);
            messages.push_back(std::move(decoded.value()));
        }
    }
    return messages;
}

p::Submit held_submit(const std::string& id, std::uint64_t accept_within_ms) {
    auto submit = p::make_submit(id, "q", true, p::make_payload("x"));
    submit.accept_within_ms = accept_within_ms;
    return submit;
}

// Counts the results per id `producer` reports until every id in `ids` has one or `timeout` passes.
std::map<std::string, int> collect_results(corsair::producer::Producer& producer, const std::set<std::string>& ids,
                                           std::chrono::milliseconds timeout, int* errors) {
    std::map<std::string, int> seen;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::size_t distinct = 0;
    while (distinct < ids.size() && std::chrono::steady_clock::now() < deadline) {
        for (auto& event : producer.poll(100ms)) {
            if (event.kind == corsair::producer::Event::Kind::error) ++*errors;
            if (event.kind != corsair::producer::Event::Kind::result) continue;
            if (seen[event.id]++ == 0 && ids.count(event.id)) ++distinct;
        }
    }
    return seen;
}

}  // namespace

TEST_CASE("a producer connection at --max-in-flight gets too_many_in_flight for a new job, naming the limit",
          "[integration][limits]") {
    Cluster cluster({"--heartbeat", "200ms", "--liveness", "3", "--max-in-flight", "2"});
    zmq::context_t context;
    auto producer = raw_producer(context, cluster);
    // No worker: each ACCEPTED is held for its 10 s, so the first two stay in flight.
    for (const char* id : {"a", "b", "c"}) REQUIRE(p::send_message(producer, held_submit(id, 10'000)) == p::SendStatus::sent);
    auto messages = receive_raw(producer, 1, 5s);
    REQUIRE(messages.size() == 1);
    auto* error = std::get_if<p::Error>(&messages[0]);
    REQUIRE(error != nullptr);
    CHECK(error->code == p::ErrorCode::too_many_in_flight);
    CHECK(error->id == "c");
    CHECK(error->command == "SUBMIT");
    CHECK(error->max_in_flight == 2u);
    CHECK(cluster.counter("in_flight_refusals") == 1);

    // Another connection has a count of its own; the broker goes on.
    auto other = raw_producer(context, cluster);
    REQUIRE(p::send_message(other, held_submit("d", 0)) == p::SendStatus::sent);
    auto answer = receive_raw(other, 1, 5s);
    REQUIRE(answer.size() == 1);
    CHECK(std::holds_alternative<p::Accepted>(answer[0]));
    auto stats = cluster.stats();
    REQUIRE(stats);
    std::uint64_t pending = 0;
    for (const auto& queue : stats->queues) pending += queue.pending;
    CHECK(pending == 3);  // a, b and d; c was not queued
}

TEST_CASE("a producer library with a window over --max-in-flight learns the limit and loses no job",
          "[integration][limits]") {
    Cluster cluster({"--heartbeat", "200ms", "--liveness", "3", "--max-in-flight", "5"});
    zmq::context_t context;
    corsair::producer::ProducerOptions options;
    options.broker_endpoint = cluster.endpoints().producers;
    options.window = 10;
    options.accept_within = 1s;
    options.resend_after = 200ms;
    corsair::producer::Producer producer(context, options);
    std::set<std::string> ids;
    for (int i = 0; i < 10; ++i) ids.insert(producer.submit_async("q", "job-" + std::to_string(i), true));
    // No worker yet: five ACCEPTEDs are held, the other five SUBMITs refused.
    REQUIRE(wait_until([&] {
        producer.poll(10ms);
        return cluster.counter("in_flight_refusals") >= 5;
    }, 10s, 20ms));
    cluster.start_worker("w", {"--builtin", "echo"}, "q", 4);
    int errors = 0;
    auto seen = collect_results(producer, ids, 20s, &errors);
    CHECK(seen.size() == 10);
    for (const auto& [id, count] : seen) CHECK(count == 1);
    CHECK(errors == 0);  // the refusals never reached the caller
    CHECK(producer.resubmissions() >= 5);
    CHECK(cluster.counter("jobs_submitted") == 10);
}

TEST_CASE("a worker past --max-workers is refused with too_many_workers, retries, and joins once there is room",
          "[integration][limits]") {
    Cluster cluster({"--heartbeat", "200ms", "--liveness", "3", "--max-workers", "1"});
    auto& first = cluster.start_worker("first", {"--builtin", "echo"});
    REQUIRE(cluster.wait_for_workers(1));
    cluster.start_worker("second", {"--builtin", "echo"});
    REQUIRE(wait_until([&] { return cluster.counter("worker_limit_refusals") >= 3; }, 15s, 20ms));
    CHECK_THAT(cluster.worker_log("second"), Catch::Contains("--max-workers"));
    // Logged once a minute, not once per refused READY.
    const std::string log = cluster.broker_log();
    std::size_t lines = 0;
    for (std::size_t at = log.find("workers refused"); at != std::string::npos; at = log.find("workers refused", at + 1)) {
        ++lines;
    }
    CHECK(lines == 1);
    auto stats = cluster.stats();
    REQUIRE(stats);
    REQUIRE(stats->workers.size() == 1);
    CHECK(stats->workers[0].name == "first");

    // The connected worker goes on serving.
    auto producer = cluster.make_producer();
    const std::string id = producer->submit_async("q", "still serving", true);
    CHECK(producer->wait_result(id, 10s).state == p::JobState::done);

    first.kill_and_reap();
    REQUIRE(wait_until([&] {
        auto now = cluster.stats();
        return now && now->workers.size() == 1 && now->workers[0].name == "second";
    }, 15s, 50ms));
}

TEST_CASE("a header frame over 64 KiB gets bad_header and the connection goes on", "[integration][limits]") {
    Cluster cluster;
    zmq::context_t context;
    auto producer = raw_producer(context, cluster);
    // A map {"x": <70,000 bytes>} as a SUBMIT header (msgpack fixmap 1, fixstr "x", str32).
    std::string header("\x81\xa1x\xdb", 4);
    const std::uint32_t size = 70'000;
    for (int shift = 24; shift >= 0; shift -= 8) header.push_back(static_cast<char>((size >> shift) & 0xff));
    header.append(size, 'h');
    send_raw(producer, {std::string("CSR\x01", 4), std::string(1, '\x01'), header, "payload"});
    auto messages = receive_raw(producer, 1, 5s);
    REQUIRE(messages.size() == 1);
    auto* error = std::get_if<p::Error>(&messages[0]);
    REQUIRE(error != nullptr);
    CHECK(error->code == p::ErrorCode::bad_header);
    CHECK_THAT(error->message, Catch::Contains("too large"));
    CHECK(cluster.counter("malformed_messages") == 1);

    REQUIRE(p::send_message(producer, held_submit("after", 0)) == p::SendStatus::sent);
    auto answer = receive_raw(producer, 1, 5s);
    REQUIRE(answer.size() == 1);
    CHECK(std::holds_alternative<p::Accepted>(answer[0]));
}

TEST_CASE("a frame over the broker's ZMQ_MAXMSGSIZE is dropped with its connection, other peers see nothing",
          "[integration][limits]") {
    Cluster cluster;
    cluster.start_worker("w", {"--builtin", "echo"});
    REQUIRE(cluster.wait_for_workers(1));
    auto producer = cluster.make_producer();
    const std::string before = producer->submit_async("q", "before", true);

    zmq::context_t context;
    auto oversized = raw_producer(context, cluster);
    // A STATS answered first: the connection is up before the oversized message goes out.
    REQUIRE(p::send_message(oversized, p::StatsRequest{}) == p::SendStatus::sent);
    REQUIRE(receive_raw(oversized, 1, 5s).size() == 1);
    const std::string payload(p::broker_max_message_bytes(p::kDefaultMaxPayloadBytes) + 1, 'p');
    auto big = p::encode(p::make_submit("too-big", "q", false, p::make_payload(payload)));
    REQUIRE(p::send_frames(oversized, big) == p::SendStatus::sent);
    // libzmq reads the frame's size first and cuts that connection: the broker never sees the
    // message, so there is no reply and nothing is queued or counted.
    CHECK(producer->wait_result(before, 10s).state == p::JobState::done);
    const std::string after = producer->submit_async("q", "after", true);
    CHECK(producer->wait_result(after, 10s).state == p::JobState::done);
    CHECK(cluster.broker().is_running());
    CHECK_THROWS_AS(producer->status("too-big", 5s), corsair::producer::ProducerError);
    CHECK(cluster.counter("jobs_submitted") == 2);
    CHECK(cluster.counter("malformed_messages") == 0);
    CHECK(cluster.counter("workers_dead") == 0);
}

TEST_CASE("an HTTP batch of more than 10,000 jobs is refused whole with 400 and queues nothing",
          "[integration][limits][http]") {
    Cluster cluster;
    corsair::test::HttpClient http(cluster.endpoints().http);
    std::string body;
    for (int i = 0; i < 10'001; ++i) body += "{\"payload\": \"x\"}\n";
    const auto answer = http.call("POST", "/api/v1/queues/q/jobs", body, "application/x-ndjson");
    CHECK(answer.status == 400);
    CHECK(answer.json()["error"] == "bad_request");
    CHECK_THAT(answer.json()["message"].get<std::string>(), Catch::Contains("at most 10000 jobs"));
    CHECK(cluster.counter("jobs_submitted") == 0);
}
