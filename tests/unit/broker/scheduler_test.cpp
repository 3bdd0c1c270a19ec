#include "corsair/broker/scheduler.hpp"

#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <catch2/catch.hpp>

#include "scheduler_fixture.hpp"

namespace p = corsair::protocol;
using corsair::broker::BrokerOptions;
using corsair::broker::Scheduler;
using corsair::broker::test::Fixture;
using corsair::broker::test::RecordingOutbox;
using namespace std::chrono_literals;


TEST_CASE("jobs are dispatched FIFO within a queue", "[broker][scheduler]") {
    Fixture f;
    for (int i = 0; i < 5; ++i) f.submit("j" + std::to_string(i));
    CHECK(f.pending_count("q") == 5);
    f.ready("W", {"q"}, 5);
    CHECK(f.job_ids_for("W") == std::vector<std::string>{"j0", "j1", "j2", "j3", "j4"});
    CHECK(f.pending_count("q") == 0);
}

TEST_CASE("every submit is acknowledged, and a known id makes no second job", "[broker][scheduler]") {
    Fixture f;
    f.submit("a");
    f.submit("a");
    auto accepted = f.outbox.to_producer_of<p::Accepted>("P");
    REQUIRE(accepted.size() == 2);
    CHECK_FALSE(accepted[0].existed);
    CHECK(accepted[1].existed);
    CHECK(f.pending_count("q") == 1);
    CHECK(f.scheduler.counters().duplicate_submits == 1);
}

TEST_CASE("a SUBMITS is its entries' SUBMITs: each queued, checked and answered on its own", "[broker][scheduler]") {
    Fixture f;
    f.submit("known");
    p::Submits batch;
    batch.shared.queue = "q";
    batch.shared.priority = 3;
    batch.shared.timeout_ms = 5000;
    // "known" again with its payload: a resend (another payload would be id_conflict, §12).
    batch.entries.push_back(p::SubmitsEntry{"known", p::make_payload("payload-known")});
    for (const char* id : {"a", "b"}) batch.entries.push_back(p::SubmitsEntry{id, p::make_payload(id)});
    f.scheduler.on_producer_message("P", std::move(batch), f.now);
    const auto accepted = f.outbox.to_producer_of<p::Accepted>("P");
    REQUIRE(accepted.size() == 4);
    CHECK(accepted[1].id == "known");
    CHECK(accepted[1].existed);
    CHECK(accepted[2].id == "a");
    CHECK_FALSE(accepted[2].existed);
    CHECK(accepted[3].id == "b");
    CHECK(f.pending_count("q") == 3);
    CHECK(f.find_job("a")->priority == 3);
    CHECK(f.scheduler.counters().duplicate_submits == 1);
    f.ready("W", {"q"}, 3);
    const auto leased = f.jobs_for("W");
    REQUIRE(leased.size() == 3);
    // Priority 3 goes before the plain job, in submission order.
    CHECK(leased[0].id == "a");
    CHECK(p::view_of(leased[0].payload) == "a");
    CHECK(leased[1].id == "b");
    CHECK(leased[2].id == "known");
}

TEST_CASE("the least recently used worker with credit gets the next job", "[broker][scheduler]") {
    Fixture f;
    f.ready("A", {"q"}, 2);
    f.ready("B", {"q"}, 2);
    f.submit("1");
    f.submit("2");
    f.submit("3");
    CHECK(f.job_ids_for("A") == std::vector<std::string>{"1", "3"});
    CHECK(f.job_ids_for("B") == std::vector<std::string>{"2"});
}

TEST_CASE("a worker is never sent more jobs than its credit", "[broker][scheduler]") {
    Fixture f;
    f.ready("W", {"q"}, 2);
    for (int i = 0; i < 5; ++i) f.submit(std::to_string(i));
    auto first = f.jobs_for("W");
    REQUIRE(first.size() == 2);
    CHECK(f.pending_count("q") == 3);

    SECTION("each completion returns one credit") {
        f.done("W", first[0].id, first[0].attempt);
        CHECK(f.job_ids_for("W") == std::vector<std::string>{"2"});
        f.fail("W", first[1].id, first[1].attempt, "boom");
        CHECK(f.job_ids_for("W") == std::vector<std::string>{"3"});
    }
    SECTION("a heartbeat returns no credit") {
        f.heartbeat("W");
        CHECK(f.jobs_for("W").empty());
    }
}

TEST_CASE("a worker serving several queues takes jobs from each", "[broker][scheduler]") {
    Fixture f;
    f.submit("x1", "x");
    f.submit("y1", "y");
    f.ready("W", {"x", "y"}, 4);
    auto ids = f.job_ids_for("W");
    std::sort(ids.begin(), ids.end());
    CHECK(ids == std::vector<std::string>{"x1", "y1"});
    f.submit("z1", "z");
    CHECK(f.jobs_for("W").empty());
}

TEST_CASE("only the current lease holder can complete a job", "[broker][scheduler][lease]") {
    Fixture f;
    f.ready("A", {"q"}, 1);
    f.ready("B", {"q"}, 1);
    f.submit("j", "q", true);
    auto jobs = f.jobs_for("A");
    REQUIRE(jobs.size() == 1);
    REQUIRE(jobs[0].attempt == 1);

    SECTION("a completion from another worker is discarded") {
        f.done("B", "j", 1);
        CHECK(f.find_job("j")->state == p::JobState::running);
        CHECK(f.scheduler.counters().stale_completions == 1);
    }
    SECTION("a completion naming another attempt is discarded") {
        f.done("A", "j", 2);
        CHECK(f.find_job("j")->state == p::JobState::running);
        CHECK(f.scheduler.counters().stale_completions == 1);
    }
    SECTION("a second completion of an ended job is discarded and the job ends once") {
        f.done("A", "j", 1, "first");
        f.done("A", "j", 1, "second");
        f.fail("A", "j", 1, "late");
        CHECK(f.scheduler.counters().jobs_done == 1);
        CHECK(f.scheduler.counters().jobs_failed == 0);
        CHECK(f.scheduler.counters().stale_completions == 2);
        auto results = f.outbox.to_producer_of<p::JobResult>("P");
        REQUIRE(results.size() == 1);
        CHECK(p::view_of(results[0].payload) == "first");
    }
}

