// JOBS and DONES on the broker's side (protocol.md §5.25, §5.26): jobs one worker gets in a turn
// go out together, each DONES entry completes its own lease, and a batch that cannot be sent
// leaves every job as it was.
#include <catch2/catch.hpp>

#include "scheduler_fixture.hpp"

namespace p = corsair::protocol;
using corsair::broker::test::Fixture;

namespace {

void ready_batching(Fixture& f, const std::string& worker, std::uint32_t capacity, std::uint32_t batch) {
    f.scheduler.on_worker_message(worker, p::Ready{{"q"}, capacity, worker, batch}, f.now);
}

std::vector<std::string> ids_of(const p::Jobs& jobs) {
    std::vector<std::string> ids;
    for (const auto& job : jobs.jobs) ids.push_back(job.id);
    return ids;
}

void submit_in_turn(Fixture& f, int count, const std::string& prefix = "j") {
    f.scheduler.begin_turn();
    for (int i = 0; i < count; ++i) f.submit(prefix + std::to_string(i));
    f.scheduler.end_turn(f.now);
}

}  // namespace

TEST_CASE("the broker's heartbeat tells every worker it reads DONES", "[broker][batches]") {
    Fixture f;
    f.ready("W", {"q"}, 4);
    auto heartbeats = f.outbox.to_worker_of<p::Heartbeat>("W");
    REQUIRE(heartbeats.size() == 1);
    REQUIRE(heartbeats[0].batch);
    CHECK(*heartbeats[0].batch == p::kMaxBatchEntries);
    CHECK(heartbeats[0].reads_packed);  // and packed DONES (protocol.md §3.1)
}

TEST_CASE("a worker whose READY says it reads packed batches gets its JOBS packed, another unpacked",
          "[broker][batches][packed]") {
    Fixture f;
    const bool reads_packed = GENERATE(false, true);
    p::Ready ready{{"q"}, 10, "W", 64};
    ready.reads_packed = reads_packed;
    f.scheduler.on_worker_message("W", std::move(ready), f.now);
    submit_in_turn(f, 3);
    auto batches = f.outbox.to_worker_of<p::Jobs>("W");
    REQUIRE(batches.size() == 1);
    CHECK(batches[0].is_packed == reads_packed);
    CHECK(ids_of(batches[0]) == std::vector<std::string>{"j0", "j1", "j2"});
    CHECK(p::view_of(batches[0].jobs[2].payload) == "payload-j2");
}

TEST_CASE("the jobs a batching worker gets in one turn go out as one JOBS", "[broker][batches]") {
    Fixture f;
    ready_batching(f, "W", 10, 64);
    submit_in_turn(f, 5);
    CHECK(f.jobs_for("W").empty());
    auto batches = f.outbox.to_worker_of<p::Jobs>("W");
    REQUIRE(batches.size() == 1);
    CHECK(ids_of(batches[0]) == std::vector<std::string>{"j0", "j1", "j2", "j3", "j4"});
    CHECK(p::view_of(batches[0].jobs[3].payload) == "payload-j3");
    CHECK(batches[0].jobs[0].queue == "q");
    CHECK(batches[0].jobs[0].attempt == 1);
    CHECK(f.scheduler.counters().jobs_dispatched == 5);
    CHECK(f.find_job("j4")->state == p::JobState::running);

    SECTION("never more than the worker's batch, nor its credit") {
        Fixture g;
        ready_batching(g, "W", 7, 3);
        submit_in_turn(g, 10);
        auto sent = g.outbox.to_worker_of<p::Jobs>("W");
        auto single = g.jobs_for("W");
        REQUIRE(sent.size() == 2);
        CHECK(ids_of(sent[0]) == std::vector<std::string>{"j0", "j1", "j2"});
        CHECK(ids_of(sent[1]) == std::vector<std::string>{"j3", "j4", "j5"});
        REQUIRE(single.size() == 1);  // a batch of one is a plain JOB
        CHECK(single[0].id == "j6");
        CHECK(g.pending_count("q") == 3);
    }
    SECTION("outside a turn each message dispatches at once") {
        f.submit("x");
        CHECK(f.job_ids_for("W") == std::vector<std::string>{"x"});
    }
    SECTION("a worker that asked for no batches gets single JOBs") {
        Fixture g;
        g.ready("V", {"q"}, 10);
        submit_in_turn(g, 3);
        CHECK(g.outbox.to_worker_of<p::Jobs>("V").empty());
        CHECK(g.job_ids_for("V") == std::vector<std::string>{"j0", "j1", "j2"});
    }
    SECTION("workers sharing a queue each get their own batch, least recently used first") {
        Fixture g;
        ready_batching(g, "A", 10, 64);
        ready_batching(g, "B", 10, 64);
        submit_in_turn(g, 4);
        auto a = g.outbox.to_worker_of<p::Jobs>("A");
        auto b = g.outbox.to_worker_of<p::Jobs>("B");
        REQUIRE(a.size() == 1);
        REQUIRE(b.size() == 1);
        CHECK(ids_of(a[0]) == std::vector<std::string>{"j0", "j2"});
        CHECK(ids_of(b[0]) == std::vector<std::string>{"j1", "j3"});
    }
}

