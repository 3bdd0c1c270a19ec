// One named queue: its settings, its ready jobs (PendingQueue), how many wait for their time,
// its dead set, and the workers serving it that have credit, least recently used first.
#pragma once

#include <chrono>
#include <cstdint>
#include <list>
#include <string>

#include "corsair/protocol/limits.hpp"
#include "pending_queue.hpp"

namespace corsair::broker {

struct JobRecord;
struct WorkerRecord;

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

struct QueueState {
    std::string name;
    QueueConfig config;
    PendingQueue pending;
    std::uint64_t delayed = 0;      // waiting for a delay, a run_at time or a retry's backoff
    std::list<JobRecord*> dead;     // the dead set, oldest first
    std::list<WorkerRecord*> idle_workers;  // front = least recently given a job
    std::uint64_t in_flight = 0;
    std::uint64_t done = 0;
    std::uint64_t failed = 0;
    bool is_dirty = false;  // queued for a dispatch pass at the end of the current event

    std::uint64_t waiting() const noexcept { return pending.size() + delayed; }
};

}  // namespace corsair::broker
