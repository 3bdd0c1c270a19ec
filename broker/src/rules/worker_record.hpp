// One connected worker as the broker sees it: what it serves, its credit and its leases.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <list>
#include <string>
#include <vector>

#include "job_list.hpp"
#include "ready_depth.hpp"

namespace corsair::broker {

struct QueueState;

// Which of its queues' idle lists a worker is on: a worker with a free slot (fewer leases than
// its capacity) is handed jobs before one that would only hold them ready (READY `prefetch`).
enum class Listing : std::uint8_t {
    none,         // no credit, or not serving
    free_slot,    // QueueState::idle_workers
    ready_slot,   // QueueState::prefetching_workers: its slots are full, it may hold a job ready
};

// A worker connection's state as the broker sees it (protocol.md §7, the broker's side).
enum class WorkerState : std::uint8_t {
    serving,    // announced (READY); takes jobs while it has credit
    congested,  // a JOB could not be queued to it (high-water mark); serving again when it speaks
    draining,   // sent DRAIN: takes no new jobs, finishes what it holds
    gone,       // DISCONNECT, silent past liveness, or unreachable: its record is being removed
};

// The payload bytes a worker's leases may reach before the broker stops adding jobs held ready
// beyond the first: the ready depth bounds the time jobs wait there, this the memory they take
// (16 MiB: 32 jobs of 512 KiB, two of the default --max-payload of 8 MiB).
inline constexpr std::uint64_t kReadyPayloadBudget = 16 * 1024 * 1024;

// The work a worker's share of one dispatch pass adds up to, at its pace (docs/jobs.md, Dispatch):
// the most a job waits on a worker that runs them one after another, against one given to the
// next worker in line.
inline constexpr std::chrono::nanoseconds kPassWorkBudget = std::chrono::milliseconds(10);

struct WorkerRecord {
    std::string routing_id;
    std::string name;
    // Where it connected from (ZeroMQ's Peer-Address: its IP over TCP); empty for a connection
    // inside the broker's process, the HTTP side's workers, whose joins and leaves log at debug
    // since one comes and goes per HTTP job.
    std::string address;
    // The CURVE key it connected with (its name in --allowed-keys); empty without CURVE.
    std::string key;
    // READY's `instance`: the worker process (0: not told). The same name and instance on a new
    // connection is this worker reconnecting.
    std::uint64_t instance = 0;
    std::vector<std::string> queues;
    std::uint32_t capacity = 1;
    // Jobs it may hold ready beyond `capacity` (READY `prefetch`, protocol.md §11).
    std::uint32_t prefetch = 0;
    // How many of those it is leased now, from the pace at which its attempts end.
    ReadyDepth ready_depth;
    // The payload bytes of its leases: a job held ready holds its payload in the worker's memory.
    std::uint64_t lease_bytes = 0;
    // Most jobs in one JOBS (READY `batch`, at most kMaxBatchEntries); 0 or 1: one JOB per message.
    std::uint32_t batch = 0;
    // Its JOBS may carry their payloads packed in one frame (READY `reads_packed`, protocol.md §3.1).
    bool reads_packed = false;
    // Jobs leased to it in the dispatch under way, not yet sent (Scheduler::send_outgoing).
    std::vector<JobRecord*> outgoing;
    JobList leases;  // jobs this worker holds the current lease of, linked through the jobs
    std::chrono::steady_clock::time_point last_heard{};
    // READY `idle_heartbeat`: while it holds no lease it heartbeats, and is heartbeated, every
    // idle interval only (protocol.md §9).
    bool heartbeats_when_idle = false;
    // When its first lease since it last held none was granted: a worker that was idle may have
    // been silent for most of an idle interval, and has one liveness window from here to speak.
    std::chrono::steady_clock::time_point busy_since{};
    // When the broker last sent it a HEARTBEAT (the answer to READY, or a tick's).
    std::chrono::steady_clock::time_point last_heartbeat_sent{};
    // Changed only by WorkerRegistry::move_worker(), along kWorkerTransitions.
    WorkerState state = WorkerState::serving;
    // The queues' states, parallel to `queues` (queues are never destroyed, so these stay valid).
    std::vector<QueueState*> served;
    // The idle lists' bookkeeping, WorkerRegistry's alone: its position in each served queue's
    // idle list (parallel to `queues`, valid while listed), and its list nodes while it is not
    // listed, so that listing and unlisting once per job allocates nothing.
    std::vector<std::list<WorkerRecord*>::iterator> idle_positions;
    std::list<WorkerRecord*> parked_nodes;
    Listing listing = Listing::none;
    std::uint64_t done = 0;    // attempts it ended done, for STATS
    std::uint64_t failed = 0;  // attempts it ended failed, for STATS
    // Its latest attempt ended failed (FAIL, or its timeout): see is_warm().
    bool did_last_attempt_fail = false;

    std::uint32_t credit() const noexcept {
        const auto held = static_cast<std::uint32_t>(leases.size());
        std::uint32_t ready = ready_depth.depth(prefetch);
        // Past kReadyPayloadBudget of leased payloads, no job more is held ready beyond the first.
        if (ready > 1 && lease_bytes >= kReadyPayloadBudget) {
            ready = std::max(1u, held > capacity ? held - capacity : 0u);
        }
        const auto most = capacity + ready;
        return held >= most ? 0 : most - held;
    }
    // Holds no lease and said it heartbeats less then: its idle interval applies (protocol.md §9).
    bool is_heartbeating_idle() const noexcept { return heartbeats_when_idle && leases.empty(); }
    bool can_take_jobs() const noexcept { return state == WorkerState::serving && credit() > 0; }
    // Whether `job`, one of its leases, waits ready rather than runs: a worker starts its jobs in
    // the order they came, so its oldest `capacity` leases run and the rest wait (READY prefetch).
    // As far as the broker knows: a DONE on its way has already freed the slot.
    bool holds_ready(const JobRecord& job) const noexcept {
        if (leases.size() <= capacity) return false;
        std::size_t position = 0;
        for (const JobRecord* held = leases.front(); held != nullptr; held = held->next, ++position) {
            if (held == &job) return position >= capacity;
        }
        return false;
    }
    // Fewer leases than slots: a job leased now starts at once.
    bool has_free_slot() const noexcept { return leases.size() < capacity; }
    // Its share of a dispatch pass (docs/jobs.md, Dispatch): as many jobs as it gets through in
    // kPassWorkBudget at its pace, at most its READY `batch`; one until its pace is known.
    std::uint32_t pass_share() const noexcept { return ready_depth.jobs_within(kPassWorkBudget, std::max(batch, 1U)); }
    // Whether it goes to the head of its idle lists, not the back, when it has a free slot again
    // (docs/jobs.md, Dispatch). Its jobs are short (a pass gives it more than one), so it has just
    // been at work and is awake, while the worker that waited longest sleeps and has to be woken,
    // which costs more than a short job. Not after a failed attempt, so that a worker failing
    // every job at once does not draw them all.
    bool is_warm() const noexcept { return pass_share() > 1 && !did_last_attempt_fail; }
    // The idle list it belongs on now.
    Listing wanted_listing() const noexcept {
        if (!can_take_jobs()) return Listing::none;
        return has_free_slot() ? Listing::free_slot : Listing::ready_slot;
    }
};

}  // namespace corsair::broker