TEST_CASE("a silent worker is declared dead and its jobs go back to the head of the queue", "[broker][scheduler]") {
    Fixture f;
    f.ready("A", {"q"}, 3);
    for (int i = 0; i < 5; ++i) f.submit("j" + std::to_string(i));
    CHECK(f.job_ids_for("A") == std::vector<std::string>{"j0", "j1", "j2"});

    SECTION("not before liveness x interval of silence") {
        f.now += 2999ms;
        f.scheduler.tick(f.now);
        CHECK(f.worker_count() == 1);
    }
    SECTION("a heartbeat keeps it alive") {
        f.now += 2000ms;
        f.heartbeat("A");
        f.now += 2000ms;
        f.scheduler.tick(f.now);
        CHECK(f.worker_count() == 1);
    }
    SECTION("after liveness x interval its jobs are requeued in order and redispatched with attempt + 1") {
        f.now += 3000ms;
        f.scheduler.tick(f.now);
        CHECK(f.worker_count() == 0);
        CHECK(f.scheduler.counters().workers_dead == 1);
        CHECK(f.scheduler.counters().jobs_requeued == 3);
        CHECK(f.pending_count("q") == 5);
        CHECK(f.find_job("j0")->state == p::JobState::pending);
        f.ready("B", {"q"}, 5);
        auto jobs = f.jobs_for("B");
        REQUIRE(jobs.size() == 5);
        CHECK(jobs[0].id == "j0");
        CHECK(jobs[1].id == "j1");
        CHECK(jobs[2].id == "j2");
        CHECK(jobs[3].id == "j3");
        CHECK(jobs[0].attempt == 2);
        CHECK(jobs[3].attempt == 1);

        SECTION("and the dead worker's late completion is discarded, answered unknown_worker naming it") {
            f.done("A", "j0", 1);
            CHECK(f.scheduler.counters().stale_completions == 1);
            CHECK(f.find_job("j0")->state == p::JobState::running);
            auto errors = f.outbox.to_worker_of<p::Error>("A");
            REQUIRE(errors.size() == 1);
            CHECK(errors[0].code == p::ErrorCode::unknown_worker);
            CHECK(errors[0].id == "j0");
            CHECK(errors[0].command == "DONE");
            f.done("B", "j0", 2);
            CHECK(f.find_job("j0")->state == p::JobState::done);
        }
    }
}

// protocol.md §6: a worker that may not speak (never said READY, or declared dead) is told which
// of its messages was refused: the ERROR carries the message's command and, when it names one
// job, that job's id.
TEST_CASE("ERROR unknown_worker names the refused message's command and job", "[broker][scheduler]") {
    Fixture f;
    SECTION("a FAIL") {
        f.fail("X", "j9", 3, "boom");
        auto errors = f.outbox.to_worker_of<p::Error>("X");
        REQUIRE(errors.size() == 1);
        CHECK(errors[0].code == p::ErrorCode::unknown_worker);
        CHECK(errors[0].id == "j9");
        CHECK(errors[0].command == "FAIL");
    }
    SECTION("a PROGRESS") {
        f.scheduler.on_worker_message("X", p::Progress{"j9", 3, 50, "half"}, f.now);
        auto errors = f.outbox.to_worker_of<p::Error>("X");
        REQUIRE(errors.size() == 1);
        CHECK(errors[0].id == "j9");
        CHECK(errors[0].command == "PROGRESS");
    }
    SECTION("a HEARTBEAT, which names no job") {
        f.heartbeat("X");
        auto errors = f.outbox.to_worker_of<p::Error>("X");
        REQUIRE(errors.size() == 1);
        CHECK(errors[0].id.empty());
        CHECK(errors[0].command == "HEARTBEAT");
    }
    SECTION("a DONES, which names several jobs and so none") {
        p::Dones dones;
        dones.done.push_back(p::Done{"a", 1, p::make_payload("r")});
        dones.done.push_back(p::Done{"b", 1, p::make_payload("r")});
        f.scheduler.on_worker_message("X", std::move(dones), f.now);
        auto errors = f.outbox.to_worker_of<p::Error>("X");
        REQUIRE(errors.size() == 1);
        CHECK(errors[0].code == p::ErrorCode::unknown_worker);
        CHECK(errors[0].id.empty());
        CHECK(errors[0].command == "DONES");
        CHECK(f.scheduler.counters().stale_completions == 2);
    }
    SECTION("a DISCONNECT is ignored without reply") {
        f.scheduler.on_worker_message("X", p::Disconnect{"bye"}, f.now);
        CHECK(f.outbox.to_worker_of<p::Error>("X").empty());
    }
}

