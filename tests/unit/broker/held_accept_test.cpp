// SUBMIT accept_within_ms: the ACCEPTED of a producer that waits for the result may wait for the
// RESULT and be left out (docs/protocol.md §5.1).
#include <catch2/catch.hpp>

#include "scheduler_fixture.hpp"

namespace p = corsair::protocol;
using corsair::broker::test::Fixture;
using namespace std::chrono_literals;

namespace {

p::Submit lazy_submit(const std::string& id, std::uint64_t accept_within_ms, bool wants_result = true) {
    auto submit = p::make_submit(id, "q", wants_result, p::make_payload("payload-" + id));
    submit.accept_within_ms = accept_within_ms;
    return submit;
}

}  // namespace

TEST_CASE("a RESULT sent within accept_within_ms stands for the ACCEPTED", "[broker][scheduler][accept]") {
    Fixture f;
    f.submit_message(lazy_submit("a", 100));
    CHECK(f.outbox.to_producer_of<p::Accepted>("P").empty());
    f.ready("W", {"q"}, 1);
    f.done("W", "a", 1, "r");
    CHECK(f.outbox.to_producer_of<p::Accepted>("P").empty());
    auto results = f.outbox.to_producer_of<p::JobResult>("P");
    REQUIRE(results.size() == 1);
    CHECK(results[0].id == "a");
    CHECK(f.scheduler.counters().accepts_folded == 1);
    // Nothing is left to fire later.
    f.advance(200ms);
    CHECK(f.outbox.to_producer_of<p::Accepted>("P").empty());
    CHECK_FALSE(f.scheduler.next_deadline().has_value());
}

TEST_CASE("a held ACCEPTED is sent when accept_within_ms runs out, never later", "[broker][scheduler][accept]") {
    Fixture f;
    f.submit_message(lazy_submit("a", 100));
    f.submit_message(lazy_submit("b", 150));  // rounded down to the 100 ms lane
    f.advance(99ms);
    CHECK(f.outbox.to_producer_of<p::Accepted>("P").empty());
    f.advance(1ms);
    auto accepted = f.outbox.to_producer_of<p::Accepted>("P");
    REQUIRE(accepted.size() == 2);
    CHECK(accepted[0].id == "a");
    CHECK_FALSE(accepted[0].existed);
    CHECK(accepted[1].id == "b");
    // The job then runs as any other; its RESULT follows.
    f.ready("W", {"q"}, 2);
    f.done("W", "a", 1);
    CHECK(f.outbox.to_producer_of<p::JobResult>("P").size() == 1);
    CHECK(f.scheduler.counters().accepts_folded == 0);
}

TEST_CASE("held ACCEPTEDs of different waits each keep their own deadline", "[broker][scheduler][accept]") {
    Fixture f;
    f.submit_message(lazy_submit("slow", 5000));
    f.submit_message(lazy_submit("fast", 10));
    REQUIRE(f.scheduler.next_deadline() == f.now + 10ms);
    f.advance(10ms);
    auto accepted = f.outbox.to_producer_of<p::Accepted>("P");
    REQUIRE(accepted.size() == 1);
    CHECK(accepted[0].id == "fast");
    REQUIRE(f.scheduler.next_deadline() == f.now + 4990ms);
}

TEST_CASE("without wants_result, or with accept_within_ms 0, ACCEPTED is sent at once", "[broker][scheduler][accept]") {
    Fixture f;
    f.submit_message(lazy_submit("fire-and-forget", 100, false));
    f.submit_message(lazy_submit("eager", 0));
    auto accepted = f.outbox.to_producer_of<p::Accepted>("P");
    REQUIRE(accepted.size() == 2);
    CHECK(accepted[0].id == "fire-and-forget");
    CHECK(accepted[1].id == "eager");
}

TEST_CASE("a job that dies or is cancelled answers its held ACCEPTED with the RESULT", "[broker][scheduler][accept]") {
    Fixture f;
    f.submit_message(lazy_submit("doomed", 1000));
    f.submit_message(lazy_submit("cancelled", 1000));
    f.ready("W", {"q"}, 1);
    f.fail("W", "doomed", 1, "no", true);
    f.request(p::Cancel{"cancelled"});
    CHECK(f.outbox.to_producer_of<p::Accepted>("P").empty());
    auto results = f.outbox.to_producer_of<p::JobResult>("P");
    REQUIRE(results.size() == 2);
    CHECK(results[0].state == p::JobState::failed);
    CHECK(results[1].state == p::JobState::cancelled);
    CHECK(f.scheduler.counters().accepts_folded == 2);
    f.advance(2000ms);
    CHECK(f.outbox.to_producer_of<p::Accepted>("P").empty());
}

TEST_CASE("a resubmit answers the held ACCEPTED, another producer taking the job gets the first one sent",
          "[broker][scheduler][accept]") {
    Fixture f;
    f.submit_message(lazy_submit("a", 1000), "P");
    f.submit_message(lazy_submit("a", 1000), "P");  // a resend: answered at once, existed
    auto accepted = f.outbox.to_producer_of<p::Accepted>("P");
    REQUIRE(accepted.size() == 1);
    CHECK(accepted[0].existed);

    f.submit_message(lazy_submit("b", 1000), "P");
    f.submit_message(lazy_submit("b", 1000), "Q");  // Q now waits for b's result: P is told now
    accepted = f.outbox.to_producer_of<p::Accepted>("P");
    REQUIRE(accepted.size() == 1);
    CHECK(accepted[0].id == "b");
    CHECK_FALSE(accepted[0].existed);
    REQUIRE(f.outbox.to_producer_of<p::Accepted>("Q").size() == 1);
    f.advance(2000ms);
    CHECK(f.outbox.to_producer_of<p::Accepted>("P").empty());
    CHECK(f.outbox.to_producer_of<p::Accepted>("Q").empty());
}
