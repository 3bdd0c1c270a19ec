// What STATS tells of each queue's events since the broker started (docs/protocol.md §5.7): the
// counters each rule keeps where it acts, the wait and run histograms, and the broker-wide
// instance and last ending, on manual clocks.
#include <catch2/catch.hpp>

#include <algorithm>

#include "fixed_histogram.hpp"
#include "scheduler_fixture.hpp"

namespace p = corsair::protocol;
using corsair::broker::test::Fixture;
using namespace std::chrono_literals;

namespace {

p::QueueStats queue_of(Fixture& f, const std::string& name = "q") {
    for (auto& queue : f.scheduler.stats(f.now).queues) {
        if (queue.name == name) return queue;
    }
    FAIL("no queue " << name);
    return {};
}

std::uint64_t count_of(const p::Histogram& histogram) {
    std::uint64_t total = 0;
    for (const auto n : histogram.counts) total += n;
    return total;
}

p::Submit job(const std::string& id) { return p::make_submit(id, "q", false, p::make_payload("x")); }

}  // namespace

TEST_CASE("STATS counts each queue's submits, retries, requeues, timeouts and cancels", "[broker][stats]") {
    Fixture f;
    f.ready("W", {"q"}, 10);
    f.submit("retried");
    f.submit("cancelled");
    auto timing_out = job("timing-out");
    timing_out.timeout_ms = 500;
    f.submit_message(std::move(timing_out));
    f.submit("requeued");
    f.submit("other", "elsewhere");
    f.fail("W", "retried", 1, "flaky");
    f.request(p::Cancel{"cancelled"});
    f.advance(500ms);
    f.scheduler.on_worker_message("W", p::Disconnect{"bye"}, f.now);  // gives "requeued" back

    const p::QueueStats q = queue_of(f);
    CHECK(q.submitted == 4);
    CHECK(q.retried == 2);  // the failed attempt and the timed-out one, both after a backoff
    CHECK(q.timed_out == 1);
    CHECK(q.cancelled == 1);
    CHECK(q.requeued == 1);
    CHECK(queue_of(f, "elsewhere").submitted == 1);
    CHECK(queue_of(f, "elsewhere").retried == 0);
}

TEST_CASE("a worker's death counts its jobs as requeued in their queue, not as retried", "[broker][stats]") {
    Fixture f;
    f.ready("W", {"q"}, 2);
    f.submit("a");
    f.submit("b");
    f.now += 3000ms;
    f.scheduler.tick(f.now);
    CHECK(queue_of(f).requeued == 2);
    CHECK(queue_of(f).retried == 0);
}

TEST_CASE("a job's wait runs from its submit, or its delay's end, to its first dispatch, counted once",
          "[broker][stats]") {
    Fixture f;
    f.submit("early");
    CHECK_FALSE(queue_of(f).wait);  // absent until something is counted
    auto delayed = job("delayed");
    delayed.delay_ms = 5000;
    f.submit_message(std::move(delayed));
    f.advance(2s);
    f.ready("W", {"q"}, 1);  // "early" waited 2 s
    f.advance(3s);           // "delayed" is ready now, and waits for the worker's credit
    f.advance(1500ms);
    f.fail("W", "early", 1, "flaky", true);  // frees the credit: "delayed" waited 1.5 s

    auto wait = queue_of(f).wait;
    REQUIRE(wait);
    CHECK(wait->bounds == std::vector<std::uint64_t>(corsair::broker::kJobLatencyBoundsUs.begin(),
                                                     corsair::broker::kJobLatencyBoundsUs.end()));
    CHECK(count_of(*wait) == 2);
    CHECK(wait->sum == 3'500'000);
    // 2 s is in the bucket up to 2.5 s, and 1.5 s too.
    const auto bucket = std::find(wait->bounds.begin(), wait->bounds.end(), 2'500'000u) - wait->bounds.begin();
    CHECK(wait->counts[static_cast<std::size_t>(bucket)] == 2);

    SECTION("a retry's dispatch is not a first wait") {
        f.fail("W", "delayed", 1, "flaky");
        f.advance(10s);
        CHECK(f.find_job("delayed")->state == p::JobState::running);
        CHECK(count_of(*queue_of(f).wait) == 2);
    }
}

TEST_CASE("an attempt ended done adds its run time, a failed one does not", "[broker][stats]") {
    Fixture f;
    f.ready("W", {"q"}, 2);
    f.submit("quick");
    f.submit("broken");
    f.advance(40ms);
    f.done("W", "quick", 1);
    f.fail("W", "broken", 1, "no", true);
    const auto run = queue_of(f).run;
    REQUIRE(run);
    CHECK(count_of(*run) == 1);
    CHECK(run->sum == 40'000);
    CHECK(run->counts[8] == 1);  // (25 ms, 50 ms]
}

TEST_CASE("STATS tells the broker instance and when a job last ended done or failed for good", "[broker][stats]") {
    Fixture f;
    CHECK(f.scheduler.stats(f.now).broker_instance != 0);
    CHECK_FALSE(f.scheduler.stats(f.now).last_job_ended_at_ms);
    CHECK_FALSE(f.scheduler.stats(f.now).journal_fsync);  // no journal
    f.ready("W", {"q"}, 1);
    f.submit("a");
    f.submit("b");
    f.advance(1s);
    f.done("W", "a", 1);
    const auto wall_ms = [&f] {
        return static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::milliseconds>(f.wall.time_since_epoch()).count());
    };
    CHECK(f.scheduler.stats(f.now).last_job_ended_at_ms == wall_ms());
    f.advance(1s);
    f.request(p::Cancel{"b"});  // a cancel is not an ending that /health counts
    CHECK(f.scheduler.stats(f.now).last_job_ended_at_ms == wall_ms() - 1000);
}
