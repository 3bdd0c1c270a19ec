// A job's state inside the broker, and the table of the moves between states: the state machine
// of docs/jobs.md §States, as data. JobStates::move_job() is the one place a state changes, and
// it checks every move against this table. Header-only; no thread of its own.
#pragma once

#include <array>
#include <cstdint>

#include "corsair/protocol/messages.hpp"

namespace corsair::broker {

enum class JobState : std::uint8_t {
    created,  // made by SUBMIT (or replay), not yet placed anywhere
    pending,  // in its queue's PendingQueue, ready for a worker with credit
    delayed,  // on the ready timers: a delay, a run_at time, or a retry's backoff
    running,  // leased to one worker for one attempt (on the lease timers if it has a timeout)
    dead,     // in its queue's dead set; the wire calls this `failed`
    ended,    // out of every structure: done, cancelled, purged or evicted; about to be destroyed
    // Running when the broker stopped (or its worker reconnected): the lease (id, attempt) waits
    // for a worker to announce it again in READY `holding` (protocol.md §10); `running` on the wire.
    unclaimed,
};
inline constexpr std::size_t kJobStateCount = 7;

inline constexpr const char* to_string(JobState state) noexcept {
    switch (state) {
        case JobState::created: return "created";
        case JobState::pending: return "pending";
        case JobState::delayed: return "delayed";
        case JobState::running: return "running";
        case JobState::dead: return "dead";
        case JobState::ended: return "ended";
        case JobState::unclaimed: return "unclaimed";
    }
    return "?";
}

// What STATUS, RESULT and DEAD_REPLY say: the dead set is `failed` on the wire (protocol.md §5.6).
// `created` and `ended` are never seen from outside.
inline constexpr protocol::JobState wire_state(JobState state) noexcept {
    switch (state) {
        case JobState::delayed: return protocol::JobState::delayed;
        case JobState::running:
        case JobState::unclaimed: return protocol::JobState::running;
        case JobState::dead: return protocol::JobState::failed;
        default: return protocol::JobState::pending;
    }
}

// One row per move a live broker makes, to hold against docs/jobs.md §States. Replaying the
// journal (JournalReplay) may put a job straight where its records say: JobStates::place().
struct JobTransition {
    JobState from;
    JobState to;
    const char* by;
};
inline constexpr std::array<JobTransition, 16> kJobTransitions{{
    {JobState::created, JobState::pending, "SUBMIT"},
    {JobState::created, JobState::delayed, "SUBMIT with a delay or run_at"},
    {JobState::pending, JobState::running, "dispatch to a worker with credit"},
    {JobState::pending, JobState::ended, "CANCEL"},
    {JobState::delayed, JobState::pending, "its timer: the delay, run_at time or backoff is over"},
    {JobState::delayed, JobState::ended, "CANCEL"},
    {JobState::running, JobState::pending,
     "at the head: the worker died with attempts left (attempt counted), left cleanly (attempt "
     "free), or the JOB/JOBS could not be sent (lease undone)"},
    {JobState::running, JobState::delayed, "FAIL or timeout with attempts left: the retry's backoff"},
    {JobState::running, JobState::dead, "FAIL, timeout or the worker's death: no attempts left, or permanent"},
    {JobState::running, JobState::ended, "DONE from the lease holder, or CANCEL"},
    {JobState::dead, JobState::pending, "RETRY"},
    {JobState::dead, JobState::ended, "PURGE, or the dead set's bounds (dead_max_count, dead_max_age)"},
    {JobState::running, JobState::unclaimed, "its worker announced itself on a new connection, still holding it"},
    {JobState::unclaimed, JobState::running,
     "re-adopted, same attempt: a READY holding its lease, or a DONE/FAIL for its lease from any connection"},
    {JobState::unclaimed, JobState::pending, "the re-adoption window passed: at the head, attempt free"},
    {JobState::unclaimed, JobState::ended, "CANCEL"},
}};

constexpr bool is_allowed(JobState from, JobState to) noexcept {
    for (const auto& row : kJobTransitions) {
        if (row.from == from && row.to == to) return true;
    }
    return false;
}

static_assert(is_allowed(JobState::pending, JobState::running));
static_assert(!is_allowed(JobState::pending, JobState::dead), "only a running attempt can fail");
static_assert(!is_allowed(JobState::running, JobState::running), "a new lease needs the job pending first");
static_assert(!is_allowed(JobState::ended, JobState::pending), "an ended job never comes back");
static_assert(!is_allowed(JobState::pending, JobState::unclaimed), "only a lease can wait for its worker");

}  // namespace corsair::broker
