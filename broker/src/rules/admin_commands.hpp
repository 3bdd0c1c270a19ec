// The producer's requests about jobs and queues other than SUBMIT: STATUS, CANCEL, RETRY, PURGE,
// DEAD, QUEUE, STATS, LIST, CLEAR and DELETE_QUEUE (protocol.md §5, docs/jobs.md). Each answers
// its producer through Replies; what changes state is journaled and acknowledged once durable. A
// request naming a queue that does not exist is refused with unknown_queue and creates nothing;
// only QUEUE with create makes a queue. Owned by the loop thread.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "corsair/broker/outbox.hpp"
#include "corsair/broker/scheduler.hpp"
#include "job_endings.hpp"
#include "job_states.hpp"
#include "job_store.hpp"
#include "queue_listing.hpp"
#include "queue_registry.hpp"
#include "replies.hpp"
#include "result_store.hpp"
#include "scheduler_context.hpp"
#include "worker_registry.hpp"

namespace corsair::broker {

class AdminCommands {
public:
    using TimePoint = std::chrono::steady_clock::time_point;

    AdminCommands(const SchedulerContext& context, JobStore& jobs, QueueRegistry& queues, WorkerRegistry& workers,
                  JobStates& states, JobEndings& endings, Replies& replies, ResultStore& results, DirtyQueues& dirty)
        : context_(context), jobs_(jobs), queues_(queues), workers_(workers), states_(states), endings_(endings),
          replies_(replies), results_(results), dirty_(dirty), listing_(jobs, context.wall),
          started_wall_(context.wall.now_ms()) {}
    AdminCommands(const AdminCommands&) = delete;
    AdminCommands& operator=(const AdminCommands&) = delete;

    void status(const RoutingId& producer, const protocol::StatusRequest& request, TimePoint now);
    void cancel(const RoutingId& producer, const std::string& id, TimePoint now);
    void retry(const RoutingId& producer, const protocol::Retry& request);
    void purge(const RoutingId& producer, const protocol::Purge& request, TimePoint now);
    void list_dead(const RoutingId& producer, const protocol::DeadRequest& request, TimePoint now);
    void change_queue(const RoutingId& producer, const protocol::QueueSettings& request, TimePoint now);
    void list(const RoutingId& producer, const protocol::ListRequest& request, TimePoint now);
    void clear(const RoutingId& producer, const protocol::Clear& request, TimePoint now);
    void delete_queue(const RoutingId& producer, const protocol::DeleteQueue& request, TimePoint now);

    protocol::StatsReply stats(TimePoint now) const;

private:
    // The queue `name` if it exists; else nullptr, the producer told unknown_queue.
    QueueState* existing_queue(const RoutingId& producer, const std::string& name, const char* command);
    void status_of_live(const RoutingId& producer, JobRecord& job, bool wants_payload, TimePoint now);
    void status_of_ended(const RoutingId& producer, const std::string& id, const KeptResult& ended,
                         bool wants_payload, TimePoint now);
    // Ends a pending, delayed or running job as cancelled with `reason` (CANCEL, CLEAR, DELETE_QUEUE).
    void cancel_job(JobRecord& job, const char* reason, TimePoint now);
    std::optional<std::uint64_t> oldest_pending_ms(const QueueState& queue, TimePoint now) const;
    protocol::QueueStats queue_stats(const QueueState& queue, TimePoint now) const;
    void revive(JobRecord& job);
    void drop_dead(JobRecord& job, TimePoint now);
    protocol::DeadJob dead_entry(const JobRecord& job, TimePoint now) const;

    const SchedulerContext& context_;
    JobStore& jobs_;
    QueueRegistry& queues_;
    WorkerRegistry& workers_;
    JobStates& states_;
    JobEndings& endings_;
    Replies& replies_;
    ResultStore& results_;
    DirtyQueues& dirty_;
    QueueListing listing_;
    std::chrono::milliseconds started_wall_;  // when this broker started, for STATS' uptime
};

}  // namespace corsair::broker
