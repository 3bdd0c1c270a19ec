// The job lifecycle rules of docs/jobs.md on manual clocks: retries and backoff, the dead set,
// priorities, delays, timeouts, cancel, unique jobs, progress, pause and max length.
#include <catch2/catch.hpp>

#include "scheduler_fixture.hpp"

namespace p = corsair::protocol;
using corsair::broker::test::Fixture;
using namespace std::chrono_literals;

namespace {

p::Submit job(const std::string& id, const std::string& queue = "q", bool wants_result = true) {
    return p::make_submit(id, queue, wants_result, p::make_payload("payload-" + id));
}

p::StatusReply status_of(Fixture& f, const std::string& id) {
    f.request(p::StatusRequest{id}, "S");
    auto replies = f.outbox.to_producer_of<p::StatusReply>("S");
    REQUIRE(replies.size() == 1);
    return std::move(replies[0]);
}

std::vector<p::Error> errors_to(Fixture& f, const std::string& producer = "P") {
    return f.outbox.to_producer_of<p::Error>(producer);
}

}  // namespace

TEST_CASE("a failed attempt is retried after a backoff that doubles, and each error is kept",
          "[broker][scheduler][retry]") {
    Fixture f;
    f.ready("W", {"q"}, 1);
    f.submit_message(job("j"));
    REQUIRE(f.job_ids_for("W") == std::vector<std::string>{"j"});
    f.fail("W", "j", 1, "first error");
    auto s = status_of(f, "j");
    CHECK(s.state == p::JobState::delayed);
    // 1 s +/- 20 %: not before 800 ms, by 1200 ms at the latest.
    CHECK(s.ready_in_ms >= 800);
    CHECK(s.ready_in_ms <= 1200);
    f.advance(799ms);
    CHECK(f.jobs_for("W").empty());
    f.advance(401ms);
    auto second = f.jobs_for("W");
    REQUIRE(second.size() == 1);
    CHECK(second[0].attempt == 2);
    f.fail("W", "j", 2, "second error");
    s = status_of(f, "j");
    CHECK(s.ready_in_ms >= 1600);  // 2 s +/- 20 %
    CHECK(s.ready_in_ms <= 2400);
    f.advance(2400ms);
    auto third = f.jobs_for("W");
    REQUIRE(third.size() == 1);
    CHECK(third[0].attempt == 3);
    f.done("W", "j", 3, "finally");
    s = status_of(f, "j");
    CHECK(s.state == p::JobState::done);
    CHECK(s.attempt == 3);
    REQUIRE(s.errors.size() == 2);
    CHECK(s.errors[0].attempt == 1);
    CHECK(s.errors[0].error == "first error");
    CHECK(s.errors[1].attempt == 2);
    CHECK(s.errors[1].error == "second error");
    auto results = f.outbox.to_producer_of<p::JobResult>("P");
    REQUIRE(results.size() == 1);  // one RESULT, when the job ended, not per attempt
    CHECK(results[0].state == p::JobState::done);
    CHECK(f.scheduler.counters().retries_scheduled == 2);
}

TEST_CASE("a job out of attempts goes to the dead set with its history, and RETRY brings it back",
          "[broker][scheduler][dead]") {
    Fixture f;
    f.ready("W", {"q"}, 1);
    auto submit = job("j");
    submit.retry.max_attempts = 2;
    submit.retry.backoff_ms = 100;
    submit.retry.backoff_jitter_pct = 0;
    f.submit_message(std::move(submit));
    f.fail("W", "j", 1, "e1");
    f.advance(100ms);
    f.fail("W", "j", 2, "e2");
    auto results = f.outbox.to_producer_of<p::JobResult>("P");
    REQUIRE(results.size() == 1);
    CHECK(results[0].state == p::JobState::failed);
    CHECK(results[0].error == "e2");
    CHECK(status_of(f, "j").state == p::JobState::failed);

    f.request(p::DeadRequest{"q", 10}, "A");
    auto dead = f.outbox.to_producer_of<p::DeadReply>("A");
    REQUIRE(dead.size() == 1);
    CHECK(dead[0].total == 1);
    REQUIRE(dead[0].jobs.size() == 1);
    CHECK(dead[0].jobs[0].id == "j");
    CHECK(dead[0].jobs[0].attempts == 2);
    CHECK(dead[0].jobs[0].errors.size() == 2);

    f.jobs_for("W");
    f.request(p::Retry{"j", ""}, "A");
    auto ok = f.outbox.to_producer_of<p::Ok>("A");
    REQUIRE(ok.size() == 1);
    CHECK(ok[0].command == "RETRY");
    CHECK(ok[0].count == 1);
    auto again = f.jobs_for("W");
    REQUIRE(again.size() == 1);
    CHECK(again[0].attempt == 3);  // attempt numbers keep growing: old leases stay fenced off
    f.done("W", "j", 3);
    CHECK(status_of(f, "j").state == p::JobState::done);

    SECTION("RETRY of a job that is not dead is refused and changes nothing") {
        f.request(p::Retry{"j", ""}, "A");
        auto errors = errors_to(f, "A");
        REQUIRE(errors.size() == 1);
        CHECK(errors[0].code == p::ErrorCode::wrong_state);
        CHECK(errors[0].command == "RETRY");
        f.request(p::Retry{"nope", ""}, "A");
        CHECK(errors_to(f, "A").at(0).code == p::ErrorCode::unknown_job);
    }
}

