// The workers connected to the broker: their records by routing id, their state machine
// (kWorkerTransitions, held against protocol.md §7), liveness, and the idle lists a queue's
// dispatch takes workers from, least recently used first, except that a worker of short jobs given
// a free slot again goes first (WorkerRecord::is_warm, docs/jobs.md, Dispatch). A worker is listed
// in every queue it serves exactly while it can take jobs (serving, with credit). --max-workers
// bounds the workers connected over the network (has_room_for()). A worker with a free slot is
// listed in its queues' idle_workers; one whose slots are full but that may hold a job ready
// (READY `prefetch`), in their prefetching_workers. Owned by the broker's loop thread.
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "corsair/broker/outbox.hpp"
#include "dirty_queues.hpp"
#include "worker_record.hpp"

namespace corsair::broker {

struct WorkerTransition {
    WorkerState from;
    WorkerState to;
    const char* by;
};
// Every state change of a worker record; READY creates a record `serving` (announce()).
inline constexpr std::array<WorkerTransition, 8> kWorkerTransitions{{
    {WorkerState::serving, WorkerState::congested, "a JOB or JOBS to it would block (high-water mark)"},
    {WorkerState::congested, WorkerState::serving, "any message from it, READY included"},
    {WorkerState::serving, WorkerState::draining, "DRAIN"},
    {WorkerState::congested, WorkerState::draining, "DRAIN"},
    {WorkerState::draining, WorkerState::serving, "READY again (a new session on the same connection)"},
    {WorkerState::serving, WorkerState::gone, "DISCONNECT, silent past liveness, or unreachable"},
    {WorkerState::congested, WorkerState::gone, "DISCONNECT, silent past liveness, or unreachable"},
    {WorkerState::draining, WorkerState::gone, "DISCONNECT, silent past liveness, or unreachable"},
}};

constexpr bool is_allowed(WorkerState from, WorkerState to) noexcept {
    for (const auto& row : kWorkerTransitions) {
        if (row.from == from && row.to == to) return true;
    }
    return false;
}

// The heartbeats the broker holds its workers to (protocol.md §9).
struct HeartbeatRhythm {
    std::chrono::milliseconds interval{1000};
    // For a worker holding no lease that said READY `idle_heartbeat`; at least `interval`.
    std::chrono::milliseconds idle_interval{1000};
    std::uint32_t liveness = 3;
};

class WorkerRegistry {
public:
    using TimePoint = std::chrono::steady_clock::time_point;

    // A worker silent for `rhythm.liveness` of its intervals is dead. At most `max_workers`
    // networked workers at once (0 = no limit).
    WorkerRegistry(DirtyQueues& dirty, HeartbeatRhythm rhythm, std::uint64_t max_workers = 0)
        : dirty_(dirty), rhythm_(rhythm), max_workers_(max_workers) {}
    WorkerRegistry(const WorkerRegistry&) = delete;
    WorkerRegistry& operator=(const WorkerRegistry&) = delete;

    WorkerRecord* find(const RoutingId& routing_id);
    // The worker that announced itself under `name` (an empty name is never found).
    WorkerRecord* find_named(const std::string& name);
    // Whether a READY from `routing_id`, which came from `address` (empty: in-process), fits
    // under --max-workers: it does if the connection is already a worker, or comes from inside
    // the process (the HTTP side's workers, bounded by its own limit, docs/http.md).
    bool has_room_for(const RoutingId& routing_id, std::string_view address) const;
    std::uint64_t max_workers() const noexcept { return max_workers_; }
    // Workers connected over the network (what --max-workers bounds).
    std::size_t networked() const noexcept { return networked_; }
    // READY: a new record, or the same connection announcing again (back to serving, its leases
    // kept). `served` holds the states of `queues`, in order. An empty `name` is recorded as
    // "anonymous" and not indexed; a name must not be another connection's (find_named()).
    // `address` is where a new record's READY came from (empty: in-process).
    // Returns the record and whether it is new. The worker is not listed as idle until
    // refresh_listing().
    std::pair<WorkerRecord*, bool> announce(const RoutingId& routing_id, const std::string& name,
                                            std::vector<std::string> queues, std::vector<QueueState*> served,
                                            std::uint32_t capacity, std::uint32_t batch, TimePoint now,
                                            std::uint64_t instance = 0, std::string_view address = {},
                                            std::uint32_t prefetch = 0, bool heartbeats_when_idle = false);
    // A move of kWorkerTransitions (asserted), then the idle lists brought in line.
    void move_worker(WorkerRecord& worker, WorkerState to);
    // Any message from the worker: it is alive, and no longer congested.
    void heard_from(WorkerRecord& worker, TimePoint now);
    // Lists the worker in its queues' idle lists it belongs on now (WorkerRecord::wanted_listing).
    void refresh_listing(WorkerRecord& worker);
    // After `worker` was given a job of `queue`: moved to the list it now belongs on (none when
    // out of credit), else to the back of its list in `queue` (least recently used first).
    void note_leased(WorkerRecord& worker, QueueState& queue);
    // Whether `worker` has been silent past liveness x its interval at `now`: the idle interval
    // while it heartbeats idle; otherwise the interval, counted for a worker that heartbeats idle
    // from its first lease at the latest, since until then it owed the broker nothing sooner.
    bool is_silent(const WorkerRecord& worker, TimePoint now) const noexcept {
        if (worker.is_heartbeating_idle()) return now - worker.last_heard >= rhythm_.idle_interval * rhythm_.liveness;
        const TimePoint since = worker.heartbeats_when_idle ? std::max(worker.last_heard, worker.busy_since)
                                                            : worker.last_heard;
        return now - since >= rhythm_.interval * rhythm_.liveness;
    }
    // Whether the tick at `now`, one of those every interval, owes `worker` a HEARTBEAT: every tick
    // does, but for a worker heartbeating idle only the last one before its idle interval since
    // the previous HEARTBEAT runs out, so that the gap never exceeds it.
    bool is_heartbeat_due(const WorkerRecord& worker, TimePoint now) const noexcept {
        if (!worker.is_heartbeating_idle()) return true;
        return now + rhythm_.interval > worker.last_heartbeat_sent + rhythm_.idle_interval;
    }
    // Forgets a worker that is gone; it must hold no lease any more.
    void erase(WorkerRecord& worker);

    std::size_t size() const noexcept { return workers_.size(); }
    template <class F>
    void for_each(F&& f) const {
        for (const auto& [routing_id, worker] : workers_) f(worker);
    }
    template <class F>
    void for_each(F&& f) {
        for (auto& [routing_id, worker] : workers_) f(worker);
    }

private:
    void forget_name(const WorkerRecord& worker);
    void list_idle(WorkerRecord& worker, Listing listing);
    void unlist_idle(WorkerRecord& worker);
    static std::list<WorkerRecord*>& idle_list(QueueState& queue, Listing listing);
    // Drops the worker from its queues' ready_holders, before its queues change or it goes.
    static void forget_ready_holder(WorkerRecord& worker);

    DirtyQueues& dirty_;
    HeartbeatRhythm rhythm_;
    std::uint64_t max_workers_;  // 0: no limit
    std::size_t networked_ = 0;  // records with an address
    std::unordered_map<RoutingId, WorkerRecord> workers_;
    std::unordered_map<std::string, RoutingId> named_;  // the workers that gave a name, by name
};

}  // namespace corsair::broker
