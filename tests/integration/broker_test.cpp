// End-to-end behaviour of the broker with real workers and producers over TCP loopback.
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <numeric>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <zmq.hpp>

#include "child_process.hpp"
#include "cluster.hpp"
#include "corsair/protocol/protocol.hpp"
#include "deadline.hpp"
#include "scratch_dir.hpp"

using namespace std::chrono_literals;
using corsair::test::Cluster;
namespace p = corsair::protocol;

namespace {

// Pumps `producer` until every id in `ids` has a result or `timeout` passes; counts results per id.
std::map<std::string, int> collect_results(corsair::producer::Producer& producer, const std::set<std::string>& ids,
                                           std::chrono::milliseconds timeout,
                                           std::map<std::string, corsair::producer::Outcome>* outcomes = nullptr) {
    std::map<std::string, int> seen;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::size_t distinct = 0;
    while (distinct < ids.size() && std::chrono::steady_clock::now() < deadline) {
        for (auto& event : producer.poll(100ms)) {
            if (event.kind != corsair::producer::Event::Kind::result) continue;
            if (seen[event.id]++ == 0 && ids.count(event.id)) ++distinct;
            if (outcomes) (*outcomes)[event.id] = event.outcome;
        }
    }
    return seen;
}

// Decodes every message arriving on a raw DEALER and hands it to `handle`, until `is_done()`
// holds or `timeout` passes.
template <class IsDone, class Handle>
void receive_raw_until(zmq::socket_t& socket, std::chrono::milliseconds timeout, IsDone&& is_done, Handle&& handle) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!is_done() && std::chrono::steady_clock::now() < deadline) {
        zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLIN, 0};
        zmq::poll(&item, 1, 100ms);
        p::Frames frames;
        while (p::receive_frames(socket, frames)) {
            auto decoded = p::decode(frames);
            REQUIRE(decoded);
            handle(decoded.value());
        }
    }
}

}  // namespace

TEST_CASE("three workers complete 1,000 jobs and each result arrives exactly once", "[integration][broker]") {
    Cluster cluster;
    for (auto name : {"w1", "w2", "w3"}) cluster.start_worker(name, {"--builtin", "echo"}, "q", 4);
    REQUIRE(cluster.wait_for_workers(3));

    auto producer = cluster.make_producer();
    std::set<std::string> ids;
    std::map<std::string, std::string> payloads;
    for (int i = 0; i < 1000; ++i) {
        const std::string payload = "job-" + std::to_string(i);
        auto id = producer->submit_async("q", payload, true);
        ids.insert(id);
        payloads[id] = payload;
    }
    REQUIRE(ids.size() == 1000);
    std::map<std::string, corsair::producer::Outcome> outcomes;
    auto seen = collect_results(*producer, ids, 60s, &outcomes);
    REQUIRE(seen.size() == 1000);
    for (const auto& [id, count] : seen) {
        CHECK(ids.count(id) == 1);
        CHECK(count == 1);
        CHECK(outcomes[id].state == p::JobState::done);
        CHECK(outcomes[id].result == payloads[id]);
    }
    auto stats = cluster.stats();
    REQUIRE(stats);
    CHECK(stats->counters.at("jobs_done") == 1000);
    CHECK(stats->counters.at("stale_completions") == 0);
    // All three workers took part, and their completions add up to the 1,000.
    REQUIRE(stats->workers.size() == 3);
    std::uint64_t by_workers = 0;
    for (const auto& worker : stats->workers) {
        CHECK(worker.done > 0);
        by_workers += worker.done;
    }
    CHECK(by_workers == 1000);
    // What /metrics shows of it: the queue's counters and histograms, the journal's syncs.
    REQUIRE(stats->queues.size() == 1);
    const p::QueueStats& queue = stats->queues[0];
    CHECK(queue.submitted == 1000);
    CHECK(queue.done == 1000);
    const auto count_of = [](const std::optional<p::Histogram>& h) {
        return h ? std::accumulate(h->counts.begin(), h->counts.end(), std::uint64_t{0}) : 0;
    };
    CHECK(count_of(queue.wait) == 1000);
    CHECK(count_of(queue.run) == 1000);
    CHECK(count_of(stats->journal_fsync) >= 1);
    REQUIRE(stats->journal_records_per_fsync);
    CHECK(stats->journal_records_per_fsync->sum >= 2000);  // every submit and every done was durable
    CHECK(stats->last_job_ended_at_ms);
    CHECK(stats->broker_instance != 0);
}

