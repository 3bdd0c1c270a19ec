// Leases that outlive a connection (protocol.md §10, Restarts and reconnects), on manual clocks:
// a restarted broker keeps what was running unclaimed for the adoption window, a READY holding a
// lease re-adopts it (same attempt, not charged, against the worker's capacity), what nobody
// claims is requeued with its attempt free, a held lease the broker does not know is abandoned,
// a worker reconnecting on a new connection keeps its leases, and a second worker with a name
// already connected is refused.
#include <catch2/catch.hpp>

#include "corsair/broker/journal_record.hpp"
#include "lease_adoption.hpp"
#include "recording_journal.hpp"
#include "scheduler_fixture.hpp"

namespace p = corsair::protocol;
using corsair::broker::JournalRecord;
using corsair::broker::test::RecordingJournal;
using corsair::broker::test::replay_into;
using corsair::broker::LeaseAdoption;
using corsair::broker::test::Fixture;
using namespace std::chrono_literals;

namespace {

p::Ready ready_holding(const std::string& name, std::uint32_t capacity, std::vector<p::HeldLease> holding,
                       std::uint64_t instance = 7) {
    return p::Ready{{"q"}, capacity, name, 0, instance, std::move(holding)};
}

// A broker that ran "a" and "b" on worker W (capacity 2) and queued "c", then stopped: `restarted`
// replays its journal, as a new start of the broker does.
struct Restart {
    Restart() {
        before.scheduler.set_journal(&journal);
        before.ready("W", {"q"}, 2);
        for (const char* id : {"a", "b", "c"}) before.submit_message(p::make_submit(id, "q", true, p::make_payload(id)));
        REQUIRE(before.job_ids_for("W") == std::vector<std::string>{"a", "b"});
        restarted.now = before.now;
        restarted.wall = before.wall;
        counts = replay_into(restarted, journal);
    }
    Fixture before;
    RecordingJournal journal;
    Fixture restarted;
    corsair::broker::RecoveryCounts counts;
};

}  // namespace

TEST_CASE("after a restart the jobs running at the stop wait unclaimed, not dispatched again",
          "[broker][lease_adoption]") {
    Restart r;
    Fixture& f = r.restarted;
    CHECK(r.counts.running_at_stop == 2);
    CHECK(f.find_job("a")->state == p::JobState::running);
    CHECK(f.find_job("a")->worker.empty());
    // A new worker gets the queued job, not the unclaimed ones.
    f.ready("other", {"q"}, 5);
    CHECK(f.job_ids_for("other") == std::vector<std::string>{"c"});
}

TEST_CASE("a READY holding an unclaimed lease re-adopts it: same attempt, not charged, against its capacity",
          "[broker][lease_adoption]") {
    Restart r;
    Fixture& f = r.restarted;
    f.scheduler.on_worker_message("W2", ready_holding("W", 2, {{"a", 1}, {"b", 1}}), f.now);
    // Both leases count against its capacity of 2: it gets no new job.
    CHECK(f.jobs_for("W2").empty());
    CHECK(f.outbox.to_worker_of<p::Abandon>("W2").empty());
    auto a = f.find_job("a");
    CHECK(a->state == p::JobState::running);
    CHECK(a->worker == "W");
    CHECK(a->attempt == 1);
    CHECK(f.scheduler.counters().leases_readopted == 2);
    f.done("W2", "a", 1, "A");
    auto results = f.outbox.to_producer_of<p::JobResult>("P");
    CHECK(results.empty());  // the producer's connection is the old broker's; STATUS tells
    CHECK(f.find_job("a")->state == p::JobState::done);
    CHECK(f.find_job("a")->attempt == 1);
    // Its credit is back: the queued job goes to it.
    CHECK(f.job_ids_for("W2") == std::vector<std::string>{"c"});
    // The window closing later changes nothing for the re-adopted "b".
    f.advance(LeaseAdoption::window_of(Fixture::options()) + 1s);
    CHECK(f.find_job("b")->state == p::JobState::running);
    CHECK(f.find_job("b")->worker == "W");
}