TEST_CASE("a worker takes in one pass what it gets through in 10 ms: short jobs many to one worker, long ones one "
          "per worker",
          "[broker][batches]") {
    Fixture f;
    ready_batching(f, "A", 64, 64);
    ready_batching(f, "B", 64, 64);
    // Their pace is not known yet: one job each in turn, least recently used first.
    submit_in_turn(f, 4, "first");
    auto a = f.outbox.to_worker_of<p::Jobs>("A");
    auto b = f.outbox.to_worker_of<p::Jobs>("B");
    REQUIRE((a.size() == 1 && b.size() == 1));
    CHECK(ids_of(a[0]) == std::vector<std::string>{"first0", "first2"});
    CHECK(ids_of(b[0]) == std::vector<std::string>{"first1", "first3"});

    const auto end_all = [&f](std::chrono::microseconds after) {
        f.now += after;
        for (const char* id : {"first0", "first2"}) f.done("A", id, 1);
        for (const char* id : {"first1", "first3"}) f.done("B", id, 1);
    };
    SECTION("jobs of 100 µs: a pass's jobs go to the worker at the head of the line, up to its batch") {
        end_all(std::chrono::microseconds(100));  // pace 87.5 µs: 114 jobs would fit in 10 ms
        submit_in_turn(f, 20, "short");
        a = f.outbox.to_worker_of<p::Jobs>("A");
        REQUIRE(a.size() == 1);
        CHECK(a[0].jobs.size() == 20);
        CHECK(f.outbox.to_worker_of<p::Jobs>("B").empty());
        CHECK(f.jobs_for("B").empty());

        SECTION("and never beyond its credit") {
            submit_in_turn(f, 60, "more");
            a = f.outbox.to_worker_of<p::Jobs>("A");
            b = f.outbox.to_worker_of<p::Jobs>("B");
            REQUIRE((a.size() == 1 && b.size() == 1));
            CHECK(a[0].jobs.size() == 44);  // 64 - 20
            CHECK(b[0].jobs.size() == 16);
        }
    }
    SECTION("jobs of 20 ms: one job per worker in turn, as before their pace was known") {
        end_all(std::chrono::milliseconds(20));
        submit_in_turn(f, 4, "long");
        a = f.outbox.to_worker_of<p::Jobs>("A");
        b = f.outbox.to_worker_of<p::Jobs>("B");
        REQUIRE((a.size() == 1 && b.size() == 1));
        CHECK(ids_of(a[0]) == std::vector<std::string>{"long0", "long2"});
        CHECK(ids_of(b[0]) == std::vector<std::string>{"long1", "long3"});
    }
}

