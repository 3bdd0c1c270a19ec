// The admin rules of docs/jobs.md §Queues and §Looking into a queue on manual clocks: requests
// on a queue that does not exist, explicit creation and deletion, LIST's pages, CLEAR, the
// times STATUS, DEAD and STATS report, and a job id reused for another job (id_conflict).
#include <catch2/catch.hpp>

#include <functional>

#include "scheduler_fixture.hpp"

namespace p = corsair::protocol;
using corsair::broker::test::Fixture;
using namespace std::chrono_literals;

namespace {

p::Submit job(const std::string& id, const std::string& queue = "q", const std::string& payload = "") {
    return p::make_submit(id, queue, true, p::make_payload(payload.empty() ? "payload-" + id : payload));
}

std::vector<p::Error> errors_to(Fixture& f, const std::string& producer = "A") {
    return f.outbox.to_producer_of<p::Error>(producer);
}

p::QueueSettings create_request(const std::string& queue) {
    p::QueueSettings request;
    request.queue = queue;
    request.should_create = true;
    return request;
}

p::ListReply list(Fixture& f, const std::string& queue, p::ListedState state, const std::string& after = "",
                  std::uint32_t limit = 100) {
    f.request(p::ListRequest{queue, state, after, limit}, "A");
    auto replies = f.outbox.to_producer_of<p::ListReply>("A");
    REQUIRE(replies.size() == 1);
    return std::move(replies[0]);
}

std::vector<std::string> ids_of(const p::ListReply& reply) {
    std::vector<std::string> ids;
    for (const auto& job : reply.jobs) ids.push_back(job.id);
    return ids;
}

std::uint64_t wall_ms(const Fixture& f) {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(f.wall.time_since_epoch()).count());
}

bool has_queue(Fixture& f, const std::string& name) {
    for (const auto& q : f.scheduler.stats(f.now).queues) {
        if (q.name == name) return true;
    }
    return false;
}

}  // namespace

TEST_CASE("an admin request naming a queue that does not exist is refused and creates nothing",
          "[broker][admin][unknown_queue]") {
    Fixture f;
    f.submit_message(job("a", "real"));
    p::QueueSettings pause;
    pause.queue = "typo4";
    pause.is_paused = true;
    p::QueueSettings show;
    show.queue = "typo4";
    const std::vector<std::pair<std::string, std::function<p::Message()>>> requests = {
        {"QUEUE", [&] { return p::Message(pause); }},
        {"QUEUE", [&] { return p::Message(show); }},
        {"DEAD", [] { return p::Message(p::DeadRequest{"typo4", 10}); }},
        {"PURGE", [] { return p::Message(p::Purge{"typo4", ""}); }},
        {"RETRY", [] { return p::Message(p::Retry{"", "typo4"}); }},
        {"LIST", [] { return p::Message(p::ListRequest{"typo4", p::ListedState::pending, "", 10}); }},
        {"CLEAR", [] { return p::Message(p::Clear{"typo4", true, true}); }},
        {"DELETE_QUEUE", [] { return p::Message(p::DeleteQueue{"typo4", true}); }},
    };
    for (const auto& [command, request] : requests) {
        INFO(command);
        f.request(request(), "A");
        auto errors = errors_to(f);
        REQUIRE(errors.size() == 1);
        CHECK(errors[0].code == p::ErrorCode::unknown_queue);
        CHECK(errors[0].id == "typo4");
        CHECK(errors[0].command == command);
        CHECK(f.outbox.to_producers["A"].empty());
    }
    CHECK_FALSE(has_queue(f, "typo4"));
    CHECK(f.scheduler.stats(f.now).queues.size() == 1);
}

TEST_CASE("QUEUE with create makes a queue with its settings, and says whether it did",
          "[broker][admin][queue_create]") {
    Fixture f;
    p::QueueSettings request = create_request("emails");
    request.max_length = 5;
    f.request(p::QueueSettings(request), "A");
    auto replies = f.outbox.to_producer_of<p::QueueSettings>("A");
    REQUIRE(replies.size() == 1);
    CHECK(replies[0].was_created);
    CHECK(replies[0].max_length == std::optional<std::uint64_t>(5));
    CHECK(has_queue(f, "emails"));

    SECTION("creating it again changes its settings and says it existed") {
        request.max_length = 7;
        f.request(p::QueueSettings(request), "A");
        replies = f.outbox.to_producer_of<p::QueueSettings>("A");
        REQUIRE(replies.size() == 1);
        CHECK_FALSE(replies[0].was_created);
        CHECK(replies[0].max_length == std::optional<std::uint64_t>(7));
    }
    SECTION("pausing it now works") {
        p::QueueSettings pause;
        pause.queue = "emails";
        pause.is_paused = true;
        f.request(std::move(pause), "A");
        replies = f.outbox.to_producer_of<p::QueueSettings>("A");
        REQUIRE(replies.size() == 1);
        CHECK(replies[0].is_paused == std::optional<bool>(true));
    }
}