// protocol.md §6, Order of checks: the endpoint is checked before READY state, so a command no
// worker sends gets one answer whether or not its connection said READY.
TEST_CASE("a command that is not a worker's gets the same answer before and after READY", "[broker][scheduler]") {
    Fixture f;
    auto answers_to = [&](const std::string& connection, p::Message message) {
        f.scheduler.on_worker_message(connection, std::move(message), f.now);
        auto errors = f.outbox.to_worker_of<p::Error>(connection);
        REQUIRE(errors.size() == 1);
        return errors[0];
    };
    f.ready("W", {"q"}, 1);
    for (const std::string connection : {"unannounced", "W"}) {
        INFO("connection " << connection);
        const p::Error job = answers_to(connection, p::Job{"j", "q", 1, p::make_payload("x")});
        CHECK(job.code == p::ErrorCode::unexpected_command);
        CHECK(job.command == "JOB");
        const p::Error abandon = answers_to(connection, p::Abandon{"j", 1, "timeout"});
        CHECK(abandon.code == p::ErrorCode::unexpected_command);
        CHECK(abandon.command == "ABANDON");
        const p::Error stats = answers_to(connection, p::StatsRequest{});
        CHECK(stats.code == p::ErrorCode::wrong_endpoint);
        CHECK(stats.command == "STATS");
    }
    CHECK(f.worker_count() == 1);
    CHECK(f.scheduler.counters().unexpected_commands == 6);
}

TEST_CASE("requeued jobs are redispatched at once to a worker with credit", "[broker][scheduler]") {
    Fixture f;
    f.ready("A", {"q"}, 2);
    f.ready("B", {"q"}, 2);
    f.submit("j1");
    f.submit("j2");
    f.jobs_for("A");
    f.jobs_for("B");
    f.now += 1500ms;
    f.heartbeat("B");
    f.now += 1500ms;
    f.scheduler.tick(f.now);
    auto ids = f.job_ids_for("B");
    CHECK(ids == std::vector<std::string>{"j1"});
}

TEST_CASE("a worker whose connection is gone is dropped when a send fails", "[broker][scheduler]") {
    Fixture f;
    f.ready("A", {"q"}, 1);
    f.ready("B", {"q"}, 1);
    f.outbox.unreachable.insert("A");
    f.submit("j1");
    CHECK(f.job_ids_for("B") == std::vector<std::string>{"j1"});
    CHECK(f.worker_count() == 1);
    CHECK(f.find_job("j1")->attempt == 1);
}

TEST_CASE("a congested worker is skipped until it speaks again", "[broker][scheduler]") {
    Fixture f;
    f.ready("A", {"q"}, 4);
    f.outbox.congested.insert("A");
    f.submit("j1");
    CHECK(f.pending_count("q") == 1);
    f.outbox.congested.clear();
    f.submit("j2");
    CHECK(f.jobs_for("A").empty());
    f.heartbeat("A");
    CHECK(f.job_ids_for("A") == std::vector<std::string>{"j1", "j2"});
}

TEST_CASE("a draining worker gets no new jobs and a disconnecting one gives its jobs back", "[broker][scheduler]") {
    Fixture f;
    f.ready("A", {"q"}, 2);
    f.submit("j1");
    f.jobs_for("A");
    f.scheduler.on_worker_message("A", p::Drain{}, f.now);
    f.submit("j2");
    CHECK(f.jobs_for("A").empty());
    f.done("A", "j1", 1);
    CHECK(f.jobs_for("A").empty());
    CHECK(f.find_job("j1")->state == p::JobState::done);

    f.ready("B", {"q"}, 1);
    CHECK(f.job_ids_for("B") == std::vector<std::string>{"j2"});
    f.scheduler.on_worker_message("B", p::Disconnect{"bye"}, f.now);
    CHECK(f.pending_count("q") == 1);
    CHECK(f.scheduler.counters().workers_disconnected == 1);
    f.ready("C", {"q"}, 1);
    auto jobs = f.jobs_for("C");
    REQUIRE(jobs.size() == 1);
    CHECK(jobs[0].attempt == 2);
}

TEST_CASE("a waiting producer receives the result and status reports it", "[broker][scheduler]") {
    Fixture f;
    f.ready("W", {"q"}, 1);
    f.submit("ok", "q", true);
    f.done("W", "ok", 1, "the result");
    auto results = f.outbox.to_producer_of<p::JobResult>("P");
    REQUIRE(results.size() == 1);
    CHECK(results[0].state == p::JobState::done);
    CHECK(p::view_of(results[0].payload) == "the result");

    auto bad = p::make_submit("bad", "q", true, p::make_payload("x"));
    bad.retry.max_attempts = 1;
    f.submit_message(std::move(bad));
    f.fail("W", "bad", 1, "it broke");
    results = f.outbox.to_producer_of<p::JobResult>("P");
    REQUIRE(results.size() == 1);
    CHECK(results[0].state == p::JobState::failed);
    CHECK(results[0].error == "it broke");

    f.scheduler.on_producer_message("S", p::StatusRequest{"ok"}, f.now);
    auto replies = f.outbox.to_producer_of<p::StatusReply>("S");
    REQUIRE(replies.size() == 1);
    CHECK(replies[0].state == p::JobState::done);
    CHECK(p::view_of(replies[0].payload) == "the result");
    f.jobs_for("W");

    SECTION("resubmitting an ended job returns its result at once and runs nothing") {
        f.submit("ok", "q", true, "P2");
        auto again = f.outbox.to_producer_of<p::JobResult>("P2");
        REQUIRE(again.size() == 1);
        CHECK(p::view_of(again[0].payload) == "the result");
        CHECK(f.jobs_for("W").empty());
    }
    SECTION("a resubmission moves the result to the new connection") {
        f.submit("later", "q", true, "P-old");
        f.submit("later", "q", true, "P-new");
        f.done("W", "later", 1);
        CHECK(f.outbox.to_producer_of<p::JobResult>("P-old").empty());
        CHECK(f.outbox.to_producer_of<p::JobResult>("P-new").size() == 1);
    }
    SECTION("an unknown id gets unknown_job") {
        f.scheduler.on_producer_message("S", p::StatusRequest{"nope"}, f.now);
        auto errors = f.outbox.to_producer_of<p::Error>("S");
        REQUIRE(errors.size() == 1);
        CHECK(errors[0].code == p::ErrorCode::unknown_job);
        CHECK(errors[0].id == "nope");
    }
    SECTION("results expire after their TTL") {
        f.now += 61s;
        f.scheduler.tick(f.now);
        CHECK_FALSE(f.find_job("ok").has_value());
    }
}

