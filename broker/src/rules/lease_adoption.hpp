// Leases that outlive a connection (protocol.md §10, Restarts and reconnects). After a restart
// the jobs running at the stop wait `unclaimed` for the adoption window; a READY whose `holding`
// names (id, attempt) takes the lease back — running on that worker, same attempt, not charged,
// counted against its capacity — and what the window leaves unclaimed is requeued, attempt free.
// A worker that announces itself on a new connection (same name and instance) takes its leases
// with it. A held lease the broker does not know is abandoned. Owned by the broker's loop thread.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "corsair/broker/outbox.hpp"
#include "corsair/protocol/messages.hpp"
#include "job_states.hpp"
#include "job_store.hpp"
#include "scheduler_context.hpp"
#include "worker_registry.hpp"

namespace corsair::broker {

class LeaseAdoption {
public:
    using TimePoint = std::chrono::steady_clock::time_point;

    // How long unclaimed leases wait after a restart: three liveness windows (a worker notices
    // the old broker is gone, waits its capped reconnect backoff, and announces itself), and at
    // least kMinAdoptionWindow, since a worker's backoff does not shrink with the broker's heartbeat.
    static constexpr std::chrono::milliseconds kMinAdoptionWindow{10'000};
    static std::chrono::milliseconds window_of(const BrokerOptions& options);

    LeaseAdoption(const SchedulerContext& context, JobStore& jobs, JobStates& states, WorkerRegistry& workers,
                  Outbox& outbox)
        : context_(context), jobs_(jobs), states_(states), workers_(workers), outbox_(outbox) {}
    LeaseAdoption(const LeaseAdoption&) = delete;
    LeaseAdoption& operator=(const LeaseAdoption&) = delete;

    // After replay: the unclaimed jobs wait until `now` + window_of(options).
    void open_window(TimePoint now);
    // When the window closes, while unclaimed jobs wait for it.
    std::optional<TimePoint> deadline() const;
    // The window has closed: every unclaimed job goes back to the head of its queue in submission
    // order, attempt free (the stop was not the job's fault). Returns how many.
    std::size_t close_window();

    // `holding` from `worker`'s READY: each unclaimed lease it names is re-adopted; each it names
    // that is neither unclaimed nor already its own gets ABANDON `unknown_lease`, so that the
    // worker stops it.
    void adopt(WorkerRecord& worker, const std::vector<protocol::HeldLease>& holding, TimePoint now);
    // `old` is the worker now announcing itself on a new connection: the leases `holding` names
    // become unclaimed, for adopt() to give to the new record; the others were lost with the old
    // connection and go back to their queues at once, attempt free. `old` is forgotten.
    void take_over(WorkerRecord& old, const std::vector<protocol::HeldLease>* holding);
    // A DONE or FAIL for (id, attempt) from a connection that does not hold it: if that lease is
    // unclaimed, the job is made running without a holder so that the report ends the attempt
    // (the fencing token is the proof). Returns whether it was.
    bool claim_for_report(const std::string& id, std::uint32_t attempt);

private:
    void requeue_free(JobRecord& job, const char* reason, const std::string& worker);
    // `held_attempt`, named in a READY's `holding`, is above `job`'s attempt (a lease whose
    // dispatch a crash lost): the job's attempt is raised to it, the lost leases uncharged.
    void skip_lost_lease(JobRecord& job, std::uint32_t held_attempt);

    const SchedulerContext& context_;
    JobStore& jobs_;
    JobStates& states_;
    WorkerRegistry& workers_;
    Outbox& outbox_;
    std::optional<TimePoint> deadline_;
};

}  // namespace corsair::broker