TEST_CASE("200 malformed messages leave the broker up and serving", "[integration][broker]") {
    Cluster cluster;
    zmq::context_t context;
    std::map<std::string, zmq::socket_t> raw;
    int sent = 0;
    auto send_raw = [&](zmq::socket_t& socket, std::vector<std::string> frames) {
        for (std::size_t i = 0; i < frames.size(); ++i) {
            socket.send(zmq::buffer(frames[i]), i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
        }
        ++sent;
    };
    const std::string sig("CSR\x01", 4);
    const std::string bad_version("CSR\x09", 4);
    // A valid SUBMIT header, to pair with broken framing.
    auto valid = p::encode(p::make_submit("x", "q", false, p::make_payload("hi")));
    const std::string submit_header(static_cast<const char*>(valid[2].data()), valid[2].size());
    // msgpack array header claiming 2^32-1 elements in 5 bytes.
    const std::string huge_array("\xdd\xff\xff\xff\xff", 5);
    const std::string huge_map("\xdf\xff\xff\xff\xff", 5);
    const std::vector<std::vector<std::string>> kinds = {
        {"garbage"},
        {"", ""},
        {sig},
        {bad_version, std::string(1, '\x01'), submit_header, "p"},
        {"CSR", std::string(1, '\x01'), submit_header, "p"},
        {sig, std::string(1, '\x7f'), "\x80"},
        {sig, std::string("\x01\x01", 2), "\x80"},
        {sig, std::string(1, '\x01'), submit_header},               // SUBMIT without payload frame
        {sig, std::string(1, '\x04'), "\x81\xa2id\xa1x", "extra"},  // STATUS with a payload frame
        {sig, std::string(1, '\x01'), "not msgpack at all", "p"},
        {sig, std::string(1, '\x01'), "\x93\x01\x02\x03", "p"},     // array, not map
        {sig, std::string(1, '\x01'), huge_array, "p"},
        {sig, std::string(1, '\x01'), huge_map, "p"},
        {sig, std::string(1, '\x01'), "\x81\xa2id\x05", "p"},         // id is an int
        {sig, std::string(1, '\x01'), "\x80", "p"},                   // no fields
        {sig, std::string(1, '\x10'), "\x81\xa8" "capacity\x00", ""},  // READY with junk
        {sig, std::string(1, '\x12'), "\x82\xa2id\xa1x\xa7" "attempt\xa1y", ""},
        {sig, std::string(1, '\x01'), submit_header + "trailing", "p"},
        {sig, std::string(1, '\x11'), "\x80", "p"},  // JOB sent to the broker
        {sig, std::string(1, '\x14'), "\x80"},       // HEARTBEAT on the producer socket
    };
    for (const std::string side : {"producers", "workers"}) {
        raw.emplace(side, zmq::socket_t(context, zmq::socket_type::dealer));
        raw.at(side).set(zmq::sockopt::linger, 0);
        raw.at(side).connect(side == "producers" ? cluster.endpoints().producers : cluster.endpoints().workers);
    }
    for (int i = 0; i < 200; ++i) {
        const auto& frames = kinds[static_cast<std::size_t>(i) % kinds.size()];
        send_raw(raw.at(i % 2 == 0 ? "producers" : "workers"), frames);
    }
    REQUIRE(sent == 200);
    // Every malformed message is answered with a typed ERROR: wait until 100 replies per side.
    for (auto& [side, socket] : raw) {
        int errors = 0;
        receive_raw_until(socket, 10s, [&] { return errors >= 100; }, [&](const p::Message& message) {
            if (std::holds_alternative<p::Error>(message)) ++errors;
        });
        CHECK(errors == 100);
    }
    CHECK(cluster.broker().is_running());
    CHECK(cluster.counter("malformed_messages") + cluster.counter("unexpected_commands") +
              cluster.counter("stale_completions") >= 190);

    cluster.start_worker("w1", {"--builtin", "echo"});
    REQUIRE(cluster.wait_for_workers(1));
    auto producer = cluster.make_producer();
    auto id = producer->submit_async("q", "still serving", true);
    auto seen = collect_results(*producer, {id}, 10s);
    CHECK(seen[id] == 1);
}

TEST_CASE("with accept_within_ms a quick job's RESULT stands for its ACCEPTED, a slow job's ACCEPTED still comes",
          "[integration][broker]") {
    Cluster cluster;
    cluster.start_worker("w1", {"--builtin", "echo"}, "q", 8);
    REQUIRE(cluster.wait_for_workers(1));
    zmq::context_t context;
    zmq::socket_t producer(context, zmq::socket_type::dealer);
    producer.set(zmq::sockopt::linger, 0);
    producer.connect(cluster.endpoints().producers);

    // No worker serves "idle": this job cannot end, so its ACCEPTED must come after 50 ms. It goes
    // first: the broker counts the 50 ms from its loop turn's clock, read when its poll returned,
    // which is after this SUBMIT arrived only if no earlier message of the batch was being read
    // (under TSan, reading 300 SUBMITs first once made it 40 ms).
    auto slow = p::make_submit("slow", "idle", true, p::make_payload("x"));
    slow.accept_within_ms = 50;
    const auto slow_sent = std::chrono::steady_clock::now();
    REQUIRE(p::send_message(producer, std::move(slow)) == p::SendStatus::sent);
    constexpr int kJobs = 300;
    for (int i = 0; i < kJobs; ++i) {
        auto submit = p::make_submit("quick-" + std::to_string(i), "q", true, p::make_payload("x"));
        submit.accept_within_ms = p::kMaxAcceptWithinMs;  // far longer than an echo job takes
        REQUIRE(p::send_message(producer, std::move(submit)) == p::SendStatus::sent);
    }

    std::map<std::string, int> results;
    std::set<std::string> accepted;
    std::set<std::string> accepted_before_result;
    std::optional<std::chrono::steady_clock::duration> slow_accepted_after;
    receive_raw_until(
        producer, 30s, [&] { return results.size() >= kJobs && slow_accepted_after; },
        [&](const p::Message& message) {
            if (auto* result = std::get_if<p::JobResult>(&message)) {
                ++results[result->id];
                CHECK(result->state == p::JobState::done);
            } else if (auto* ack = std::get_if<p::Accepted>(&message)) {
                CHECK_FALSE(ack->existed);
                accepted.insert(ack->id);
                if (!results.count(ack->id)) accepted_before_result.insert(ack->id);
                if (ack->id == "slow") slow_accepted_after = std::chrono::steady_clock::now() - slow_sent;
            } else {
                FAIL("unexpected message " << p::to_string(p::command_of(message)));
            }
        });
    REQUIRE(results.size() == kJobs);
    for (const auto& [id, count] : results) CHECK(count == 1);
    REQUIRE(slow_accepted_after);
    CHECK(*slow_accepted_after >= 50ms);
    CHECK(results.count("slow") == 0);
    // Every quick job was acknowledged exactly once: by its RESULT alone, or (on a machine
    // stalled for a minute) by an ACCEPTED that came first. Never an ACCEPTED after its RESULT.
    CHECK(accepted_before_result == accepted);
    CHECK(cluster.counter("accepts_folded") + (accepted.size() - 1) == kJobs);
    CHECK(cluster.counter("accepts_folded") > 0);
}

TEST_CASE("SIGTERM stops the broker cleanly and workers are told", "[integration][broker]") {
    Cluster cluster;
    cluster.start_worker("w1", {"--builtin", "echo"});
    REQUIRE(cluster.wait_for_workers(1));
    cluster.broker().signal(SIGTERM);
    auto status = cluster.broker().wait_exit(10s);
    REQUIRE(status);
    CHECK(WIFEXITED(*status));
    CHECK(WEXITSTATUS(*status) == 0);
    // The broker said DISCONNECT before leaving; the worker logged it and stays up to reconnect.
    CHECK(corsair::test::wait_until(
        [&] { return cluster.worker_log("w1").find("broker disconnected us") != std::string::npos; }, 5s, 20ms));
    CHECK(cluster.worker("w1").is_running());
}

TEST_CASE("the tests' scratch folders live under the build tree, which CTest empties before each run",
          "[integration][harness]") {
    // A test killed by its timeout cannot remove its folders; under /tmp they would pile up.
    const char* tmpdir = std::getenv("TMPDIR");
    REQUIRE(tmpdir != nullptr);
    CHECK(std::string(tmpdir).find("/test-scratch") != std::string::npos);
    corsair::test::ScratchDir scratch;
    CHECK(scratch.path().parent_path() == std::filesystem::path(tmpdir));
}

TEST_CASE("a second worker under an --id already connected is refused, says so, and gets in once the first is gone",
          "[integration][broker]") {
    Cluster cluster;
    auto& first = cluster.start_worker("dup", {"--builtin", "echo"});
    REQUIRE(cluster.wait_for_workers(1));
    // Another process under the same --id (the harness names its log after the first argument).
    corsair::test::ChildProcess second({CORSAIR_WORKER_BIN, "--broker", cluster.endpoints().workers, "--queue", "q",
                                        "--id", "dup", "--builtin", "echo"},
                                       {}, cluster.log_dir() + "/worker-second.log",
                                       corsair::test::ChildProcess::Stdout::discarded);
    CHECK(corsair::test::wait_until(
        [&] {
            return cluster.worker_log("second").find("another connected worker is named dup") != std::string::npos;
        },
        10s, 20ms));
    CHECK(cluster.counter("workers_refused") >= 1);
    auto stats = cluster.stats();
    REQUIRE(stats);
    REQUIRE(stats->workers.size() == 1);
    CHECK(cluster.counter("workers_joined") == 1);
    CHECK(second.is_running());  // it keeps trying: the name may be its own predecessor's

    first.kill_and_reap();
    // Declared dead within the liveness window, then the second is admitted on its next try.
    CHECK(corsair::test::wait_until([&] { return cluster.counter("workers_joined") == 2; }, 15s, 50ms));
    auto producer = cluster.make_producer();
    const auto id = producer->submit_async("q", "still served", true);
    CHECK(producer->wait_result(id, 10s).result == "still served");
}

namespace {

// The environment a running process has now: a re-executed broker has the one it exec'd with.
std::string environment_of(pid_t pid) {
    std::ifstream file("/proc/" + std::to_string(pid) + "/environ", std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(file), {});
}

}  // namespace

TEST_CASE("the broker's heap is on huge pages only when CORSAIR_HUGE_PAGES=1 asks, and a bad value is refused",
          "[integration][broker]") {
    const corsair::test::ScratchDir scratch("huge-pages");
    const std::vector<std::string> argv{CORSAIR_BROKER_BIN, "--producers", "tcp://127.0.0.1:*", "--workers",
                                        "tcp://127.0.0.1:*", "--data-dir", "", "--http", ""};
    SECTION("off by default: no re-exec with glibc's hugetlb tunable") {
        corsair::test::ChildProcess broker(argv, {}, (scratch / "broker.log").string());
        REQUIRE(broker.wait_for_line("corsair-broker ready", 10s));
        CHECK(environment_of(broker.pid()).find("glibc.malloc.hugetlb") == std::string::npos);
    }
    SECTION("CORSAIR_HUGE_PAGES=1: re-executed with it, when the kernel offers transparent huge pages") {
        std::ifstream setting("/sys/kernel/mm/transparent_hugepage/enabled");
        std::string offered;
        std::getline(setting, offered);
        corsair::test::ChildProcess broker(argv, {"CORSAIR_HUGE_PAGES=1"}, (scratch / "broker.log").string());
        REQUIRE(broker.wait_for_line("corsair-broker ready", 10s));
        const bool has_tunable = environment_of(broker.pid()).find("glibc.malloc.hugetlb=1") != std::string::npos;
        CHECK(has_tunable == (!offered.empty() && offered.find("[never]") == std::string::npos));
    }
    SECTION("CORSAIR_HUGE_PAGES=yes: exit 2 naming the variable and the value") {
        corsair::test::ChildProcess broker(argv, {"CORSAIR_HUGE_PAGES=yes"}, (scratch / "broker.log").string());
        const auto status = broker.wait_exit(10s);
        REQUIRE(status);
        CHECK(WIFEXITED(*status));
        CHECK(WEXITSTATUS(*status) == 2);
        std::ifstream log((scratch / "broker.log").string());
        const std::string text(std::istreambuf_iterator<char>(log), {});
        CHECK(text.find("CORSAIR_HUGE_PAGES must be 0 or 1, not 'yes'") != std::string::npos);
    }
}