TEST_CASE("a result for a vanished producer is counted and kept for status", "[broker][scheduler]") {
    Fixture f;
    f.ready("W", {"q"}, 1);
    f.submit("j", "q", true, "gone");
    f.outbox.unreachable.insert("gone");
    f.done("W", "j", 1);
    CHECK(f.scheduler.counters().results_undeliverable == 1);
    CHECK(f.find_job("j")->state == p::JobState::done);
}

TEST_CASE("peers that break the rules get typed errors and change nothing", "[broker][scheduler]") {
    Fixture f;
    SECTION("a worker command on the producer socket is told the worker endpoint") {
        f.scheduler.set_endpoints("tcp://0.0.0.0:5555", "tcp://0.0.0.0:5556");
        f.scheduler.on_producer_message("P", p::Heartbeat{}, f.now);
        auto errors = f.outbox.to_producer_of<p::Error>("P");
        REQUIRE(errors.size() == 1);
        CHECK(errors[0].code == p::ErrorCode::wrong_endpoint);
        CHECK(errors[0].message == "this is the producer endpoint; workers connect to tcp://0.0.0.0:5556");
        CHECK(errors[0].command == "HEARTBEAT");
    }
    SECTION("a producer command on the worker socket is told the producer endpoint, with the SUBMIT's id") {
        f.scheduler.set_endpoints("tcp://127.0.0.1:5555", "tcp://127.0.0.1:5556");
        p::Submit submit;
        submit.id = "j1";
        submit.queue = "q";
        f.scheduler.on_worker_message("X", std::move(submit), f.now);
        f.scheduler.on_worker_message("X", p::StatsRequest{}, f.now);
        auto errors = f.outbox.to_worker_of<p::Error>("X");
        REQUIRE(errors.size() == 2);
        CHECK(errors[0].code == p::ErrorCode::wrong_endpoint);
        CHECK(errors[0].message == "this is the worker endpoint; producers connect to tcp://127.0.0.1:5555");
        CHECK(errors[0].id == "j1");
        CHECK(errors[0].command == "SUBMIT");
        CHECK(errors[1].code == p::ErrorCode::wrong_endpoint);
        CHECK(errors[1].command == "STATS");
        CHECK(f.worker_count() == 0);
        CHECK_FALSE(f.find_job("j1").has_value());
    }
    SECTION("a SUBMITS on the worker socket gets one wrong_endpoint per job, each naming it") {
        p::Submits batch;
        batch.shared.queue = "q";
        batch.entries.push_back(p::SubmitsEntry{"j1", p::make_payload("x")});
        batch.entries.push_back(p::SubmitsEntry{"j2", p::make_payload("y")});
        f.scheduler.on_worker_message("X", std::move(batch), f.now);
        auto errors = f.outbox.to_worker_of<p::Error>("X");
        REQUIRE(errors.size() == 2);
        CHECK(errors[0].code == p::ErrorCode::wrong_endpoint);
        CHECK(errors[0].id == "j1");
        CHECK(errors[0].command == "SUBMIT");
        CHECK(errors[1].id == "j2");
        CHECK_FALSE(f.find_job("j1").has_value());
    }
    SECTION("a command only the broker sends is still unexpected") {
        f.scheduler.on_producer_message("P", p::Ok{}, f.now);
        auto errors = f.outbox.to_producer_of<p::Error>("P");
        REQUIRE(errors.size() == 1);
        CHECK(errors[0].code == p::ErrorCode::unexpected_command);
    }
    SECTION("a heartbeat from a worker that never said READY") {
        f.heartbeat("X");
        auto errors = f.outbox.to_worker_of<p::Error>("X");
        REQUIRE(errors.size() == 1);
        CHECK(errors[0].code == p::ErrorCode::unknown_worker);
        CHECK(f.worker_count() == 0);
    }
    SECTION("a malformed frame set") {
        f.scheduler.on_malformed_producer_message("P", {p::ErrorCode::bad_header, "not a map"});
        auto errors = f.outbox.to_producer_of<p::Error>("P");
        REQUIRE(errors.size() == 1);
        CHECK(errors[0].code == p::ErrorCode::bad_header);
        CHECK(f.scheduler.counters().malformed_messages == 1);
    }
}

TEST_CASE("READY is answered with the broker's heartbeat settings", "[broker][scheduler]") {
    Fixture f;
    f.ready("W", {"q"}, 1);
    auto beats = f.outbox.to_worker_of<p::Heartbeat>("W");
    REQUIRE(beats.size() == 1);
    CHECK(beats[0].interval_ms == 1000u);
    CHECK(beats[0].liveness == 3u);
    f.now += 1000ms;
    f.heartbeat("W");
    f.scheduler.tick(f.now);
    CHECK(f.outbox.to_worker_of<p::Heartbeat>("W").size() == 1);
}

