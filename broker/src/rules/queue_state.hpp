// One named queue: its settings, its ready jobs (PendingQueue), how many wait for their time,
// its dead set, and the workers serving it that have credit, in the order they are given jobs
// (WorkerRegistry).
#pragma once

#include <chrono>
#include <cstdint>
#include <list>
#include <string>
#include <unordered_set>

#include "corsair/protocol/limits.hpp"
#include "corsair/protocol/messages.hpp"
#include "fixed_histogram.hpp"
#include "pending_queue.hpp"

namespace corsair::broker {

struct JobRecord;
struct WorkerRecord;

// What happened to a queue's jobs since the broker started (STATS, docs/protocol.md §5.7),
// counted by the rule that does it; like every counter in STATS, not restored from the journal.
struct QueueEvents {
    std::uint64_t submitted = 0;
    std::uint64_t retried = 0;    // failed attempts scheduled for another try after a backoff
    std::uint64_t requeued = 0;   // taken back from a worker that died or left
    std::uint64_t timed_out = 0;  // attempts that hit the job's timeout
    std::uint64_t cancelled = 0;
    JobLatencyHistogram wait;  // first ready (submit, or a delay's end) to first dispatch
    JobLatencyHistogram run;   // dispatch to DONE, for attempts ended done
};

// A queue's settings (QUEUE command), with the documented defaults (docs/jobs.md).
struct QueueConfig {
    bool is_paused = false;
    std::uint64_t max_length = protocol::kDefaultMaxQueueLength;  // pending + delayed; 0 = no limit
    std::uint32_t max_attempts = protocol::kDefaultMaxAttempts;
    std::chrono::milliseconds backoff = protocol::kDefaultBackoff;
    std::chrono::milliseconds backoff_max = protocol::kDefaultBackoffMax;
    std::uint32_t backoff_jitter_pct = protocol::kDefaultBackoffJitterPct;
    std::chrono::milliseconds timeout{0};  // per attempt; 0 = none
    std::uint64_t dead_max_count = protocol::kDefaultDeadMaxCount;
    std::chrono::milliseconds dead_max_age = protocol::kDefaultDeadMaxAge;
};

// Applies the fields `settings` sets (QUEUE request, or its journal record) to `config`.
inline void apply(QueueConfig& config, const protocol::QueueSettings& settings) {
    if (settings.is_paused) config.is_paused = *settings.is_paused;
    if (settings.max_length) config.max_length = *settings.max_length;
    if (settings.retry.max_attempts) config.max_attempts = *settings.retry.max_attempts;
    if (settings.retry.backoff_ms) config.backoff = std::chrono::milliseconds(*settings.retry.backoff_ms);
    if (settings.retry.backoff_max_ms) config.backoff_max = std::chrono::milliseconds(*settings.retry.backoff_max_ms);
    if (settings.retry.backoff_jitter_pct) config.backoff_jitter_pct = *settings.retry.backoff_jitter_pct;
    if (settings.timeout_ms) config.timeout = std::chrono::milliseconds(*settings.timeout_ms);
    if (settings.dead_max_count) config.dead_max_count = *settings.dead_max_count;
    if (settings.dead_max_age_ms) config.dead_max_age = std::chrono::milliseconds(*settings.dead_max_age_ms);
}

struct QueueState {
    std::string name;
    QueueConfig config;
    PendingQueue pending;
    std::uint64_t delayed = 0;      // waiting for a delay, a run_at time or a retry's backoff
    JobList dead;                   // the dead set, oldest first
    // With a free slot. Front = least recently given a job, or a worker of short jobs that has
    // just had a slot freed (WorkerRecord::is_warm).
    std::list<WorkerRecord*> idle_workers;
    // With every slot busy but room to hold a job ready (READY `prefetch`): given jobs only when
    // no worker has a free slot. Front = least recently given a job.
    std::list<WorkerRecord*> prefetching_workers;
    // Workers that were handed a job of this queue to hold ready, and may still hold it unstarted:
    // where Dispatcher::recall_ready_jobs() looks when a worker of this queue sits idle. Entries
    // found stale are dropped there; WorkerRegistry drops a worker's entries before its record goes.
    std::unordered_set<WorkerRecord*> ready_holders;
    // RECALLs sent for jobs of this queue whose attempts have not ended yet (JobStates keeps it).
    std::uint64_t recalls_in_flight = 0;
    std::uint64_t in_flight = 0;
    // Jobs of this queue ended done, and ended failed (into the dead set), since the broker
    // started: like every counter in STATS, not restored from the journal (protocol.md §5.7).
    std::uint64_t done = 0;
    std::uint64_t failed = 0;
    QueueEvents events;
    bool is_dirty = false;  // queued for a dispatch pass at the end of the current event
    // Deleted (DELETE_QUEUE): hidden from every request until a SUBMIT or READY names it again.
    // The record itself stays, because ended jobs and workers point at it.
    bool is_deleted = false;

    std::uint64_t waiting() const noexcept { return pending.size() + delayed; }
};

}  // namespace corsair::broker