TEST_CASE("DELETE_QUEUE refuses a queue that holds jobs unless forced, then ends them and forgets the queue",
          "[broker][admin][delete_queue]") {
    Fixture f;
    f.ready("W", {"q"}, 1);
    f.submit_message(job("running"));
    f.submit_message(job("waiting"), "P");
    f.outbox.to_producer_of<p::Accepted>("P");
    f.request(p::DeleteQueue{"q", false}, "A");
    auto errors = errors_to(f);
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].code == p::ErrorCode::wrong_state);
    CHECK(errors[0].message.find("2 jobs (1 pending, 0 delayed, 1 running, 0 failed)") != std::string::npos);

    f.request(p::DeleteQueue{"q", true}, "A");
    auto ok = f.outbox.to_producer_of<p::Ok>("A");
    REQUIRE(ok.size() == 1);
    CHECK(ok[0].command == "DELETE_QUEUE");
    CHECK(ok[0].count == 2);
    CHECK_FALSE(has_queue(f, "q"));
    CHECK(f.find_job("running")->state == p::JobState::cancelled);
    CHECK(f.find_job("waiting")->state == p::JobState::cancelled);
    CHECK(f.outbox.to_worker_of<p::Abandon>("W").size() == 1);  // the running attempt is told to stop
    auto results = f.outbox.to_producer_of<p::JobResult>("P");
    CHECK(results.size() == 2);

    SECTION("the worker that served it stays; a new job makes the queue again, with the defaults") {
        CHECK(f.worker_count() == 1);
        f.submit_message(job("again"));
        CHECK(has_queue(f, "q"));
        CHECK(f.job_ids_for("W") == std::vector<std::string>{"running", "again"});
    }
    SECTION("an empty queue is deleted without force") {
        f.request(create_request("empty"), "A");
        f.outbox.to_producer_of<p::QueueSettings>("A");
        f.request(p::DeleteQueue{"empty", false}, "A");
        CHECK(f.outbox.to_producer_of<p::Ok>("A").size() == 1);
        CHECK_FALSE(has_queue(f, "empty"));
    }
}

TEST_CASE("CLEAR removes a queue's waiting jobs, which end cancelled, and leaves running and dead ones",
          "[broker][admin][clear]") {
    Fixture f;
    f.ready("W", {"q"}, 1);
    f.submit_message(job("running"));
    f.submit_message(job("pending"));
    p::Submit later = job("delayed");
    later.delay_ms = 60'000;
    f.submit_message(std::move(later));

    SECTION("pending only, by default") {
        f.request(p::Clear{"q", true, false}, "A");
        auto ok = f.outbox.to_producer_of<p::Ok>("A");
        REQUIRE(ok.size() == 1);
        CHECK(ok[0].command == "CLEAR");
        CHECK(ok[0].count == 1);
        CHECK(f.find_job("pending")->state == p::JobState::cancelled);
        CHECK(f.find_job("delayed")->state == p::JobState::delayed);
        CHECK(f.find_job("running")->state == p::JobState::running);
    }
    SECTION("pending and delayed") {
        f.request(p::Clear{"q", true, true}, "A");
        auto ok = f.outbox.to_producer_of<p::Ok>("A");
        REQUIRE(ok.size() == 1);
        CHECK(ok[0].count == 2);
        CHECK(f.find_job("delayed")->state == p::JobState::cancelled);
        CHECK(f.find_job("running")->state == p::JobState::running);
    }
}