TEST_CASE("a permanent failure skips the remaining attempts", "[broker][scheduler][dead]") {
    Fixture f;
    f.ready("W", {"q"}, 1);
    f.submit_message(job("j"));
    f.fail("W", "j", 1, "bad input", true);
    CHECK(status_of(f, "j").state == p::JobState::failed);
    CHECK(f.scheduler.counters().retries_scheduled == 0);
    f.request(p::Retry{"", "q"}, "A");
    auto ok = f.outbox.to_producer_of<p::Ok>("A");
    REQUIRE(ok.size() == 1);
    CHECK(ok[0].count == 1);
    CHECK(f.jobs_for("W").size() == 2);
}

TEST_CASE("the dead set is bounded in count and in age, and PURGE empties it", "[broker][scheduler][dead]") {
    Fixture f;
    f.request(p::QueueSettings{"q", {}, {}, {1, {}, {}, {}}, {}, 2, 60'000, true}, "A");
    f.ready("W", {"q"}, 10);
    for (const char* id : {"a", "b", "c"}) {
        f.submit_message(job(id));
        f.fail("W", id, 1, "no");
        f.advance(1s);
    }
    f.request(p::DeadRequest{"q", 10}, "A");
    auto dead = f.outbox.to_producer_of<p::DeadReply>("A");
    REQUIRE(dead.at(0).jobs.size() == 2);  // "a" was dropped for "c"
    CHECK(dead[0].jobs[0].id == "c");      // newest first
    CHECK(dead[0].jobs[1].id == "b");
    CHECK(f.scheduler.counters().dead_evicted == 1);
    CHECK(status_of(f, "a").state == p::JobState::failed);  // still answerable as failed

    f.advance(58s);
    f.scheduler.tick(f.now);
    f.request(p::DeadRequest{"q", 10}, "A");
    dead = f.outbox.to_producer_of<p::DeadReply>("A");
    REQUIRE(dead.at(0).jobs.size() == 1);  // "b" died 60 s ago, at the 60 s age; "c" 59 s ago
    CHECK(dead[0].jobs[0].id == "c");
    f.request(p::Purge{"q", ""}, "A");
    CHECK(f.outbox.to_producer_of<p::Ok>("A").back().count == 1);
    f.request(p::DeadRequest{"q", 10}, "A");
    CHECK(f.outbox.to_producer_of<p::DeadReply>("A").at(0).total == 0);
}

TEST_CASE("a dead_max_count of 0 keeps every dead job, and the age bound still drops them",
          "[broker][scheduler][dead]") {
    Fixture f;
    p::QueueSettings settings{"q", {}, {}, {1, {}, {}, {}}, {}, 0, 60'000};
    settings.should_create = true;
    f.request(std::move(settings), "A");
    REQUIRE(f.outbox.to_producer_of<p::QueueSettings>("A").at(0).dead_max_count == 0u);
    f.ready("W", {"q"}, 10);
    for (const char* id : {"a", "b", "c"}) {
        f.submit_message(job(id));
        f.fail("W", id, 1, "no");
    }
    f.scheduler.tick(f.now);
    f.request(p::DeadRequest{"q", 10}, "A");
    CHECK(f.outbox.to_producer_of<p::DeadReply>("A").at(0).total == 3);
    CHECK(f.scheduler.counters().dead_evicted == 0);
    f.advance(60s);
    f.scheduler.tick(f.now);
    f.request(p::DeadRequest{"q", 10}, "A");
    CHECK(f.outbox.to_producer_of<p::DeadReply>("A").at(0).total == 0);
}

TEST_CASE("higher priority runs first and equal priorities keep their order", "[broker][scheduler][priority]") {
    Fixture f;
    const std::vector<std::pair<std::string, int>> backlog = {{"low1", -5}, {"mid1", 0}, {"high1", 10},
                                                              {"mid2", 0},  {"high2", 10}, {"low2", -5}};
    for (const auto& [id, priority] : backlog) {
        auto submit = job(id);
        submit.priority = priority;
        f.submit_message(std::move(submit));
    }
    f.ready("W", {"q"}, 6);
    CHECK(f.job_ids_for("W") == std::vector<std::string>{"high1", "high2", "mid1", "mid2", "low1", "low2"});
}

TEST_CASE("a delayed job is not dispatched before its time", "[broker][scheduler][delay]") {
    Fixture f;
    f.ready("W", {"q"}, 1);
    auto submit = job("later");
    submit.delay_ms = 5000;
    f.submit_message(std::move(submit));
    CHECK(status_of(f, "later").state == p::JobState::delayed);
    REQUIRE(f.scheduler.next_deadline());
    CHECK(*f.scheduler.next_deadline() == f.now + 5s);
    f.advance(4999ms);
    CHECK(f.jobs_for("W").empty());
    f.advance(1ms);
    CHECK(f.job_ids_for("W") == std::vector<std::string>{"later"});
}

TEST_CASE("run_at is read against the broker's wall clock, a time in the past is refused",
          "[broker][scheduler][delay]") {
    Fixture f;
    f.ready("W", {"q"}, 1);
    const auto wall_ms = std::chrono::duration_cast<std::chrono::milliseconds>(f.wall.time_since_epoch()).count();
    auto past = job("past");
    past.run_at_ms = static_cast<std::uint64_t>(wall_ms - 1000);
    f.submit_message(std::move(past));
    auto errors = errors_to(f);
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].code == p::ErrorCode::bad_field_value);
    CHECK(errors[0].message.rfind("run_at_ms", 0) == 0);
    CHECK(errors[0].id == "past");
    f.request(p::StatusRequest{"past"}, "S");
    CHECK(errors_to(f, "S").at(0).code == p::ErrorCode::unknown_job);  // nothing was created

    auto future = job("future");
    future.run_at_ms = static_cast<std::uint64_t>(wall_ms + 3000);
    f.submit_message(std::move(future));
    f.advance(2999ms);
    CHECK(f.jobs_for("W").empty());
    f.advance(1ms);
    CHECK(f.job_ids_for("W") == std::vector<std::string>{"future"});
}

TEST_CASE("a job over its timeout has its lease revoked, the worker told, and is retried",
          "[broker][scheduler][timeout]") {
    Fixture f;
    f.ready("W", {"q"}, 1);
    auto submit = job("slow");
    submit.timeout_ms = 2000;
    submit.retry.backoff_ms = 10;
    f.submit_message(std::move(submit));
    REQUIRE(f.jobs_for("W").size() == 1);
    f.advance(1999ms);
    CHECK(f.outbox.to_worker_of<p::Abandon>("W").empty());
    f.advance(1ms);
    auto abandon = f.outbox.to_worker_of<p::Abandon>("W");
    REQUIRE(abandon.size() == 1);
    CHECK(abandon[0].id == "slow");
    CHECK(abandon[0].attempt == 1);
    CHECK(abandon[0].reason == "timeout");
    auto s = status_of(f, "slow");
    CHECK(s.state == p::JobState::delayed);
    REQUIRE(s.errors.size() == 1);
    CHECK(s.errors[0].error == "timed out after 2s");
    // The late DONE of the revoked lease is discarded; the retry's lease is attempt 2.
    f.done("W", "slow", 1);
    CHECK(f.scheduler.counters().stale_completions == 1);
    f.advance(20ms);
    auto retried = f.jobs_for("W");
    REQUIRE(retried.size() == 1);
    CHECK(retried[0].attempt == 2);
    f.done("W", "slow", 2);
    CHECK(status_of(f, "slow").state == p::JobState::done);
}

TEST_CASE("without a timeout a job runs as long as its worker heartbeats", "[broker][scheduler][timeout]") {
    Fixture f;
    f.ready("W", {"q"}, 1);
    f.submit_message(job("long"));
    REQUIRE(f.jobs_for("W").size() == 1);
    for (int i = 0; i < 3600; ++i) {  // an hour of heartbeats
        f.advance(1s);
        f.heartbeat("W");
        f.scheduler.tick(f.now);
    }
    CHECK(f.outbox.to_worker_of<p::Abandon>("W").empty());
    CHECK(f.jobs_for("W").empty());
    CHECK(status_of(f, "long").state == p::JobState::running);
    f.done("W", "long", 1);
    CHECK(status_of(f, "long").state == p::JobState::done);
}

TEST_CASE("a queue's timeout applies to jobs that set none", "[broker][scheduler][timeout]") {
    Fixture f;
    f.request(p::QueueSettings{"q", {}, {}, {}, 500, {}, {}, true}, "A");
    f.ready("W", {"q"}, 1);
    f.submit_message(job("j"));
    f.advance(500ms);
    CHECK(f.outbox.to_worker_of<p::Abandon>("W").size() == 1);
}

TEST_CASE("cancel removes a pending or delayed job and revokes a running one", "[broker][scheduler][cancel]") {
    Fixture f;
    auto delayed = job("delayed");
    delayed.delay_ms = 60'000;
    f.submit_message(std::move(delayed));
    f.submit_message(job("pending"));
    f.request(p::Cancel{"pending"}, "A");
    f.request(p::Cancel{"delayed"}, "A");
    CHECK(f.outbox.to_producer_of<p::Ok>("A").size() == 2);
    auto results = f.outbox.to_producer_of<p::JobResult>("P");
    REQUIRE(results.size() == 2);
    CHECK(results[0].state == p::JobState::cancelled);
    CHECK(results[1].state == p::JobState::cancelled);
    CHECK_FALSE(f.scheduler.next_deadline());
    f.ready("W", {"q"}, 1);
    CHECK(f.jobs_for("W").empty());  // nothing left to run

    f.submit_message(job("running"));
    REQUIRE(f.jobs_for("W").size() == 1);
    f.request(p::Cancel{"running"}, "A");
    auto abandon = f.outbox.to_worker_of<p::Abandon>("W");
    REQUIRE(abandon.size() == 1);
    CHECK(abandon[0].reason == "cancelled");
    CHECK(f.outbox.to_producer_of<p::JobResult>("P").at(0).state == p::JobState::cancelled);
    CHECK(status_of(f, "running").state == p::JobState::cancelled);
    f.done("W", "running", 1);
    CHECK(f.scheduler.counters().stale_completions == 1);
    // The worker's credit came back with the revoked lease.
    f.submit_message(job("next"));
    CHECK(f.job_ids_for("W") == std::vector<std::string>{"next"});

    f.request(p::Cancel{"running"}, "A");
    CHECK(errors_to(f, "A").at(0).code == p::ErrorCode::wrong_state);
    f.request(p::Cancel{"never"}, "A");
    auto unknown = errors_to(f, "A");
    CHECK(unknown.at(0).code == p::ErrorCode::unknown_job);
    CHECK(unknown.at(0).command == "CANCEL");
}

TEST_CASE("two submits with the same unique key make one job until it ends", "[broker][scheduler][unique]") {
    Fixture f;
    auto first = job("a");
    first.unique_key = "report-42";
    auto second = job("b");
    second.unique_key = "report-42";
    f.submit_message(std::move(first));
    f.submit_message(std::move(second), "P2");
    auto accepted = f.outbox.to_producer_of<p::Accepted>("P2");
    REQUIRE(accepted.size() == 1);
    CHECK(accepted[0].existed);
    CHECK(accepted[0].id == "b");
    CHECK(accepted[0].job_id == "a");
    CHECK(f.pending_count("q") == 1);
    // The same key in another queue is another job.
    auto other = job("c", "other");
    other.unique_key = "report-42";
    f.submit_message(std::move(other));
    CHECK(f.pending_count("other") == 1);

    f.ready("W", {"q"}, 1);
    f.done("W", "a", 1, "r");
    CHECK(f.outbox.to_producer_of<p::JobResult>("P2").size() == 1);  // the later waiter is told
    auto third = job("d");
    third.unique_key = "report-42";
    f.submit_message(std::move(third));
    CHECK(f.outbox.to_producer_of<p::Accepted>("P").back().job_id == "d");  // key free once "a" ended
}

TEST_CASE("progress from the lease holder is kept and forwarded, anyone else's is ignored",
          "[broker][scheduler][progress]") {
    Fixture f;
    f.ready("W", {"q"}, 1);
    f.ready("X", {"other"}, 1);
    f.submit_message(job("j"));
    f.scheduler.on_worker_message("W", p::Progress{"j", 1, 40, "4 of 10"}, f.now);
    f.scheduler.on_worker_message("X", p::Progress{"j", 1, 90, "not mine"}, f.now);
    f.scheduler.on_worker_message("W", p::Progress{"j", 7, 90, "old lease"}, f.now);
    auto s = status_of(f, "j");
    REQUIRE(s.progress);
    CHECK(*s.progress == 40);
    CHECK(s.progress_message == "4 of 10");
    auto forwarded = f.outbox.to_producer_of<p::Progress>("P");
    REQUIRE(forwarded.size() == 1);
    CHECK(forwarded[0].percent == 40);
    f.done("W", "j", 1);
    CHECK_FALSE(status_of(f, "j").progress);
}

TEST_CASE("a paused queue holds its jobs and resume releases them", "[broker][scheduler][pause]") {
    Fixture f;
    f.ready("W", {"q"}, 4);
    f.request(p::QueueSettings{"q", true, {}, {}, {}, {}, {}}, "A");
    auto settings = f.outbox.to_producer_of<p::QueueSettings>("A");
    REQUIRE(settings.size() == 1);
    CHECK(settings[0].is_paused == true);
    CHECK(settings[0].retry.max_attempts == p::kDefaultMaxAttempts);  // every field is answered
    CHECK(settings[0].max_length == p::kDefaultMaxQueueLength);
    f.submit_message(job("a"));
    f.submit_message(job("b"));
    CHECK(f.jobs_for("W").empty());
    CHECK(f.outbox.to_producer_of<p::Accepted>("P").size() == 2);  // still accepted
    f.request(p::QueueSettings{"q", false, {}, {}, {}, {}, {}}, "A");
    CHECK(f.job_ids_for("W") == std::vector<std::string>{"a", "b"});
}

TEST_CASE("at its max length a queue answers queue_full and loses nothing", "[broker][scheduler][max_length]") {
    Fixture f;
    f.request(p::QueueSettings{"q", {}, 3, {}, {}, {}, {}, true}, "A");
    for (const char* id : {"a", "b", "c", "d"}) f.submit_message(job(id));
    auto errors = errors_to(f);
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].code == p::ErrorCode::queue_full);
    CHECK(errors[0].id == "d");
    CHECK(f.pending_count("q") == 3);
    f.ready("W", {"q"}, 10);
    CHECK(f.job_ids_for("W") == std::vector<std::string>{"a", "b", "c"});
    f.submit_message(job("d"));  // room again: running jobs do not count
    CHECK(errors_to(f).empty());
}

TEST_CASE("a worker's death counts as an attempt, so a job that kills workers ends dead",
          "[broker][scheduler][retry]") {
    Fixture f;
    auto submit = job("poison");
    submit.retry.max_attempts = 2;
    f.submit_message(std::move(submit));
    for (const char* worker : {"W1", "W2"}) {
        f.ready(worker, {"q"}, 1);
        REQUIRE(f.jobs_for(worker).size() == 1);
        f.scheduler.on_worker_message(worker, p::Heartbeat{}, f.now);
        f.advance(3s);
        f.scheduler.tick(f.now);  // silent for liveness x interval: dead
    }
    auto s = status_of(f, "poison");
    CHECK(s.state == p::JobState::failed);
    REQUIRE(s.errors.size() == 2);
    CHECK(s.errors[1].error.find("W2 died") != std::string::npos);
}