TEST_CASE("a lease re-adopted past the worker's capacity is held ready, and recalled for a worker that sits idle",
          "[broker][lease_adoption][prefetch]") {
    Restart r;
    Fixture& f = r.restarted;
    // W comes back with capacity 1 and prefetch 1: "a" runs, "b" waits ready behind it.
    auto ready = ready_holding("W", 1, {{"a", 1}, {"b", 1}});
    ready.prefetch = 1;
    f.scheduler.on_worker_message("W2", std::move(ready), f.now);
    CHECK(f.scheduler.counters().leases_readopted == 2);
    f.ready("idle", {"q"}, 1);
    REQUIRE(f.job_ids_for("idle") == std::vector<std::string>{"c"});
    CHECK(f.outbox.to_worker_of<p::Recall>("W2").empty());  // something pending went to it first
    f.done("idle", "c", 1);
    // Nothing pending and a worker idle: the job W holds ready is asked back, not the one it runs.
    auto recalls = f.outbox.to_worker_of<p::Recall>("W2");
    REQUIRE(recalls.size() == 1);
    CHECK(recalls[0].id == "b");
    f.give_back("W2", "b", 1);
    auto jobs = f.jobs_for("idle");
    REQUIRE(jobs.size() == 1);
    CHECK(jobs[0].id == "b");
    CHECK(jobs[0].attempt == 2);

    SECTION("a worker that did not announce prefetch is never sent RECALL") {
        Restart again;
        Fixture& g = again.restarted;
        g.scheduler.on_worker_message("W2", ready_holding("W", 1, {{"a", 1}, {"b", 1}}), g.now);
        g.ready("idle", {"q"}, 1);
        REQUIRE(g.job_ids_for("idle") == std::vector<std::string>{"c"});
        g.done("idle", "c", 1);
        CHECK(g.outbox.to_worker_of<p::Recall>("W2").empty());
    }
}

TEST_CASE("unclaimed leases go back to the head of their queue when the window closes, attempt free",
          "[broker][lease_adoption]") {
    Restart r;
    Fixture& f = r.restarted;
    const auto window = LeaseAdoption::window_of(Fixture::options());
    CHECK(window >= LeaseAdoption::kMinAdoptionWindow);
    REQUIRE(f.scheduler.next_deadline() == f.now + window);
    f.advance(window - 1ms);
    CHECK(f.find_job("a")->state == p::JobState::running);
    f.advance(1ms);
    CHECK(f.find_job("a")->state == p::JobState::pending);
    CHECK(f.scheduler.counters().jobs_requeued == 2);
    f.ready("X", {"q"}, 3);
    CHECK(f.job_ids_for("X") == std::vector<std::string>{"a", "b", "c"});
    // Attempt 2, but the broker's stop did not use up one of the job's attempts.
    CHECK(f.find_job("a")->attempt == 2);
    f.fail("X", "a", 2, "e1");
    f.advance(1h);
    f.fail("X", "a", 3, "e2");
    f.advance(1h);
    CHECK(f.find_job("a")->state == p::JobState::running);  // attempt 4 runs: 3 counted attempts left one
}

TEST_CASE("a held lease the broker does not know is abandoned so that the worker stops it",
          "[broker][lease_adoption]") {
    Restart r;
    Fixture& f = r.restarted;
    f.scheduler.on_worker_message("W2", ready_holding("W", 2, {{"a", 2}, {"gone", 1}, {"c", 1}}), f.now);
    auto abandoned = f.outbox.to_worker_of<p::Abandon>("W2");
    REQUIRE(abandoned.size() == 3);  // another attempt, an unknown job, a job never leased
    for (const auto& abandon : abandoned) CHECK(abandon.reason == "unknown_lease");
    CHECK(f.scheduler.counters().leases_readopted == 0);
    // The ABANDONs come before the HEARTBEAT that answers READY.
    auto& sent = f.outbox.to_workers["W2"];
    REQUIRE_FALSE(sent.empty());
    CHECK(std::holds_alternative<p::Heartbeat>(sent.front()));
}

TEST_CASE("a DONE for an unclaimed lease ends it from any connection, even before READY",
          "[broker][lease_adoption]") {
    Restart r;
    Fixture& f = r.restarted;
    f.done("old-socket", "a", 1, "A");  // the worker's old DEALER reconnected by itself
    CHECK(f.find_job("a")->state == p::JobState::done);
    CHECK(f.outbox.to_worker_of<p::Error>("old-socket").at(0).code == p::ErrorCode::unknown_worker);
    // A DONE for another attempt is stale.
    f.done("old-socket", "b", 2, "B");
    CHECK(f.find_job("b")->state == p::JobState::running);
    CHECK(f.scheduler.counters().stale_completions == 1);
}