// protocol.md §9, Idle workers heartbeat less. The fixture's broker: interval 1 s, liveness 3,
// the default --idle-heartbeat-factor 10, so an idle interval of 10 s.
TEST_CASE("a worker that heartbeats idle is heartbeated and held to the idle interval only while it holds no lease",
          "[broker][scheduler][heartbeat]") {
    Fixture f;
    p::Ready ready{{"q"}, 1, "W"};
    ready.idle_heartbeat = true;
    f.scheduler.on_worker_message("W", std::move(ready), f.now);
    auto answer = f.outbox.to_worker_of<p::Heartbeat>("W");
    REQUIRE(answer.size() == 1);
    CHECK(answer[0].interval_ms == 1000u);
    CHECK(answer[0].idle_interval_ms == 10'000u);
    // The broker's checks, once per interval, as its loop makes them; the worker heartbeats at
    // its idle interval. Returns the HEARTBEATs the broker sent meanwhile.
    const auto run_ticks = [&](int count, bool worker_heartbeats_idle = true) {
        for (int i = 0; i < count; ++i) {
            f.now += 1000ms;
            const auto since_ready = std::chrono::duration_cast<std::chrono::seconds>(f.now.time_since_epoch()) % 10;
            if (worker_heartbeats_idle && since_ready.count() == 0) f.heartbeat("W");
            f.scheduler.tick(f.now);
        }
        return f.outbox.to_worker_of<p::Heartbeat>("W").size();
    };
    // One check `by` after the last moment, with no word from the worker; the workers still listed.
    const auto check_after = [&](std::chrono::milliseconds by) {
        f.now += by;
        f.scheduler.tick(f.now);
        return f.worker_count();
    };

    SECTION("idle, it gets one HEARTBEAT per idle interval, never more than that apart, and stays listed") {
        CHECK(run_ticks(9) == 0);
        CHECK(run_ticks(1) == 1);
        CHECK(run_ticks(30) == 3);
        CHECK(f.worker_count() == 1);
        CHECK(f.scheduler.counters().workers_dead == 0);
    }
    SECTION("idle and silent, it is dead after liveness x the idle interval, not before") {
        run_ticks(29, false);
        CHECK(f.worker_count() == 1);
        run_ticks(1, false);
        CHECK(f.worker_count() == 0);
        CHECK(f.scheduler.counters().workers_dead == 1);
    }
    SECTION("a job leased after a long silence gives it one liveness window from the lease, and no more") {
        run_ticks(25, false);
        f.submit("j");
        REQUIRE(f.job_ids_for("W") == std::vector<std::string>{"j"});
        // Busy: a HEARTBEAT on every check, and silence counted from the lease.
        CHECK(run_ticks(2, false) == 2);
        CHECK(check_after(999ms) == 1);
        CHECK(check_after(1ms) == 0);
        CHECK(f.find_job("j")->state == p::JobState::pending);
        CHECK(f.scheduler.counters().jobs_requeued == 1);
    }
    SECTION("busy, it is held to the interval; once its job is done, to the idle interval again") {
        f.submit("j");
        REQUIRE(f.jobs_for("W").size() == 1);
        f.now += 2000ms;
        f.heartbeat("W");
        CHECK(check_after(2999ms) == 1);
        f.done("W", "j", 1);
        CHECK(check_after(20s) == 1);
        CHECK(check_after(10s) == 0);
        CHECK(f.scheduler.counters().jobs_requeued == 0);
    }
}

TEST_CASE("a worker that does not say idle_heartbeat is heartbeated and held to the interval, idle or not",
          "[broker][scheduler][heartbeat]") {
    Fixture f;
    f.ready("W", {"q"}, 1);
    f.outbox.to_worker_of<p::Heartbeat>("W");
    for (int i = 0; i < 2; ++i) {
        f.now += 1000ms;
        f.scheduler.tick(f.now);
    }
    CHECK(f.outbox.to_worker_of<p::Heartbeat>("W").size() == 2);
    f.now += 1000ms;
    f.scheduler.tick(f.now);
    CHECK(f.worker_count() == 0);
}

TEST_CASE("the broker's --idle-heartbeat-factor sets the idle interval, at most kMaxIdleHeartbeatInterval",
          "[broker][scheduler][heartbeat]") {
    BrokerOptions options;
    CHECK(options.idle_heartbeat_interval() == 10s);
    options.idle_heartbeat_factor = 1;
    CHECK(options.idle_heartbeat_interval() == options.heartbeat_interval);
    options.heartbeat_interval = 60s;
    options.idle_heartbeat_factor = 100;
    CHECK(options.idle_heartbeat_interval() == p::kMaxIdleHeartbeatInterval);
}

TEST_CASE("shutting down tells every worker and refuses new jobs", "[broker][scheduler]") {
    Fixture f;
    f.ready("W", {"q"}, 1);
    f.scheduler.shut_down();
    CHECK(f.outbox.to_worker_of<p::Disconnect>("W").size() == 1);
    f.submit("late");
    auto errors = f.outbox.to_producer_of<p::Error>("P");
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].code == p::ErrorCode::shutting_down);
}

TEST_CASE("a draining broker hands out no job and refuses new ones, but still takes the results of leases out",
          "[broker][scheduler][drain]") {
    Fixture f;
    f.ready("W", {"q"}, 2);
    f.submit("a", "q", true);
    f.submit("b", "q", true);
    f.submit("c", "q", true);
    REQUIRE(f.job_ids_for("W") == std::vector<std::string>{"a", "b"});
    f.scheduler.begin_drain();
    CHECK(f.scheduler.running_jobs() == 2);
    f.submit("late");
    auto errors = f.outbox.to_producer_of<p::Error>("P");
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].code == p::ErrorCode::shutting_down);
    f.done("W", "a", 1, "A");
    f.fail("W", "b", 1, "broken", true);
    CHECK(f.scheduler.running_jobs() == 0);
    // Their RESULTs go out; the queued job stays queued, for the next start.
    auto results = f.outbox.to_producer_of<p::JobResult>("P");
    REQUIRE(results.size() == 2);
    CHECK(results[0].state == p::JobState::done);
    CHECK(results[1].state == p::JobState::failed);
    CHECK(f.jobs_for("W").empty());
    f.advance(10s);
    f.scheduler.tick(f.now);
    CHECK(f.jobs_for("W").empty());
    CHECK(f.find_job("c")->state == p::JobState::pending);
}