TEST_CASE("LIST pages through a queue's pending jobs in run order with a cursor", "[broker][admin][list]") {
    Fixture f;
    for (const char* id : {"a", "b", "c", "d", "e"}) f.submit_message(job(id));
    p::Submit urgent = job("urgent");
    urgent.priority = 10;
    f.submit_message(std::move(urgent));

    const p::ListReply first = list(f, "q", p::ListedState::pending, "", 2);
    CHECK(first.total == 6);
    CHECK(ids_of(first) == std::vector<std::string>{"urgent", "a"});
    CHECK(first.next == "a");
    CHECK(first.jobs[0].priority == 10);
    CHECK(first.jobs[0].payload_bytes == std::string("payload-urgent").size());
    CHECK(first.jobs[0].created_ms == std::optional<std::uint64_t>(wall_ms(f)));
    const p::ListReply second = list(f, "q", p::ListedState::pending, first.next, 3);
    CHECK(ids_of(second) == std::vector<std::string>{"b", "c", "d"});
    const p::ListReply last = list(f, "q", p::ListedState::pending, second.next, 3);
    CHECK(ids_of(last) == std::vector<std::string>{"e"});
    CHECK(last.next.empty());

    SECTION("a cursor whose job has left the list starts again from the start") {
        f.ready("W", {"q"}, 1);  // takes "urgent"
        CHECK(ids_of(list(f, "q", p::ListedState::pending, "urgent", 1)) == std::vector<std::string>{"a"});
    }
}

TEST_CASE("LIST shows delayed jobs soonest first, running ones with their worker, failed ones newest first",
          "[broker][admin][list]") {
    Fixture f;
    p::Submit late = job("late");
    late.delay_ms = 90'000;
    p::Submit soon = job("soon");
    soon.delay_ms = 30'000;
    f.submit_message(std::move(late));
    f.submit_message(std::move(soon));
    const p::ListReply delayed = list(f, "q", p::ListedState::delayed);
    CHECK(ids_of(delayed) == std::vector<std::string>{"soon", "late"});
    CHECK(delayed.jobs[0].ready_at_ms == std::optional<std::uint64_t>(wall_ms(f) + 30'000));

    p::Submit once = job("x");
    once.retry.max_attempts = 1;
    p::Submit once_more = job("y");
    once_more.retry.max_attempts = 1;
    f.submit_message(std::move(once));
    f.submit_message(std::move(once_more));
    f.ready("W", {"q"}, 2);
    f.advance(2s);
    const p::ListReply running = list(f, "q", p::ListedState::running);
    REQUIRE(ids_of(running) == std::vector<std::string>{"x", "y"});
    CHECK(running.jobs[0].worker == "W");
    CHECK(running.jobs[0].started_ms == std::optional<std::uint64_t>(wall_ms(f) - 2000));

    f.fail("W", "x", 1, "first to die");
    f.advance(1s);
    f.fail("W", "y", 1, "second to die");
    const p::ListReply failed = list(f, "q", p::ListedState::failed);
    CHECK(ids_of(failed) == std::vector<std::string>{"y", "x"});
    CHECK(failed.jobs[0].error == "second to die");
    CHECK(failed.jobs[0].died_ms == std::optional<std::uint64_t>(wall_ms(f)));
    CHECK(ids_of(list(f, "q", p::ListedState::failed, "y")) == std::vector<std::string>{"x"});
}

TEST_CASE("LIST marks a running job its worker holds ready behind the one it runs", "[broker][admin][list]") {
    Fixture f;
    f.ready("W", {"q"}, 1, 1);  // capacity 1, one more held ready
    f.submit_message(job("first"));
    f.submit_message(job("second"));
    const p::ListReply running = list(f, "q", p::ListedState::running);
    REQUIRE(ids_of(running) == std::vector<std::string>{"first", "second"});
    CHECK_FALSE(running.jobs[0].is_held_ready);
    CHECK(running.jobs[1].is_held_ready);
    CHECK(running.jobs[1].worker == "W");
    f.done("W", "first", 1);
    const p::ListReply after = list(f, "q", p::ListedState::running);
    REQUIRE(ids_of(after) == std::vector<std::string>{"second"});
    CHECK_FALSE(after.jobs[0].is_held_ready);  // it runs now: the worker's only lease
}

TEST_CASE("STATUS tells when a job was created, started and finished, and which worker ran it after it ended",
          "[broker][admin][status]") {
    Fixture f;
    f.ready("W", {"q"}, 1);
    const std::uint64_t created = wall_ms(f);
    f.advance(1s);
    f.submit_message(job("j"));
    auto pending = f.find_job("j");
    REQUIRE(pending);
    CHECK(pending->created_ms == std::optional<std::uint64_t>(created + 1000));
    CHECK(pending->started_ms == std::optional<std::uint64_t>(created + 1000));  // dispatched at once
    f.advance(3s);
    f.done("W", "j", 1);
    const auto done = f.find_job("j");
    REQUIRE(done);
    CHECK(done->state == p::JobState::done);
    CHECK(done->worker == "W");
    CHECK(done->created_ms == std::optional<std::uint64_t>(created + 1000));
    CHECK(done->started_ms == std::optional<std::uint64_t>(created + 1000));
    CHECK(done->finished_ms == std::optional<std::uint64_t>(created + 4000));
}

TEST_CASE("STATUS with payload answers with the job's own bytes while the broker holds the job",
          "[broker][admin][status]") {
    Fixture f;
    f.submit_message(job("j", "q", std::string("bin\0ary", 7)));
    p::StatusRequest ask{"j", true};
    f.request(ask, "A");
    auto replies = f.outbox.to_producer_of<p::StatusReply>("A");
    REQUIRE(replies.size() == 1);
    CHECK(replies[0].holds_job_payload);
    CHECK(p::view_of(replies[0].payload) == std::string_view("bin\0ary", 7));

    f.request(p::Cancel{"j"}, "A");
    f.request(ask, "A");
    auto errors = errors_to(f);
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].code == p::ErrorCode::wrong_state);
}

