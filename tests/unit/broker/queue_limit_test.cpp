// --max-queues: queue names come from the network, so the number of queues is bounded.
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
using corsair::broker::test::worker_count;

namespace {

struct LimitedBroker {
    explicit LimitedBroker(std::size_t max_queues)
        : scheduler(options(max_queues), outbox,
                    std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::null_sink_mt>())) {}

    static BrokerOptions options(std::size_t max_queues) {
        BrokerOptions o;
        o.max_queues = max_queues;
        o.random_seed = 42;
        return o;
    }
    void submit(const std::string& id, const std::string& queue) {
        scheduler.on_producer_message("P", p::make_submit(id, queue, false, p::make_payload("x")), now);
    }

    RecordingOutbox outbox;
    Scheduler scheduler;
    Scheduler::TimePoint now{std::chrono::seconds(1000)};
};

}  // namespace

TEST_CASE("a SUBMIT to a new queue past --max-queues is refused, existing queues still take jobs",
          "[broker][scheduler][queue_limit]") {
    LimitedBroker b(2);
    b.submit("a", "q1");
    b.submit("b", "q2");
    b.submit("c", "q3");
    b.submit("d", "q1");
    auto accepted = b.outbox.to_producer_of<p::Accepted>("P");
    REQUIRE(accepted.size() == 3);
    CHECK(accepted[2].id == "d");
    auto errors = b.outbox.to_producer_of<p::Error>("P");
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].code == p::ErrorCode::too_many_queues);
    CHECK(errors[0].id == "c");
    CHECK(errors[0].command == "SUBMIT");
    CHECK(errors[0].message.find("q3") != std::string::npos);
    CHECK(b.scheduler.counters().queue_limit_refusals == 1);
    CHECK(b.scheduler.stats(b.now).queues.size() == 2);
    CHECK_FALSE(find_job(b.scheduler, b.outbox, "c", b.now).has_value());
}

TEST_CASE("a READY naming new queues past --max-queues is refused whole, one within the limit is taken",
          "[broker][scheduler][queue_limit]") {
    LimitedBroker b(2);
    b.submit("a", "q1");
    b.scheduler.on_worker_message("W", p::Ready{{"q1", "q2", "q3"}, 1, "w"}, b.now);
    auto errors = b.outbox.to_worker_of<p::Error>("W");
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].code == p::ErrorCode::too_many_queues);
    CHECK(errors[0].command == "READY");
    CHECK(errors[0].id == "w");  // the worker's name, as in READY's other refusals (protocol.md §6)
    CHECK(worker_count(b.scheduler, b.now) == 0);
    CHECK(b.outbox.to_worker_of<p::Job>("W").empty());
    // Duplicates count once: q1 exists, q2 is the one new queue that fits.
    b.scheduler.on_worker_message("W", p::Ready{{"q1", "q2", "q2"}, 1, "w"}, b.now);
    CHECK(b.outbox.to_worker_of<p::Error>("W").empty());
    CHECK(worker_count(b.scheduler, b.now) == 1);
    CHECK(b.outbox.to_worker_of<p::Job>("W").size() == 1);
    CHECK(b.scheduler.counters().queue_limit_refusals == 1);
}

TEST_CASE("a QUEUE request naming a new queue past --max-queues is refused, 0 means no limit",
          "[broker][scheduler][queue_limit]") {
    LimitedBroker b(1);
    b.submit("a", "q1");
    p::QueueSettings settings;
    settings.queue = "q2";
    settings.should_create = true;
    b.scheduler.on_producer_message("P", p::QueueSettings(settings), b.now);
    auto errors = b.outbox.to_producer_of<p::Error>("P");
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].code == p::ErrorCode::too_many_queues);
    CHECK(errors[0].id == "q2");
    CHECK(errors[0].command == "QUEUE");
    settings.queue = "q1";
    b.scheduler.on_producer_message("P", p::QueueSettings(settings), b.now);
    CHECK(b.outbox.to_producer_of<p::QueueSettings>("P").size() == 1);

    LimitedBroker unlimited(0);
    for (int i = 0; i < 100; ++i) unlimited.submit("j" + std::to_string(i), "q" + std::to_string(i));
    CHECK(unlimited.outbox.to_producer_of<p::Accepted>("P").size() == 100);
    CHECK(unlimited.scheduler.counters().queue_limit_refusals == 0);
}