TEST_CASE("stats report queues, workers and counters", "[broker][scheduler]") {
    Fixture f;
    f.ready("W", {"q"}, 2);
    f.submit("a");
    f.submit("b");
    f.submit("c");
    f.done("W", "a", 1);
    f.now += 250ms;
    auto stats = f.scheduler.stats(f.now);
    REQUIRE(stats.queues.size() == 1);
    CHECK(stats.queues[0].name == "q");
    CHECK(stats.queues[0].pending == 0);
    CHECK(stats.queues[0].in_flight == 2);
    CHECK(stats.queues[0].done == 1);
    REQUIRE(stats.workers.size() == 1);
    CHECK(stats.workers[0].name == "W");
    CHECK(stats.workers[0].in_flight == 2);
    CHECK(stats.workers[0].last_heartbeat_ms == 250);
    CHECK(stats.counters.at("jobs_submitted") == 3);
    CHECK(stats.counters.at("jobs_dispatched") == 3);
}

TEST_CASE("a malformed message's warning names the peer: its address, and a known worker's name",
          "[broker][scheduler]") {
    Fixture f;
    f.ready("W", {"q"}, 1);
    f.scheduler.on_worker_message("W", p::Heartbeat{}, f.now);
    f.scheduler.on_malformed_worker_message("W", {p::ErrorCode::bad_header, "not a map\n"}, "10.1.2.3");
    f.scheduler.on_malformed_producer_message("P", {p::ErrorCode::bad_field_type, "priority"}, "10.9.8.7");
    const std::string log = f.log.str();
    CHECK(log.find("malformed message peer=worker worker=\"W\" address=10.1.2.3 code=bad_header "
                   "detail=\"not a map\\n\"") != std::string::npos);
    CHECK(log.find("malformed message peer=producer address=10.9.8.7 code=bad_field_type") != std::string::npos);
}

namespace {

p::Fail not_started(const std::string& id, std::uint32_t attempt) {
    p::Fail fail{id, attempt, "command not found: /no/such/cmd"};
    fail.is_not_started = true;
    return fail;
}

}  // namespace

TEST_CASE("a FAIL not_started gives the job back uncounted and frees the worker's credit", "[broker][scheduler]") {
    Fixture f;
    auto once = p::make_submit("j1", "q", true, p::make_payload("x"));
    once.retry.max_attempts = 1;
    f.submit_message(std::move(once));
    f.ready("A", {"q"}, 1);
    REQUIRE(f.job_ids_for("A") == std::vector<std::string>{"j1"});

    SECTION("the job runs again at once, even with max_attempts 1, and its history stays clean") {
        f.scheduler.on_worker_message("A", not_started("j1", 1), f.now);
        auto again = f.jobs_for("A");  // the credit came back: the same worker may take it again
        REQUIRE(again.size() == 1);
        CHECK(again[0].attempt == 2);  // a new lease, a new fencing token
        auto status = f.find_job("j1");
        REQUIRE(status);
        CHECK(status->state == p::JobState::running);
        CHECK(status->attempt == 2);
        CHECK(status->counted_attempts == 1u);
        CHECK(status->max_attempts == 1);
        CHECK(status->errors.empty());
        CHECK(f.outbox.to_producer_of<p::JobResult>("P").empty());
        CHECK(f.scheduler.counters().attempts_not_started == 1);
        CHECK(f.scheduler.counters().attempts_failed == 0);
        f.done("A", "j1", 2);
        CHECK(f.find_job("j1")->state == p::JobState::done);
    }
    SECTION("a worker that drains itself first leaves the job to another worker") {
        f.scheduler.on_worker_message("A", p::Drain{}, f.now);
        f.scheduler.on_worker_message("A", not_started("j1", 1), f.now);
        CHECK(f.jobs_for("A").empty());
        CHECK(f.pending_count("q") == 1);
        f.ready("B", {"q"}, 1);
        auto jobs = f.jobs_for("B");
        REQUIRE(jobs.size() == 1);
        CHECK(jobs[0].attempt == 2);
    }
    SECTION("a stale not_started FAIL changes nothing") {
        f.scheduler.on_worker_message("A", not_started("j1", 7), f.now);
        CHECK(f.find_job("j1")->state == p::JobState::running);
        CHECK(f.scheduler.counters().stale_completions == 1);
        CHECK(f.scheduler.counters().attempts_not_started == 0);
    }
}

TEST_CASE("a lease given back by DISCONNECT is not counted against max_attempts", "[broker][scheduler]") {
    Fixture f;
    auto once = p::make_submit("j1", "q", false, p::make_payload("x"));
    once.retry.max_attempts = 1;
    f.submit_message(std::move(once));
    f.ready("A", {"q"}, 1);
    REQUIRE(f.job_ids_for("A") == std::vector<std::string>{"j1"});
    f.scheduler.on_worker_message("A", p::Disconnect{"drain_timeout"}, f.now);
    auto status = f.find_job("j1");
    REQUIRE(status);
    CHECK(status->state == p::JobState::pending);
    CHECK(status->attempt == 1);
    CHECK(status->counted_attempts == 0u);
    f.ready("B", {"q"}, 1);
    auto jobs = f.jobs_for("B");
    REQUIRE(jobs.size() == 1);
    CHECK(jobs[0].attempt == 2);
    f.fail("B", "j1", 2, "it broke");  // the one counted attempt: out of attempts now
    CHECK(f.find_job("j1")->state == p::JobState::failed);
}

