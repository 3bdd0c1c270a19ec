#include "job_states.hpp"

#include <cassert>

#include "queue_state.hpp"
#include "worker_registry.hpp"

namespace corsair::broker {

void JobStates::move_job(JobRecord& job, const JobMove& move) {
    assert(is_allowed(job.state, move.to));
    place(job, move);
}

void JobStates::place(JobRecord& job, const JobMove& move) {
    unlink(job);
    link(job, move);
}

void JobStates::unlink(JobRecord& job) {
    QueueState& queue = *job.queue;
    switch (job.state) {
        case JobState::pending: queue.pending.erase(&job); break;
        case JobState::delayed: {
            JobDetails& details = job.writable_details();
            if (details.ready_timer) ready_timers_.cancel(*details.ready_timer);
            details.ready_timer.reset();
            --queue.delayed;
            break;
        }
        case JobState::running: {
            --queue.in_flight;
            if (job.is_recall_sent) {
                job.is_recall_sent = false;
                --queue.recalls_in_flight;
            }
            if (job.has_details()) {
                JobDetails& details = job.writable_details();
                if (details.lease_timer) lease_timers_.cancel(*details.lease_timer);
                details.lease_timer.reset();
                details.progress.reset();
                details.progress_message.clear();
            }
            // A job re-adopted to end an attempt reported from elsewhere has no lease holder.
            if (WorkerRecord* worker = job.lease_holder) {
                worker->leases.erase(&job);
                worker->lease_bytes -= job.payload().size();
                job.lease_holder = nullptr;
                workers_.refresh_listing(*worker);
            }
            break;
        }
        case JobState::dead: queue.dead.erase(&job); break;
        case JobState::unclaimed:
            --queue.in_flight;
            unclaimed_.erase(&job);
            break;
        case JobState::created:
        case JobState::ended: break;
    }
}

void JobStates::link(JobRecord& job, const JobMove& move) {
    QueueState& queue = *job.queue;
    job.state = move.to;
    job.state_since = now_;
    switch (move.to) {
        case JobState::pending:
            if (move.is_at_head) {
                queue.pending.push_front(&job);
            } else {
                queue.pending.push_back(&job);
            }
            dirty_.mark(queue);
            break;
        case JobState::delayed: {
            JobDetails& details = job.writable_details();
            details.ready_at = move.at;
            details.ready_timer = ready_timers_.add(move.at, &job);
            ++queue.delayed;
            break;
        }
        case JobState::running:
            ++queue.in_flight;
            if (move.worker != nullptr) {
                job.lease_holder = move.worker;
                // Its liveness window restarts with its first lease (WorkerRegistry::is_silent()).
                if (move.worker->leases.empty()) move.worker->busy_since = now_;
                move.worker->leases.push_back(&job);
                move.worker->lease_bytes += job.payload().size();
            }
            if (move.lease_deadline) job.writable_details().lease_timer = lease_timers_.add(*move.lease_deadline, &job);
            break;
        case JobState::dead:
            job.writable_details().died_at = move.at;
            queue.dead.push_back(&job);
            break;
        case JobState::unclaimed:
            ++queue.in_flight;
            unclaimed_.push_back(&job);
            break;
        case JobState::created:
        case JobState::ended: break;
    }
}

JobRecord* JobStates::pop_ready(TimePoint now) {
    auto due = ready_timers_.pop_due(now);
    if (!due) return nullptr;
    (*due)->writable_details().ready_timer.reset();
    return *due;
}

JobRecord* JobStates::pop_timed_out(TimePoint now) {
    auto due = lease_timers_.pop_due(now);
    if (!due) return nullptr;
    (*due)->writable_details().lease_timer.reset();
    return *due;
}

std::optional<JobStates::TimePoint> JobStates::next_deadline() const {
    auto ready = ready_timers_.next_deadline();
    auto lease = lease_timers_.next_deadline();
    if (ready && lease) return std::min(*ready, *lease);
    return ready ? ready : lease;
}

}  // namespace corsair::broker