TEST_CASE("a worker of short jobs that has a free slot again goes to the head of the line, one of long jobs or "
          "that failed to the back",
          "[broker][batches]") {
    Fixture f;
    for (const char* worker : {"A", "B", "C"}) ready_batching(f, worker, 1, 64);
    submit_in_turn(f, 1, "first");
    REQUIRE(f.job_ids_for("A") == std::vector<std::string>{"first0"});  // the least recently used
    // Where a job submitted now goes (and anything else dispatched in the turn, as "WORKER:id").
    const auto next_goes_to = [&f](const std::string& id) {
        submit_in_turn(f, 1, id);
        std::string sent;
        for (const char* worker : {"A", "B", "C"}) {
            for (const auto& job : f.job_ids_for(worker)) {
                sent += (sent.empty() ? "" : " ") + std::string(worker) + ":" + job;
            }
        }
        const std::string job = id + "0";  // submit_in_turn numbers the jobs
        return sent == "A:" + job || sent == "B:" + job || sent == "C:" + job ? sent.substr(0, 1) : sent;
    };

    SECTION("jobs of 100 µs: A ends its job and, awake, gets the next one before B and C, which waited longer") {
        f.now += std::chrono::microseconds(100);
        f.done("A", "first0", 1);
        CHECK(next_goes_to("short0") == "A");
        SECTION("and while A is busy, the worker that waited longest") {
            CHECK(next_goes_to("short1") == "B");
            CHECK(next_goes_to("short2") == "C");
        }
    }
    SECTION("jobs of 20 ms: B, which waited longest, as before the pace was known") {
        f.now += std::chrono::milliseconds(20);
        f.done("A", "first0", 1);
        CHECK(next_goes_to("long0") == "B");
    }
    SECTION("a timed-out attempt, however quick its others: B") {
        f.now += std::chrono::microseconds(100);
        f.done("A", "first0", 1);
        auto timed = p::make_submit("timed", "q", false, p::make_payload("x"));
        timed.timeout_ms = 2;
        f.scheduler.begin_turn();
        f.submit_message(std::move(timed));
        f.scheduler.end_turn(f.now);
        REQUIRE(f.job_ids_for("A") == std::vector<std::string>{"timed"});
        f.advance(std::chrono::milliseconds(2));
        REQUIRE(f.outbox.to_worker_of<p::Abandon>("A").size() == 1);
        CHECK(next_goes_to("after_timeout") == "B");
    }
    SECTION("a failed attempt, however quick: B, so that a worker failing every job does not draw them all") {
        f.now += std::chrono::microseconds(100);
        f.fail("A", "first0", 1, "boom");
        CHECK(next_goes_to("after_fail0") == "B");
        SECTION("and a worker done with a quick job goes first, however recently it was given one") {
            CHECK(next_goes_to("after_fail1") == "C");
            f.now += std::chrono::microseconds(100);
            f.done("B", "after_fail00", 1);
            CHECK(next_goes_to("after_fail2") == "B");
        }
    }
}

TEST_CASE("each DONES entry completes its own lease and returns its credit", "[broker][batches]") {
    Fixture f;
    ready_batching(f, "W", 3, 64);
    submit_in_turn(f, 5);
    auto first = f.outbox.to_worker_of<p::Jobs>("W");
    REQUIRE(first.size() == 1);
    REQUIRE(first[0].jobs.size() == 3);
    p::Dones dones;
    dones.done.push_back(p::Done{"j0", 1, p::make_payload("r0")});
    dones.done.push_back(p::Done{"j1", 2, p::make_payload("stale")});  // not the current attempt
    dones.done.push_back(p::Done{"j2", 1, p::make_payload("r2")});
    f.scheduler.begin_turn();
    f.scheduler.on_worker_message("W", std::move(dones), f.now);
    f.scheduler.end_turn(f.now);
    CHECK(f.scheduler.counters().jobs_done == 2);
    CHECK(f.scheduler.counters().stale_completions == 1);
    CHECK(f.find_job("j1")->state == p::JobState::running);
    CHECK(f.find_job("j0")->state == p::JobState::done);
    // Two credits came back: the two pending jobs go out together.
    auto second = f.outbox.to_worker_of<p::Jobs>("W");
    REQUIRE(second.size() == 1);
    CHECK(ids_of(second[0]) == std::vector<std::string>{"j3", "j4"});

    SECTION("a DONES from a worker the broker does not know is discarded and counted") {
        p::Dones unknown;
        unknown.done.push_back(p::Done{"j3", 1, {}});
        unknown.done.push_back(p::Done{"j4", 1, {}});
        f.scheduler.on_worker_message("X", std::move(unknown), f.now);
        CHECK(f.scheduler.counters().stale_completions == 3);
        CHECK(f.find_job("j3")->state == p::JobState::running);
        auto errors = f.outbox.to_worker_of<p::Error>("X");
        REQUIRE(errors.size() == 1);
        CHECK(errors[0].code == p::ErrorCode::unknown_worker);
    }
}