TEST_CASE("a worker's prefetch lets it hold jobs ready beyond its capacity, and a free slot goes first",
          "[broker][scheduler][prefetch]") {
    Fixture f;
    f.ready("A", {"q"}, 1, 1);
    for (int i = 0; i < 3; ++i) f.submit(std::to_string(i));
    // One to run, one to hold ready: capacity + prefetch, never more.
    CHECK(f.job_ids_for("A") == std::vector<std::string>{"0", "1"});
    CHECK(f.pending_count("q") == 1);
    // STATS tells its prefetch: its lease past its capacity is a job held ready, and STATUS says
    // which: the newer one, since a worker starts its jobs in the order they came.
    const auto workers = f.scheduler.stats(f.now).workers;
    REQUIRE(workers.size() == 1);
    CHECK(workers[0].prefetch == 1);
    CHECK(workers[0].in_flight == 2);
    f.request(p::StatusRequest{"0"});
    f.request(p::StatusRequest{"1"});
    auto statuses = f.outbox.to_producer_of<p::StatusReply>("P");
    REQUIRE(statuses.size() == 2);
    CHECK(statuses[0].state == p::JobState::running);
    CHECK_FALSE(statuses[0].is_held_ready);
    CHECK(statuses[1].state == p::JobState::running);
    CHECK(statuses[1].is_held_ready);
    f.done("A", "0", 1);
    // "1" now runs: its slot freed, it is no longer held ready.
    f.request(p::StatusRequest{"1"});
    statuses = f.outbox.to_producer_of<p::StatusReply>("P");
    REQUIRE(statuses.size() == 1);
    CHECK_FALSE(statuses[0].is_held_ready);
    CHECK(f.job_ids_for("A") == std::vector<std::string>{"2"});

    SECTION("a worker with a free slot is served before one that could only hold the job ready") {
        f.done("A", "1", 1);  // A runs "2" and could hold one job ready
        f.ready("B", {"q"}, 1, 1);
        f.submit("3");  // A was idle longer, but B can start it at once
        CHECK(f.job_ids_for("B") == std::vector<std::string>{"3"});
        CHECK(f.jobs_for("A").empty());
        f.submit("4");  // no free slot left: the least recently used ready slot
        CHECK(f.job_ids_for("A") == std::vector<std::string>{"4"});
        f.submit("5");
        CHECK(f.job_ids_for("B") == std::vector<std::string>{"5"});
        f.submit("6");
        CHECK(f.pending_count("q") == 1);
    }
    SECTION("a worker that does not announce prefetch never holds more than its capacity") {
        f.ready("C", {"q"}, 1);
        f.submit("3");
        f.submit("4");
        CHECK(f.job_ids_for("C") == std::vector<std::string>{"3"});
        CHECK(f.pending_count("q") == 1);
    }
}

TEST_CASE("a job held ready is recalled for a worker that sits idle, and goes to it",
          "[broker][scheduler][prefetch]") {
    Fixture f;
    f.ready("A", {"q"}, 1, 1);
    f.submit("long");
    f.submit("short");
    REQUIRE(f.job_ids_for("A") == std::vector<std::string>{"long", "short"});
    CHECK(f.outbox.to_worker_of<p::Recall>("A").empty());  // nobody is idle: nothing to recall

    f.ready("B", {"q"}, 1, 1);  // B sits idle while "short" waits behind "long" at A
    auto recalls = f.outbox.to_worker_of<p::Recall>("A");
    REQUIRE(recalls.size() == 1);
    CHECK(recalls[0].id == "short");
    CHECK(recalls[0].attempt == 1);
    CHECK(f.scheduler.counters().recalls_sent == 1);

    SECTION("the holder gives it back unstarted: it goes to the idle worker, uncounted") {
        f.give_back("A", "short", 1);
        const auto to_b = f.jobs_for("B");
        REQUIRE(to_b.size() == 1);
        CHECK(to_b[0].id == "short");
        CHECK(to_b[0].attempt == 2);
        CHECK(f.scheduler.counters().jobs_recalled == 1);
        CHECK(f.scheduler.counters().attempts_not_started == 0);
        CHECK(f.scheduler.counters().jobs_requeued == 0);
        // A gets no second RECALL for what it no longer holds, and B's run is the job's first counted one.
        CHECK(f.outbox.to_worker_of<p::Recall>("A").empty());
        f.done("B", "short", 2, "fast");
        f.request(p::StatusRequest{"short"});
        auto status = f.outbox.to_producer_of<p::StatusReply>("P");
        REQUIRE(status.size() == 1);
        CHECK(status[0].state == p::JobState::done);
        CHECK(status[0].attempt == 2);
        CHECK(status[0].counted_attempts == std::optional<std::uint32_t>(1));
    }
    SECTION("the holder had started it already: it ends as usual, and no second RECALL goes out") {
        f.heartbeat("B");
        f.done("A", "long", 1);
        f.done("A", "short", 1);
        CHECK(f.outbox.to_worker_of<p::Recall>("A").empty());
        CHECK(f.scheduler.counters().jobs_recalled == 0);
        CHECK(f.scheduler.counters().jobs_done == 2);
        CHECK(f.jobs_for("B").empty());
    }
    SECTION("one RECALL per idle worker, not per turn") {
        f.heartbeat("B");
        f.submit("later");  // goes to B's free slot
        CHECK(f.job_ids_for("B") == std::vector<std::string>{"later"});
        CHECK(f.outbox.to_worker_of<p::Recall>("A").empty());
    }
    SECTION("a holder that goes away takes its RECALL with it") {
        f.scheduler.on_worker_message("A", p::Disconnect{"bye"}, f.now);
        // Both its jobs are back; B takes one, the other waits.
        CHECK(f.job_ids_for("B").size() == 2);
    }
}