TEST_CASE("DEAD lists the newest failures first, each with the time it died", "[broker][admin][dead]") {
    Fixture f;
    f.ready("W", {"q"}, 3);
    for (const char* id : {"old", "middle", "new"}) {
        p::Submit once = job(id);
        once.retry.max_attempts = 1;
        f.submit_message(std::move(once));
    }
    for (const char* id : {"old", "middle", "new"}) {
        f.fail("W", id, 1, "boom");
        f.advance(1s);
    }
    f.request(p::DeadRequest{"q", 2}, "A");
    auto replies = f.outbox.to_producer_of<p::DeadReply>("A");
    REQUIRE(replies.size() == 1);
    CHECK(replies[0].total == 3);
    REQUIRE(replies[0].jobs.size() == 2);
    CHECK(replies[0].jobs[0].id == "new");
    CHECK(replies[0].jobs[1].id == "middle");
    CHECK(replies[0].jobs[0].died_ms == std::optional<std::uint64_t>(wall_ms(f) - 1000));
}

TEST_CASE("STATS tells the broker's uptime and version and how long each queue's oldest pending job has waited",
          "[broker][admin][stats]") {
    Fixture f;
    f.submit_message(job("first"));
    f.advance(2s);
    f.submit_message(job("second"));
    f.request(create_request("idle"), "A");
    f.advance(500ms);
    const p::StatsReply stats = f.scheduler.stats(f.now);
    CHECK(stats.uptime_ms == 2500);
    CHECK_FALSE(stats.version.empty());
    REQUIRE(stats.queues.size() == 2);
    CHECK(stats.queues[0].name == "idle");
    CHECK_FALSE(stats.queues[0].oldest_pending_ms);
    CHECK(stats.queues[1].oldest_pending_ms == std::optional<std::uint64_t>(2500));
}

TEST_CASE("a known job id submitted with another queue or payload is refused with id_conflict",
          "[broker][submit][id_conflict]") {
    Fixture f;
    f.submit_message(job("j", "q", "the payload"));
    f.outbox.to_producer_of<p::Accepted>("P");

    SECTION("the same queue and payload stand for the same job") {
        f.submit_message(job("j", "q", "the payload"));
        auto accepted = f.outbox.to_producer_of<p::Accepted>("P");
        REQUIRE(accepted.size() == 1);
        CHECK(accepted[0].existed);
    }
    SECTION("another queue") {
        f.submit_message(job("j", "other", "the payload"));
        auto errors = errors_to(f, "P");
        REQUIRE(errors.size() == 1);
        CHECK(errors[0].code == p::ErrorCode::id_conflict);
        CHECK(errors[0].command == "SUBMIT");
        CHECK(errors[0].id == "j");
        CHECK_FALSE(has_queue(f, "other"));
    }
    SECTION("another payload") {
        f.submit_message(job("j", "q", "another payload"));
        auto errors = errors_to(f, "P");
        REQUIRE(errors.size() == 1);
        CHECK(errors[0].code == p::ErrorCode::id_conflict);
    }
    SECTION("after the job ended, its payload is still compared") {
        f.ready("W", {"q"}, 1);
        f.done("W", "j", 1);
        f.submit_message(job("j", "q", "another payload"));
        auto errors = errors_to(f, "P");
        REQUIRE(errors.size() == 1);
        CHECK(errors[0].code == p::ErrorCode::id_conflict);
        f.submit_message(job("j", "q", "the payload"));
        CHECK(f.outbox.to_producer_of<p::Accepted>("P").size() == 1);
    }
    CHECK(f.scheduler.counters().jobs_submitted == 1);
}

