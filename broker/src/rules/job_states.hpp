// The one place a job's state changes: move_job() takes the job out of the structure its old
// state keeps it in (its queue's pending FIFO, the ready timers, its lease holder's leases and the
// lease timers, its queue's dead set) and puts it into the new one, keeping the queue's counts,
// the worker's credit and the dirty queues in step. Every move is checked against
// kJobTransitions (job_state.hpp). Owned by the broker's loop thread.
#pragma once

#include <chrono>
#include <optional>

#include "dirty_queues.hpp"
#include "job_list.hpp"
#include "job_record.hpp"
#include "job_state.hpp"

namespace corsair::broker {

class WorkerRegistry;

// Where a move puts a job, with what the new place needs.
struct JobMove {
    using TimePoint = std::chrono::steady_clock::time_point;

    JobState to = JobState::pending;
    bool is_at_head = false;                     // pending: ahead of its priority's other jobs
    TimePoint at{};                              // delayed: when it is ready; dead: when it died
    WorkerRecord* worker = nullptr;              // running: the lease holder
    std::optional<TimePoint> lease_deadline;     // running: when the attempt times out, if ever

    static JobMove pending() { return {JobState::pending, false, {}, nullptr, std::nullopt}; }
    static JobMove pending_at_head() { return {JobState::pending, true, {}, nullptr, std::nullopt}; }
    static JobMove delayed(TimePoint ready_at) { return {JobState::delayed, false, ready_at, nullptr, std::nullopt}; }
    static JobMove running(WorkerRecord& worker, std::optional<TimePoint> lease_deadline) {
        return {JobState::running, false, {}, &worker, lease_deadline};
    }
    static JobMove dead(TimePoint died_at) { return {JobState::dead, false, died_at, nullptr, std::nullopt}; }
    static JobMove ended() { return {JobState::ended, false, {}, nullptr, std::nullopt}; }
    // Waiting for a worker to announce its lease again (journal replay: running when the broker
    // stopped; or its worker reconnected). No lease holder survives a restart.
    static JobMove unclaimed() { return {JobState::unclaimed, false, {}, nullptr, std::nullopt}; }
    // A DONE/FAIL for an unclaimed lease from a connection that did not announce it: running
    // with no holder, just long enough to end the attempt.
    static JobMove running_without_holder() { return {JobState::running, false, {}, nullptr, std::nullopt}; }
};

class JobStates {
public:
    using TimePoint = std::chrono::steady_clock::time_point;

    JobStates(DirtyQueues& dirty, WorkerRegistry& workers) : dirty_(dirty), workers_(workers) {}
    JobStates(const JobStates&) = delete;
    JobStates& operator=(const JobStates&) = delete;

    // A move of kJobTransitions; any other is a bug in the caller (asserted). A lease that ends
    // gives its worker's credit back (relisting it), unless the worker is gone; a new lease's
    // effect on the idle lists is the Dispatcher's (WorkerRegistry::note_leased), which also
    // keeps their least-recently-used order.
    void move_job(JobRecord& job, const JobMove& move);
    // Journal replay only: puts a job where its records say, from whatever state it is in.
    void place(JobRecord& job, const JobMove& move);
    // The time the Scheduler's current event happens at: moves stamp it as the job's state_since.
    void set_time(TimePoint now) noexcept { now_ = now; }

    // Delayed jobs whose time has come, one at a time (each already unlinked from the timers and
    // still `delayed`), then jobs whose lease timed out (still `running`).
    JobRecord* pop_ready(TimePoint now);
    JobRecord* pop_timed_out(TimePoint now);
    std::optional<TimePoint> next_deadline() const;
    // The unclaimed jobs (state `unclaimed`), in no particular order.
    const JobList& unclaimed() const noexcept { return unclaimed_; }

private:
    void unlink(JobRecord& job);
    void link(JobRecord& job, const JobMove& move);

    DirtyQueues& dirty_;
    WorkerRegistry& workers_;
    JobTimers ready_timers_;  // delayed jobs, by the time they become pending
    JobTimers lease_timers_;  // running jobs with a timeout, by their deadline
    JobList unclaimed_;       // jobs waiting for their worker to announce their lease again
    TimePoint now_ = kUnknownTime;
};

}  // namespace corsair::broker
