// --max-payload: the broker refuses a payload over it at once and names it, ends a result over it
// as a permanent FAIL, and tells workers (HEARTBEAT) and producers (ERROR, STATS_REPLY) its value.
#include <catch2/catch.hpp>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include "corsair/broker/scheduler.hpp"
#include "recording_outbox.hpp"
#include "scheduler_fixture.hpp"

namespace p = corsair::protocol;
using corsair::broker::BrokerOptions;
using corsair::broker::Scheduler;
using corsair::broker::test::RecordingOutbox;
using corsair::broker::test::find_job;

namespace {

constexpr std::size_t kLimit = 1000;

struct SmallPayloadBroker {
    SmallPayloadBroker()
        : scheduler(options(), outbox,
                    std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::null_sink_mt>())) {}

    static BrokerOptions options() {
        BrokerOptions o;
        o.max_payload_bytes = kLimit;
        o.random_seed = 42;
        return o;
    }
    void submit(const std::string& id, std::size_t payload_bytes) {
        scheduler.on_producer_message("P", p::make_submit(id, "q", true, p::make_payload(std::string(payload_bytes, 'x'))),
                                      now);
    }
    void ready(std::uint32_t capacity, std::uint32_t batch = 0) {
        scheduler.on_worker_message("W", p::Ready{{"q"}, capacity, "W", batch}, now);
    }
    std::vector<std::string> job_ids() {
        std::vector<std::string> ids;
        for (auto& job : outbox.to_worker_of<p::Job>("W")) ids.push_back(job.id);
        return ids;
    }

    RecordingOutbox outbox;
    Scheduler scheduler;
    Scheduler::TimePoint now{std::chrono::seconds(1000)};
};

}  // namespace

TEST_CASE("a SUBMIT over --max-payload is refused at once with payload_too_large naming the limit",
          "[broker][scheduler][payload_limit]") {
    SmallPayloadBroker b;
    b.submit("big", kLimit + 1);
    b.submit("fits", kLimit);
    auto errors = b.outbox.to_producer_of<p::Error>("P");
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].code == p::ErrorCode::payload_too_large);
    CHECK(errors[0].id == "big");
    CHECK(errors[0].command == "SUBMIT");
    CHECK(errors[0].max_payload_bytes == kLimit);
    CHECK(errors[0].message == "payload is 1001 bytes; this broker takes at most 1000 bytes (--max-payload)");
    auto accepted = b.outbox.to_producer_of<p::Accepted>("P");
    REQUIRE(accepted.size() == 1);
    CHECK(accepted[0].id == "fits");
    CHECK_FALSE(find_job(b.scheduler, b.outbox, "big", b.now).has_value());
    CHECK(b.scheduler.counters().payload_refusals == 1);
}

TEST_CASE("a DONE over --max-payload fails the job for good and frees the worker's credit",
          "[broker][scheduler][payload_limit]") {
    SmallPayloadBroker b;
    b.ready(1);
    b.submit("j1", 10);
    b.submit("j2", 10);
    REQUIRE(b.job_ids() == std::vector<std::string>{"j1"});
    b.scheduler.on_worker_message("W", p::Done{"j1", 1, p::make_payload(std::string(kLimit + 1, 'r'))}, b.now);
    auto results = b.outbox.to_producer_of<p::JobResult>("P");
    REQUIRE(results.size() == 1);
    CHECK(results[0].id == "j1");
    CHECK(results[0].state == p::JobState::failed);
    CHECK(results[0].attempt == 1);  // permanent: its other attempts are not spent on the same result
    CHECK(results[0].error ==
          "result too large: 1001 bytes, over the broker's limit of 1000 bytes (--max-payload)");
    CHECK(b.job_ids() == std::vector<std::string>{"j2"});  // the credit came back
    CHECK(b.scheduler.counters().results_too_large == 1);
    SECTION("a result of exactly the limit is a result") {
        b.scheduler.on_worker_message("W", p::Done{"j2", 1, p::make_payload(std::string(kLimit, 'r'))}, b.now);
        auto done = b.outbox.to_producer_of<p::JobResult>("P");
        REQUIRE(done.size() == 1);
        CHECK(done[0].state == p::JobState::done);
    }
}

TEST_CASE("a DONES entry over --max-payload fails only its own job", "[broker][scheduler][payload_limit]") {
    SmallPayloadBroker b;
    b.submit("small", 10);
    b.submit("large", 10);
    b.ready(2, 2);  // both pending: they go out as one JOBS
    REQUIRE(b.outbox.to_worker_of<p::Jobs>("W").size() == 1);
    p::Dones dones;
    dones.done.push_back(p::Done{"small", 1, p::make_payload("ok")});
    dones.done.push_back(p::Done{"large", 1, p::make_payload(std::string(kLimit + 1, 'r'))});
    b.scheduler.on_worker_message("W", std::move(dones), b.now);
    auto small = find_job(b.scheduler, b.outbox, "small", b.now);
    auto large = find_job(b.scheduler, b.outbox, "large", b.now);
    REQUIRE(small);
    REQUIRE(large);
    CHECK(small->state == p::JobState::done);
    CHECK(large->state == p::JobState::failed);
}

TEST_CASE("the broker tells workers its --max-payload in every HEARTBEAT, and producers in STATS_REPLY",
          "[broker][scheduler][payload_limit]") {
    SmallPayloadBroker b;
    b.ready(1);
    auto first = b.outbox.to_worker_of<p::Heartbeat>("W");
    REQUIRE(first.size() == 1);
    CHECK(first[0].max_payload_bytes == kLimit);
    b.scheduler.tick(b.now);
    auto ticked = b.outbox.to_worker_of<p::Heartbeat>("W");
    REQUIRE(ticked.size() == 1);
    CHECK(ticked[0].max_payload_bytes == kLimit);
    CHECK(b.scheduler.stats(b.now).max_payload_bytes == kLimit);
}
