// How an attempt or a job ends (docs/jobs.md): DONE and FAIL from the lease holder (fenced by
// (id, attempt)), a lease's timeout, a worker lost with its leases, retries with backoff, the
// dead set and its bounds, and a job's ending into the ResultStore with its RESULT to the
// producer waiting on it. Owned by the broker's loop thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>
#include <string>

#include <zmq.hpp>

#include "corsair/broker/outbox.hpp"
#include "job_record.hpp"
#include "job_states.hpp"
#include "job_store.hpp"
#include "replies.hpp"
#include "result_store.hpp"
#include "scheduler_context.hpp"
#include "worker_registry.hpp"

namespace corsair::broker {

class JobEndings {
public:
    using TimePoint = std::chrono::steady_clock::time_point;

    JobEndings(const SchedulerContext& context, JobStore& jobs, JobStates& states, WorkerRegistry& workers,
               Replies& replies, ResultStore& results, Outbox& outbox, std::mt19937_64 random)
        : context_(context), jobs_(jobs), states_(states), workers_(workers), replies_(replies), results_(results),
          outbox_(outbox), random_(std::move(random)) {}
    JobEndings(const JobEndings&) = delete;
    JobEndings& operator=(const JobEndings&) = delete;

    // DONE (succeeded) or FAIL from `worker` for (id, attempt). protocol.md §Leases: only the
    // holder of the current lease may end an attempt; anything else is counted and dropped.
    // `worker` null: the report of a lease claimed without a holder (LeaseAdoption::claim_for_report).
    void complete(WorkerRecord* worker, const std::string& id, std::uint32_t attempt, bool succeeded,
                  zmq::message_t result, std::string error, bool is_permanent, TimePoint now);
    // FAIL with not_started from `worker` for (id, attempt), fenced as complete() is: the
    // command could not be started, which is the worker's fault, so the lease is given back
    // uncounted (release_lease()) and the job's error history is left alone.
    void give_back_unstarted(WorkerRecord& worker, const std::string& id, std::uint32_t attempt,
                             const std::string& error);
    // A running job's lease timed out: ABANDON to its worker, and a failed attempt.
    void time_out(JobRecord& job, TimePoint now);
    // A worker that is gone (`reason`: disconnect, heartbeat_timeout, connection_lost,
    // unreachable): its jobs go back to the heads of their queues, each a failed attempt unless
    // it left cleanly, and its record is forgotten.
    void lose_worker(WorkerRecord& worker, const char* reason, TimePoint now);
    // ABANDON to the lease holder of running `job` (protocol.md §Leases): it must stop; anything
    // it still sends is stale. The lease itself ends with the job's next move.
    void revoke_lease(JobRecord& job, const char* reason);

    // A failed attempt of running `job`: retried after a backoff, at once at the head of its
    // queue (`is_worker_lost`), or into the dead set when permanent or out of attempts.
    void fail_attempt(JobRecord& job, std::string error, bool is_permanent, TimePoint now, bool is_worker_lost);
    // Ends `job` in `state` (done, cancelled, or failed for a dead job purged or evicted): kept in
    // the ResultStore, its RESULT sent to a waiting producer if `tells_producer`, then destroyed.
    void end_job(JobRecord& job, protocol::JobState state, zmq::message_t result, std::string error, TimePoint now,
                 bool tells_producer);
    // Drops the oldest dead jobs over the queue's dead_max_count or older than its dead_max_age.
    void expire_dead(QueueState& queue, TimePoint now);
    // The ResultStore entry for `job` ending at `ended_at` in `state`; takes its error history.
    static EndedJob ended_record(JobRecord& job, protocol::JobState state, zmq::message_t result, std::string error,
                                 TimePoint ended_at);
    // When a job last ended done or failed for good (STATS), kUnknownTime before any.
    TimePoint last_job_ended_at() const noexcept { return last_job_ended_at_; }

private:
    // The job `worker` holds under the lease (id, attempt), or nullptr (counted and logged as a
    // stale completion) when that is not the current lease or not this worker's.
    JobRecord* current_lease(WorkerRecord* worker, const std::string& id, std::uint32_t attempt);
    // protocol.md §10: a lease given back through no fault of the job (a worker that left
    // cleanly, a command that could not start) ends without counting against max_attempts; the
    // attempt number still goes up with the next lease, as it is the fencing token.
    void release_lease(JobRecord& job);
    void move_to_dead(JobRecord& job, TimePoint now);
    void requeue_leases(WorkerRecord& worker, bool counts_as_attempt, const std::string& reason, TimePoint now);
    std::chrono::milliseconds backoff_of(const JobRecord& job);

    const SchedulerContext& context_;
    JobStore& jobs_;
    JobStates& states_;
    WorkerRegistry& workers_;
    Replies& replies_;
    ResultStore& results_;
    Outbox& outbox_;
    std::mt19937_64 random_;  // backoff jitter; seeded from the options, so tests are repeatable
    TimePoint last_job_ended_at_ = kUnknownTime;
};

}  // namespace corsair::broker
