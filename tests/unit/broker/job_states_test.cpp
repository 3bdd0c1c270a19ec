#include "job_states.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <set>
#include <utility>

#include "queue_state.hpp"
#include "worker_registry.hpp"

using namespace corsair::broker;
using namespace std::chrono_literals;

namespace {

using TimePoint = std::chrono::steady_clock::time_point;

// One queue, one job and one worker serving the queue, with the parts JobStates needs.
struct Bench {
    Bench() : workers(dirty, HeartbeatRhythm{1s, 10s, 3}), states(dirty, workers) {
        queue.name = std::string("q");
        job.reset(JobRecord::create("j1", std::string_view("payload")));
        job->queue = &queue;
        worker = workers.announce("W", "w", {"q"}, {&queue}, 1, 0, now).first;
        workers.refresh_listing(*worker);
        while (dirty.take() != nullptr) {}
    }
    // The job leaves every structure before it is freed.
    ~Bench() { states.place(*job, JobMove::ended()); }

    // Where the job is, read off the structures rather than its state field.
    std::string_view place() const {
        if (!queue.pending.empty() && queue.pending.front() == job.get()) return "pending";
        if (queue.dead.front() == job.get()) return "dead";
        if (worker->leases.front() == job.get()) return "running";
        if (queue.delayed == 1) return "delayed";
        return "nowhere";
    }

    TimePoint now{std::chrono::seconds(100)};
    QueueState queue;
    DirtyQueues dirty;
    WorkerRegistry workers;
    JobStates states;
    std::unique_ptr<JobRecord, JobRecordDeleter> job;
    WorkerRecord* worker = nullptr;
};

}  // namespace

TEST_CASE("the job state table has one row per move and no way out of ended", "[broker][job_states]") {
    std::set<std::pair<JobState, JobState>> seen;
    for (const auto& row : kJobTransitions) {
        CHECK(seen.insert({row.from, row.to}).second);
        CHECK(row.from != JobState::ended);
        CHECK(row.to != JobState::created);
        CHECK(row.from != row.to);
    }
    CHECK_FALSE(is_allowed(JobState::pending, JobState::dead));
    CHECK_FALSE(is_allowed(JobState::delayed, JobState::running));
    CHECK(wire_state(JobState::dead) == corsair::protocol::JobState::failed);
}

TEST_CASE("each move takes a job out of its old place and into its new one", "[broker][job_states]") {
    Bench b;
    b.states.move_job(*b.job, JobMove::pending());
    CHECK(b.place() == "pending");
    CHECK(b.dirty.take() == &b.queue);

    b.states.move_job(*b.job, JobMove::running(*b.worker, b.now + 10s));
    CHECK(b.place() == "running");
    CHECK(b.queue.pending.empty());
    CHECK(b.queue.in_flight == 1);
    CHECK(b.job->lease_holder == b.worker);
    CHECK(b.worker->credit() == 0);
    CHECK(b.states.next_deadline() == b.now + 10s);

    b.states.move_job(*b.job, JobMove::delayed(b.now + 5s));
    CHECK(b.place() == "delayed");
    CHECK(b.queue.in_flight == 0);
    CHECK(b.job->lease_holder == nullptr);
    CHECK(b.worker->credit() == 1);
    CHECK(b.states.next_deadline() == b.now + 5s);  // the lease timer went with the lease

    CHECK(b.states.pop_ready(b.now + 4s) == nullptr);
    REQUIRE(b.states.pop_ready(b.now + 5s) == b.job.get());
    b.states.move_job(*b.job, JobMove::pending());
    CHECK(b.queue.delayed == 0);
    CHECK_FALSE(b.states.next_deadline().has_value());

    b.states.move_job(*b.job, JobMove::running(*b.worker, std::nullopt));
    b.states.move_job(*b.job, JobMove::dead(b.now));
    CHECK(b.place() == "dead");
    CHECK(b.job->details().died_at == b.now);

    b.states.move_job(*b.job, JobMove::pending());
    b.states.move_job(*b.job, JobMove::ended());
    CHECK(b.place() == "nowhere");
    CHECK(b.job->state == JobState::ended);
}

TEST_CASE("a lease that ends gives its worker's credit back, unless the worker is gone", "[broker][job_states]") {
    Bench b;
    b.states.move_job(*b.job, JobMove::pending());
    b.states.move_job(*b.job, JobMove::running(*b.worker, std::nullopt));
    b.workers.note_leased(*b.worker, b.queue);  // as the Dispatcher does after a lease
    CHECK(b.queue.idle_workers.empty());
    SECTION("serving: listed again as idle") {
        b.states.move_job(*b.job, JobMove::pending_at_head());
        CHECK(b.queue.idle_workers.size() == 1);
    }
    SECTION("gone: not listed") {
        b.workers.move_worker(*b.worker, WorkerState::gone);
        b.states.move_job(*b.job, JobMove::pending_at_head());
        CHECK(b.queue.idle_workers.empty());
        CHECK(b.worker->leases.empty());
    }
}

TEST_CASE("a lease timeout hands back the running job", "[broker][job_states]") {
    Bench b;
    b.states.move_job(*b.job, JobMove::pending());
    b.states.move_job(*b.job, JobMove::running(*b.worker, b.now + 1s));
    CHECK(b.states.pop_timed_out(b.now) == nullptr);
    CHECK(b.states.pop_timed_out(b.now + 1s) == b.job.get());
    CHECK(b.job->state == JobState::running);
    CHECK_FALSE(b.job->details().lease_timer.has_value());
}

TEST_CASE("replay places a job unclaimed, without a lease holder, then pending", "[broker][job_states]") {
    Bench b;
    b.states.place(*b.job, JobMove::pending());
    b.states.place(*b.job, JobMove::unclaimed());
    CHECK(b.queue.in_flight == 1);
    CHECK(b.job->lease_holder == nullptr);
    b.states.place(*b.job, JobMove::pending_at_head());
    CHECK(b.queue.in_flight == 0);
    CHECK(b.place() == "pending");
}
