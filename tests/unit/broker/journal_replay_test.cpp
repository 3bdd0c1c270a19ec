// A restart rebuilds the Scheduler from its journal: every record the scheduler wrote, replayed
// into a fresh one, gives the same jobs in the same states; a compaction snapshot does too.
#include <catch2/catch.hpp>

#include "corsair/broker/journal_record.hpp"
#include "lease_adoption.hpp"
#include "recording_journal.hpp"
#include "scheduler_fixture.hpp"

namespace p = corsair::protocol;
using corsair::broker::JournalRecord;
using corsair::broker::test::RecordingJournal;
using corsair::broker::test::replay_into;
using corsair::broker::test::Fixture;
using namespace std::chrono_literals;

namespace {

p::StatusReply status_of(Fixture& f, const std::string& id) {
    f.request(p::StatusRequest{id}, "S");
    auto replies = f.outbox.to_producer_of<p::StatusReply>("S");
    REQUIRE(replies.size() == 1);
    return std::move(replies[0]);
}

p::Submit job(const std::string& id, const std::string& queue = "q") {
    return p::make_submit(id, queue, true, p::make_payload("payload-" + id));
}

// A broker's life: every state a job can be in when the broker dies.
void live_a_little(Fixture& f) {
    f.request(p::QueueSettings{"q", {}, 50, {5, {}, {}, {}}, {}, {}, {}, true}, "A");
    f.ready("W", {"q"}, 2);
    f.submit_message(job("done"));
    f.submit_message(job("running"));
    f.done("W", "done", 1, "the result");  // "running" stays leased; next goes out
    auto retrying = job("retrying");
    retrying.retry.backoff_ms = 60'000;
    retrying.retry.backoff_jitter_pct = 0;
    f.submit_message(std::move(retrying));
    f.fail("W", "retrying", 1, "flaky");  // delayed a minute
    f.submit_message(job("dead"));
    f.fail("W", "dead", 1, "broken", true);
    f.submit_message(job("cancelled"));
    f.request(p::Cancel{"cancelled"}, "A");
    auto later = job("later");
    later.delay_ms = 30'000;
    later.priority = 7;
    later.unique_key = "k";
    f.submit_message(std::move(later));
    for (int i = 0; i < 5; ++i) f.submit_message(job("pending" + std::to_string(i)));
}

void check_recovered(Fixture& r) {
    CHECK(status_of(r, "done").state == p::JobState::done);
    CHECK(p::view_of(status_of(r, "done").payload) == "the result");
    auto running = status_of(r, "running");
    CHECK(running.state == p::JobState::running);  // running at the stop: unclaimed, for its worker
    CHECK(running.worker.empty());
    CHECK(running.attempt == 1);
    auto retrying = status_of(r, "retrying");
    CHECK(retrying.state == p::JobState::delayed);
    CHECK(retrying.ready_in_ms > 50'000);
    REQUIRE(retrying.errors.size() == 1);
    CHECK(retrying.errors[0].error == "flaky");
    CHECK(status_of(r, "dead").state == p::JobState::failed);
    CHECK(status_of(r, "cancelled").state == p::JobState::cancelled);
    auto later = status_of(r, "later");
    CHECK(later.state == p::JobState::delayed);
    CHECK(later.priority == 7);
    CHECK(status_of(r, "pending4").state == p::JobState::pending);
    // Queue settings came back, and the unique key is still held.
    r.request(p::QueueSettings{"q", {}, {}, {}, {}, {}, {}}, "A");
    auto settings = r.outbox.to_producer_of<p::QueueSettings>("A");
    REQUIRE_FALSE(settings.empty());
    CHECK(settings.back().max_length == 50u);
    CHECK(settings.back().retry.max_attempts == 5u);
    auto again = job("later-again");
    again.unique_key = "k";
    r.submit_message(std::move(again));
    CHECK(r.outbox.to_producer_of<p::Accepted>("P").back().job_id == "later");
    r.request(p::DeadRequest{"q", 10}, "A");
    CHECK(r.outbox.to_producer_of<p::DeadReply>("A").at(0).total == 1);
    // Unclaimed past the re-adoption window, it goes back to the head of its queue: new ids
    // never collide with recovered ones' order, so the running job goes out first.
    r.advance(corsair::broker::LeaseAdoption::window_of(Fixture::options()));
    CHECK(status_of(r, "running").state == p::JobState::pending);
    r.ready("W2", {"q"}, 1);
    auto jobs = r.jobs_for("W2");
    REQUIRE(jobs.size() == 1);
    CHECK(jobs[0].id == "running");
    CHECK(jobs[0].attempt == 2);
}

// Replays encoded journal bytes (a snapshot) into `r`; returns how many records it read.
std::size_t replay_bytes(Fixture& r, const std::string& bytes) {
    std::size_t offset = 0;
    std::size_t read = 0;
    while (offset < bytes.size()) {
        auto frame = corsair::broker::check_frame(std::string_view(bytes).substr(offset));
        REQUIRE(frame.status == corsair::broker::JournalFrame::Status::intact);
        auto record = corsair::broker::decode_body(frame.type, frame.body);
        REQUIRE(record);
        r.scheduler.recover(record.value(), r.now);
        offset += frame.frame_bytes;
        ++read;
    }
    return read;
}

}  // namespace

TEST_CASE("replaying the journal rebuilds every job in its state", "[broker][recovery]") {
    Fixture f;
    RecordingJournal journal;
    f.scheduler.set_journal(&journal);
    live_a_little(f);

    Fixture r;
    r.now = f.now;
    r.wall = f.wall;
    auto counts = replay_into(r, journal);
    CHECK(counts.running_at_stop == 2);  // "running" and "pending0", which took the freed slot
    CHECK(counts.dead == 1);
    check_recovered(r);
}

TEST_CASE("a snapshot restates the same state in fewer records", "[broker][recovery]") {
    Fixture f;
    RecordingJournal journal;
    f.scheduler.set_journal(&journal);
    live_a_little(f);

    std::string snapshot;
    const auto written = f.scheduler.write_snapshot(snapshot, f.now);
    CHECK(written > 0);
    // One record per queue (q, and "q"'s settings only) and one per job kept, live or ended.
    CHECK(written == 1 + 11);
    Fixture r;
    r.now = f.now;
    r.wall = f.wall;
    CHECK(replay_bytes(r, snapshot) == written);
    r.scheduler.finish_recovery(r.now);
    check_recovered(r);
}

TEST_CASE("an attempt handed back by a worker that left cleanly stays free after a restart", "[broker][recovery]") {
    Fixture f;
    RecordingJournal journal;
    f.scheduler.set_journal(&journal);
    auto handed = job("handed");
    handed.retry.max_attempts = 3;
    handed.retry.backoff_ms = 1000;
    handed.retry.backoff_jitter_pct = 0;
    f.ready("W", {"q"}, 1);
    f.submit_message(std::move(handed));
    f.scheduler.on_worker_message("W", p::Disconnect{"draining"}, f.now);  // attempt 1: free
    f.ready("W2", {"q"}, 1);
    REQUIRE(f.jobs_for("W2").size() == 1);
    f.fail("W2", "handed", 2, "flaky");  // attempt 2: the first one used

    Fixture r;
    r.now = f.now;
    r.wall = f.wall;
    SECTION("from the journal") {
        for (const auto& record : journal.records) r.scheduler.recover(record, r.now);
    }
    SECTION("from a snapshot") {
        std::string snapshot;
        f.scheduler.write_snapshot(snapshot, f.now);
        replay_bytes(r, snapshot);
    }
    SECTION("from a snapshot of the old format, which restated attempts as history") {
        using namespace corsair::broker;
        p::RetryPolicy retry{3, 1000, {}, 0};
        const std::uint64_t retry_at = static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::milliseconds>((f.wall + 1s).time_since_epoch()).count());
        for (const JournalRecord& record : std::vector<JournalRecord>{
                 JournalSubmitted{"handed", "q", "payload-handed", 0, retry, {}, 0, {}, 0, std::nullopt},
                 JournalDispatched{"handed", 1}, JournalRetried{"handed"},
                 JournalAttemptFailed{"handed", 2, "flaky", false, retry_at}}) {
            r.scheduler.recover(record, r.now);
        }
    }
    r.scheduler.finish_recovery(r.now);
    r.advance(1500ms);
    r.ready("W3", {"q"}, 1);
    auto jobs = r.jobs_for("W3");
    REQUIRE(jobs.size() == 1);
    CHECK(jobs[0].attempt == 3);
    // Attempt 3 fails: two of three used, so it is retried, not sent to the dead set.
    r.fail("W3", "handed", 3, "flaky again");
    CHECK(status_of(r, "handed").state == p::JobState::delayed);
}

