// SUBMIT (protocol.md §5.1, docs/jobs.md): a known id answers for its job (idempotent
// submission), a held unique key for the job holding it; the connection must be under
// --max-in-flight; run_at and delays become a ready time; the queue must fit under --max-queues
// and its max_length; then the job is created, journaled,
// made pending or delayed, and acknowledged once durable (or its ACCEPTED held for
// accept_within_ms). Owned by the broker's loop thread.
#pragma once

#include <chrono>
#include <optional>

#include "corsair/broker/outbox.hpp"
#include "job_states.hpp"
#include "job_store.hpp"
#include "queue_registry.hpp"
#include "corsair/broker/log_limiter.hpp"
#include "replies.hpp"
#include "result_store.hpp"
#include "scheduler_context.hpp"

namespace corsair::broker {

class Submissions {
public:
    using TimePoint = std::chrono::steady_clock::time_point;

    Submissions(const SchedulerContext& context, JobStore& jobs, QueueRegistry& queues, JobStates& states,
                Replies& replies, ResultStore& results)
        : context_(context), jobs_(jobs), queues_(queues), states_(states), replies_(replies), results_(results) {}
    Submissions(const Submissions&) = delete;
    Submissions& operator=(const Submissions&) = delete;

    void submit(const RoutingId& producer, protocol::Submit&& submit, TimePoint now);
    // The broker is stopping: every SUBMIT from now on is refused with shutting_down.
    void refuse_new_jobs() noexcept { is_refusing_ = true; }

private:
    // False after refusing a payload over --max-payload (payload_too_large, naming the limit).
    bool fits_payload_limit(const RoutingId& producer, const protocol::Submit& submit);
    bool answers_known_id(const RoutingId& producer, const protocol::Submit& submit);
    // ERROR id_conflict: the id names a job of `queue` or with other payload bytes.
    void refuse_conflict(const RoutingId& producer, const protocol::Submit& submit, const std::string& queue);
    bool answers_unique_hit(const RoutingId& producer, const protocol::Submit& submit);
    // False after refusing a new job from a connection at --max-in-flight (too_many_in_flight,
    // naming the limit).
    bool fits_in_flight_limit(const RoutingId& producer, const protocol::Submit& submit, TimePoint now);
    // The time a SUBMIT's job becomes pending (none: at once); false if run_at is refused.
    bool read_ready_time(const RoutingId& producer, const protocol::Submit& submit, TimePoint now,
                         std::optional<TimePoint>& ready_at);
    // The SUBMIT's queue if it may take the job, else refused (too_many_queues, queue_full).
    QueueState* queue_with_room(const RoutingId& producer, const protocol::Submit& submit);
    void create_job(const RoutingId& producer, protocol::Submit&& submit, QueueState& queue,
                    std::optional<TimePoint> ready_at, TimePoint now);

    const SchedulerContext& context_;
    JobStore& jobs_;
    QueueRegistry& queues_;
    JobStates& states_;
    Replies& replies_;
    ResultStore& results_;
    bool is_refusing_ = false;
    LogLimiter in_flight_refusals_;
};

}  // namespace corsair::broker