TEST_CASE("a JOBS that cannot be sent leaves its jobs pending, in order, at the head", "[broker][batches]") {
    Fixture f;
    ready_batching(f, "W", 10, 64);
    SECTION("the worker is congested: it gets nothing until it speaks") {
        f.outbox.congested.insert("W");
        submit_in_turn(f, 4);
        CHECK(f.pending_count("q") == 4);
        CHECK(f.find_job("j0")->state == p::JobState::pending);
        CHECK(f.find_job("j0")->attempt == 0);
        CHECK(f.scheduler.counters().jobs_dispatched == 0);
        f.outbox.congested.clear();
        f.heartbeat("W");
        auto sent = f.outbox.to_worker_of<p::Jobs>("W");
        REQUIRE(sent.size() == 1);
        CHECK(ids_of(sent[0]) == std::vector<std::string>{"j0", "j1", "j2", "j3"});
        CHECK(sent[0].jobs[0].attempt == 1);
    }
    SECTION("the worker is gone: another worker gets the jobs in the same turn") {
        ready_batching(f, "V", 10, 64);
        f.outbox.unreachable.insert("W");
        submit_in_turn(f, 4);
        CHECK(f.worker_count() == 1);
        std::vector<std::string> ids;
        for (const auto& batch : f.outbox.to_worker_of<p::Jobs>("V")) {
            for (const auto& id : ids_of(batch)) ids.push_back(id);
        }
        for (const auto& job : f.jobs_for("V")) ids.push_back(job.id);
        std::sort(ids.begin(), ids.end());
        CHECK(ids == std::vector<std::string>{"j0", "j1", "j2", "j3"});
        CHECK(f.pending_count("q") == 0);
    }
}

TEST_CASE("the RESULTs of one turn go to a producer that asked for it as one RESULTS", "[broker][batches]") {
    Fixture f;
    ready_batching(f, "W", 10, 64);
    auto submit_asking = [&f](const std::string& id, std::uint32_t results_batch, const std::string& producer) {
        auto message = p::make_submit(id, "q", true, p::make_payload("x"));
        message.results_batch = results_batch;
        f.submit_message(std::move(message), producer);
    };
    f.scheduler.begin_turn();
    submit_asking("a", 64, "P");
    submit_asking("b", 64, "P");
    submit_asking("c", 0, "Q");  // asked for none: single RESULTs
    submit_asking("d", 0, "Q");
    f.scheduler.end_turn(f.now);
    auto sent = f.outbox.to_worker_of<p::Jobs>("W");
    REQUIRE(sent.size() == 1);
    p::Dones dones;
    for (const auto& job : sent[0].jobs) {
        dones.done.push_back(p::Done{job.id, job.attempt, p::make_payload("r-" + job.id)});
    }
    f.scheduler.begin_turn();
    f.scheduler.on_worker_message("W", std::move(dones), f.now);
    CHECK(f.outbox.to_producer_of<p::Results>("P").empty());  // held until the turn ends
    f.scheduler.end_turn(f.now);
    auto batches = f.outbox.to_producer_of<p::Results>("P");
    REQUIRE(batches.size() == 1);
    REQUIRE(batches[0].results.size() == 2);
    CHECK(batches[0].results[0].id == "a");
    CHECK(batches[0].results[0].state == p::JobState::done);
    CHECK(p::view_of(batches[0].results[1].payload) == "r-b");
    CHECK(f.outbox.to_producer_of<p::JobResult>("P").empty());
    CHECK(f.outbox.to_producer_of<p::Results>("Q").empty());
    auto singles = f.outbox.to_producer_of<p::JobResult>("Q");
    REQUIRE(singles.size() == 2);
    CHECK(singles[0].id == "c");
    CHECK(singles[1].id == "d");
    // accept_within_ms was not set: each SUBMIT had its ACCEPTED at once.
    CHECK(f.outbox.to_producer_of<p::Accepted>("P").size() == 2);

    SECTION("outside a turn a RESULT goes at once") {
        submit_asking("e", 64, "P");
        auto job = f.jobs_for("W");
        REQUIRE(job.size() == 1);
        f.done("W", "e", job[0].attempt);
        auto single = f.outbox.to_producer_of<p::JobResult>("P");
        REQUIRE(single.size() == 1);
        CHECK(single[0].id == "e");
    }
}