TEST_CASE("every counter in STATS counts since the broker started, per queue as broker-wide", "[broker][recovery]") {
    Fixture f;
    RecordingJournal journal;
    f.scheduler.set_journal(&journal);
    live_a_little(f);

    Fixture r;
    r.now = f.now;
    r.wall = f.wall;
    replay_into(r, journal);
    auto queue_of = [](const p::StatsReply& stats) {
        for (const auto& q : stats.queues) {
            if (q.name == "q") return q;
        }
        FAIL("no queue q");
        return p::QueueStats{};
    };
    auto stats = r.scheduler.stats(r.now);
    CHECK(stats.counters.at("jobs_done") == 0);
    CHECK(queue_of(stats).done == 0);  // the replayed DONE is state, not an event of this run
    CHECK(stats.counters.at("jobs_failed") == 0);
    CHECK(queue_of(stats).failed == 0);
    CHECK(queue_of(stats).dead == 1);  // gauges come back
    CHECK(queue_of(stats).submitted == 0);
    CHECK(queue_of(stats).retried == 0);
    CHECK(queue_of(stats).cancelled == 0);
    CHECK_FALSE(queue_of(stats).wait);  // nothing counted since this start
    CHECK_FALSE(queue_of(stats).run);
    CHECK_FALSE(stats.last_job_ended_at_ms);

    r.ready("W2", {"q"}, 1);
    const auto jobs = r.jobs_for("W2");  // a pending job: the running ones wait for their worker
    REQUIRE(jobs.size() == 1);
    r.done("W2", jobs[0].id, jobs[0].attempt);
    stats = r.scheduler.stats(r.now);
    CHECK(stats.counters.at("jobs_done") == 1);
    CHECK(queue_of(stats).done == 1);
}