// protocol.md §5.18: unknown_job only when the broker has no record of the id in that queue; a
// job it knows there that is not dead (waiting, running, or ended and kept) is wrong_state.
TEST_CASE("PURGE of a job that is not dead is wrong_state, and unknown_job only for an id the queue never had",
          "[broker][admin][purge]") {
    Fixture f;
    f.ready("W", {"q"}, 1);
    f.submit_message(job("running"));
    f.submit_message(job("pending"));
    f.submit_message(job("cancelled"));
    f.request(p::Cancel{"cancelled"}, "A");
    f.done("W", "running", 1);  // ends done; "pending" now runs on W
    f.submit_message(job("other", "q2"));
    f.outbox.to_producers.erase("A");
    auto refusal = [&](const std::string& queue, const std::string& id) {
        f.request(p::Purge{queue, id}, "A");
        auto errors = errors_to(f);
        f.outbox.to_producers.erase("A");
        REQUIRE(errors.size() == 1);
        CHECK(errors[0].id == id);
        CHECK(errors[0].command == "PURGE");
        return errors[0].code;
    };
    CHECK(refusal("q", "running") == p::ErrorCode::wrong_state);  // done, kept
    CHECK(refusal("q", "pending") == p::ErrorCode::wrong_state);  // running now
    CHECK(refusal("q", "cancelled") == p::ErrorCode::wrong_state);
    CHECK(refusal("q", "never") == p::ErrorCode::unknown_job);
    CHECK(refusal("q", "other") == p::ErrorCode::unknown_job);  // known, but in q2
    SECTION("a purged job, asked again, is wrong_state: the first PURGE worked") {
        p::Submit once = job("dead");
        once.retry.max_attempts = 1;
        f.submit_message(std::move(once));
        f.done("W", "pending", 1);
        f.fail("W", "dead", 1, "no");
        f.request(p::Purge{"q", "dead"}, "A");
        REQUIRE(f.outbox.to_producer_of<p::Ok>("A").size() == 1);
        CHECK(refusal("q", "dead") == p::ErrorCode::wrong_state);
    }
}

// protocol.md §1: `attempt` numbers leases and goes up with each; max_attempts limits the
// attempts charged. A lease given back is not charged, so STATUS and LIST report both, and an
// ended job keeps its charged count (never "attempt 2 of 1").
TEST_CASE("STATUS and LIST report the attempts charged apart from the lease number, also once the job ended",
          "[broker][admin][status]") {
    Fixture f;
    p::Submit once = job("j");
    once.retry.max_attempts = 1;
    f.submit_message(std::move(once));
    f.ready("A", {"q"}, 1);
    REQUIRE(f.job_ids_for("A") == std::vector<std::string>{"j"});
    f.scheduler.on_worker_message("A", p::Disconnect{"drain_timeout"}, f.now);
    f.ready("B", {"q"}, 1);
    REQUIRE(f.jobs_for("B").at(0).attempt == 2);

    const p::ListReply running = list(f, "q", p::ListedState::running);
    REQUIRE(running.jobs.size() == 1);
    CHECK(running.jobs[0].attempt == 2);
    CHECK(running.jobs[0].counted_attempts == 1u);
    CHECK(running.jobs[0].max_attempts == 1);

    f.done("B", "j", 2);
    const auto ended = f.find_job("j");
    REQUIRE(ended);
    CHECK(ended->state == p::JobState::done);
    CHECK(ended->attempt == 2);
    CHECK(ended->counted_attempts == 1u);
    CHECK(ended->max_attempts == 1);
}