TEST_CASE("the broker holds ready what a worker gets through in 10 ms: all its prefetch for short jobs, one for long "
          "ones",
          "[broker][scheduler][prefetch]") {
    Fixture f;
    f.ready("A", {"q"}, 1, 8);
    for (int i = 0; i < 40; ++i) f.submit(std::to_string(i));
    auto ready_depth = [&f] { return f.scheduler.stats(f.now).workers.at(0).ready_depth; };
    // Its pace is not known yet: one job to run and one held ready.
    CHECK(f.job_ids_for("A") == std::vector<std::string>{"0", "1"});
    CHECK(ready_depth() == 1);

    // A job ended 1 ms after its lease: 10 would fit in 10 ms, so the whole prefetch of 8.
    f.advance(std::chrono::milliseconds(1));
    f.done("A", "0", 1);
    CHECK(f.job_ids_for("A").size() == 8);
    CHECK(ready_depth() == 8);

    // Then one of 100 ms: the smoothed pace (13 ms) is over 10 ms, so one job held ready. The 8
    // already there stay; no more comes until they are down to one.
    f.advance(std::chrono::milliseconds(100));
    f.done("A", "1", 1);
    CHECK(ready_depth() == 1);
    CHECK(f.jobs_for("A").empty());
    for (int i = 2; i < 8; ++i) {
        f.advance(std::chrono::milliseconds(100));
        f.heartbeat("A");
        f.done("A", std::to_string(i), 1);
        CHECK(f.jobs_for("A").empty());
    }
    f.advance(std::chrono::milliseconds(100));
    f.done("A", "8", 1);  // "9" runs now and "10" comes to be held ready: one, not eight
    CHECK(f.job_ids_for("A") == std::vector<std::string>{"10"});

    SECTION("idle time does not count: a job's pace runs from its lease when that came after the last ending") {
        f.ready("B", {"r"}, 1, 8);
        f.submit("r0", "r");
        REQUIRE(f.job_ids_for("B") == std::vector<std::string>{"r0"});
        f.advance(std::chrono::milliseconds(1));
        f.done("B", "r0", 1);
        for (int i = 0; i < 4; ++i) {  // a long idle stretch, heartbeating
            f.advance(std::chrono::milliseconds(900));
            f.heartbeat("B");
        }
        f.submit("r1", "r");
        REQUIRE(f.job_ids_for("B") == std::vector<std::string>{"r1"});
        f.advance(std::chrono::milliseconds(1));
        f.done("B", "r1", 1);
        for (int i = 2; i < 20; ++i) f.submit("r" + std::to_string(i), "r");
        CHECK(f.job_ids_for("B").size() == 9);  // one to run, 8 held ready
    }
}

TEST_CASE("past 16 MiB of leased payloads, a worker is held no more jobs ready than the first",
          "[broker][scheduler][prefetch]") {
    Fixture f;
    f.ready("A", {"q"}, 1, 8);
    f.submit("fast");
    REQUIRE(f.job_ids_for("A") == std::vector<std::string>{"fast"});
    f.advance(std::chrono::milliseconds(1));
    f.done("A", "fast", 1);  // a pace of 1 ms: a ready depth of 8
    REQUIRE(f.scheduler.stats(f.now).workers.at(0).ready_depth == 8);
    const std::string five_mib(5 * 1024 * 1024, 'x');
    for (int i = 0; i < 6; ++i) {
        f.submit_message(p::make_submit("big" + std::to_string(i), "q", false, p::make_payload(five_mib)));
    }
    // 5 MiB running, then held ready while under 16 MiB: 10, 15, then 20 MiB; no more after.
    CHECK(f.job_ids_for("A") == std::vector<std::string>{"big0", "big1", "big2", "big3"});
    CHECK(f.pending_count("q") == 2);

    SECTION("small payloads still get the whole depth") {
        f.ready("B", {"r"}, 1, 8);
        f.submit("r-fast", "r");
        f.advance(std::chrono::milliseconds(1));
        f.done("B", "r-fast", 1);
        for (int i = 0; i < 12; ++i) f.submit("r" + std::to_string(i), "r");
        CHECK(f.job_ids_for("B").size() == 10);  // r-fast, then 9: one to run, 8 held ready
    }
    SECTION("as leases end the worker is held more again, down to the first past the budget") {
        f.done("A", "big0", 1);  // 15 MiB leased: under the budget, one more
        CHECK(f.job_ids_for("A") == std::vector<std::string>{"big4"});
    }
}

TEST_CASE("an attempt that times out counts in its worker's pace, as one that ends does",
          "[broker][scheduler][prefetch]") {
    Fixture f;
    f.ready("A", {"q"}, 1, 8);
    f.submit("fast");
    f.advance(std::chrono::milliseconds(1));
    f.done("A", "fast", 1);  // a pace of 1 ms: the whole prefetch
    REQUIRE(f.scheduler.stats(f.now).workers.at(0).ready_depth == 8);
    auto timed = p::make_submit("timed", "q", false, p::make_payload("x"));
    timed.timeout_ms = 100;
    timed.retry.max_attempts = 1;
    f.submit_message(std::move(timed));
    f.advance(std::chrono::milliseconds(100));  // it times out: 100 ms of the worker's time
    CHECK(f.find_job("timed")->state == p::JobState::failed);
    CHECK(f.scheduler.stats(f.now).workers.at(0).ready_depth == 1);
}

TEST_CASE("a job with a timeout is never held ready, since its timeout runs from the lease",
          "[broker][scheduler][prefetch]") {
    Fixture f;
    f.ready("A", {"q"}, 1, 4);
    auto timed = p::make_submit("timed", "q", false, p::make_payload("x"));
    timed.timeout_ms = 1000;
    f.submit("first");
    f.submit_message(std::move(timed));
    f.submit("behind");
    // "first" runs; "timed" would only be held ready, so it waits, and "behind" keeps its place.
    CHECK(f.job_ids_for("A") == std::vector<std::string>{"first"});
    CHECK(f.pending_count("q") == 2);
    f.done("A", "first", 1);
    CHECK(f.job_ids_for("A") == std::vector<std::string>{"timed", "behind"});
}