TEST_CASE("replaying the journal does not log each queue as created again", "[broker][recovery]") {
    Fixture f;
    RecordingJournal journal;
    f.scheduler.set_journal(&journal);
    live_a_little(f);
    CHECK(f.log.str().find("queue created queue=\"q\"") != std::string::npos);

    Fixture r;
    replay_into(r, journal);
    CHECK(r.log.str().find("queue created") == std::string::npos);
    r.submit("new", "another");
    CHECK(r.log.str().find("queue created queue=\"another\"") != std::string::npos);
}

TEST_CASE("a deleted queue stays deleted, and a job's times and worker survive, through the journal and a snapshot",
          "[broker][recovery]") {
    Fixture f;
    RecordingJournal journal;
    f.scheduler.set_journal(&journal);
    p::QueueSettings create;
    create.queue = "gone";
    create.should_create = true;
    create.max_length = 9;
    f.request(std::move(create), "A");
    f.submit_message(job("doomed", "gone"));
    f.request(p::DeleteQueue{"gone", true}, "A");
    f.scheduler.on_journal_durable(journal.records.size());
    REQUIRE(f.outbox.to_producer_of<p::Ok>("A").size() == 1);
    const auto created_ms = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(f.wall.time_since_epoch()).count());
    f.submit_message(job("kept"));
    f.ready("W", {"q"}, 1);
    f.advance(2s);
    f.done("W", "kept", 1);

    auto check = [&](Fixture& r) {
        for (const auto& queue : r.scheduler.stats(r.now).queues) CHECK(queue.name != "gone");
        const auto kept = status_of(r, "kept");
        CHECK(kept.state == p::JobState::done);
        CHECK(kept.worker == "W");
        CHECK(kept.created_ms == std::optional<std::uint64_t>(created_ms));
        CHECK(kept.started_ms == std::optional<std::uint64_t>(created_ms));
        CHECK(kept.finished_ms == std::optional<std::uint64_t>(created_ms + 2000));
    };
    SECTION("replaying every record") {
        Fixture r;
        r.now = f.now;
        r.wall = f.wall;
        replay_into(r, journal);
        check(r);
    }
    SECTION("replaying a snapshot") {
        std::string snapshot;
        f.scheduler.write_snapshot(snapshot, f.now);
        Fixture r;
        r.now = f.now;
        r.wall = f.wall;
        replay_bytes(r, snapshot);
        r.scheduler.finish_recovery(r.now);
        check(r);
    }
}

// protocol.md §1: an ended job keeps the attempts charged against max_attempts apart from its
// last lease's number, through the journal and through a snapshot alike.
TEST_CASE("an ended job's charged attempts survive a restart, from the journal or a snapshot", "[broker][recovery]") {
    Fixture f;
    RecordingJournal journal;
    f.scheduler.set_journal(&journal);
    auto once = job("once");
    once.retry.max_attempts = 1;
    f.ready("W", {"q"}, 1);
    f.submit_message(std::move(once));
    f.scheduler.on_worker_message("W", p::Disconnect{"draining"}, f.now);  // attempt 1: given back
    f.ready("W2", {"q"}, 1);
    REQUIRE(f.jobs_for("W2").size() == 1);
    f.done("W2", "once", 2);

    Fixture r;
    r.now = f.now;
    r.wall = f.wall;
    SECTION("from the journal") {
        for (const auto& record : journal.records) r.scheduler.recover(record, r.now);
    }
    SECTION("from a snapshot") {
        std::string snapshot;
        f.scheduler.write_snapshot(snapshot, f.now);
        replay_bytes(r, snapshot);
    }
    r.scheduler.finish_recovery(r.now);
    const auto status = status_of(r, "once");
    CHECK(status.state == p::JobState::done);
    CHECK(status.attempt == 2);
    CHECK(status.counted_attempts == 1u);
}