TEST_CASE("a worker reconnecting on a new connection keeps the leases it names and loses the others, free",
          "[broker][lease_adoption]") {
    Fixture f;
    f.scheduler.on_worker_message("C1", ready_holding("W", 2, {}), f.now);
    f.submit("a");
    f.submit("b");
    REQUIRE(f.job_ids_for("C1") == std::vector<std::string>{"a", "b"});
    // The same worker (name and instance) on a new connection, still running "a".
    f.scheduler.on_worker_message("C2", ready_holding("W", 2, {{"a", 1}}), f.now);
    CHECK(f.worker_count() == 1);
    CHECK(f.find_job("a")->state == p::JobState::running);
    CHECK(f.find_job("a")->attempt == 1);
    // "b" was lost with the old connection: it goes out again, attempt 2 but not charged.
    CHECK(f.job_ids_for("C2") == std::vector<std::string>{"b"});
    CHECK(f.find_job("b")->attempt == 2);
    f.done("C2", "a", 1);
    CHECK(f.find_job("a")->state == p::JobState::done);
    // The old connection is forgotten.
    f.heartbeat("C1");
    CHECK(f.outbox.to_worker_of<p::Error>("C1").at(0).code == p::ErrorCode::unknown_worker);
}

TEST_CASE("a second worker with a name already connected is refused with id_conflict", "[broker][lease_adoption]") {
    Fixture f;
    f.scheduler.on_worker_message("C1", ready_holding("w1", 1, {}, 7), f.now);
    SECTION("another process under the same name") {
        f.scheduler.on_worker_message("C2", ready_holding("w1", 1, {}, 8), f.now);
        auto errors = f.outbox.to_worker_of<p::Error>("C2");
        REQUIRE(errors.size() == 1);
        CHECK(errors[0].code == p::ErrorCode::id_conflict);
        CHECK(errors[0].command == "READY");
        CHECK(f.worker_count() == 1);
        CHECK(f.scheduler.counters().workers_refused == 1);
        f.submit("j");
        CHECK(f.job_ids_for("C1") == std::vector<std::string>{"j"});
        CHECK(f.jobs_for("C2").empty());
    }
    SECTION("an older worker that tells no instance") {
        f.ready("w1", {"q"}, 1);  // routing id "w1", name "w1", no instance
        CHECK(f.outbox.to_worker_of<p::Error>("w1").at(0).code == p::ErrorCode::id_conflict);
    }
    SECTION("the name is free again once the first worker is gone") {
        f.advance(4s);
        f.scheduler.tick(f.now);  // C1 silent past liveness: dead
        f.scheduler.on_worker_message("C2", ready_holding("w1", 1, {}, 8), f.now);
        CHECK(f.outbox.to_worker_of<p::Error>("C2").empty());
        CHECK(f.worker_count() == 1);
    }
    SECTION("workers without a name are not compared") {
        f.scheduler.on_worker_message("A1", p::Ready{{"q"}, 1, ""}, f.now);
        f.scheduler.on_worker_message("A2", p::Ready{{"q"}, 1, ""}, f.now);
        CHECK(f.worker_count() == 3);
    }
}

// protocol.md §10: a JOB goes out before its dispatch is durable, so a crash may lose the record
// of a lease its worker still runs. The worker's READY names it; the broker abandons it and must
// not grant its number again, or the worker would take the new JOB for the lease it was told to
// stop.
TEST_CASE("a lease whose dispatch a crash lost is abandoned, and its number is never granted again",
          "[broker][lease_adoption]") {
    Fixture before;
    RecordingJournal journal;
    before.scheduler.set_journal(&journal);
    before.ready("W", {"q"}, 1);
    before.submit_message(p::make_submit("a", "q", true, p::make_payload("a")));
    REQUIRE(before.job_ids_for("W") == std::vector<std::string>{"a"});
    RecordingJournal durable;  // what reached the disk: everything but the dispatch
    for (const JournalRecord& record : journal.records) {
        if (!std::holds_alternative<corsair::broker::JournalDispatched>(record)) durable.records.push_back(record);
    }
    Fixture f;
    f.now = before.now;
    f.wall = before.wall;
    replay_into(f, durable);
    REQUIRE(f.find_job("a")->state == p::JobState::pending);

    f.scheduler.on_worker_message("W2", ready_holding("W", 1, {{"a", 1}}), f.now);
    auto abandoned = f.outbox.to_worker_of<p::Abandon>("W2");
    REQUIRE(abandoned.size() == 1);
    CHECK(abandoned[0].attempt == 1);
    auto jobs = f.jobs_for("W2");
    REQUIRE(jobs.size() == 1);
    CHECK(jobs[0].attempt == 2);  // not 1 again
    const auto status = f.find_job("a");
    CHECK(status->attempt == 2);
    CHECK(status->counted_attempts == 1u);  // the lost lease is not charged
    f.done("W2", "a", 1);  // the abandoned lease's late answer
    CHECK(f.find_job("a")->state == p::JobState::running);
    f.done("W2", "a", 2);
    CHECK(f.find_job("a")->state == p::JobState::done);
}
