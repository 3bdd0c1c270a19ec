// --max-workers (docs/jobs.md, Limits): a READY that would connect one worker more than the
// limit is refused with ERROR too_many_workers, counted (worker_limit_refusals) and logged at
// most once a minute, since a refused worker retries on its own. Owned by the broker's loop thread.
#pragma once

#include <chrono>
#include <string_view>

#include "corsair/broker/outbox.hpp"
#include "corsair/protocol/messages.hpp"
#include "corsair/broker/log_limiter.hpp"
#include "scheduler_context.hpp"
#include "worker_registry.hpp"

namespace corsair::broker {

class WorkerLimit {
public:
    using TimePoint = std::chrono::steady_clock::time_point;

    WorkerLimit(const SchedulerContext& context, WorkerRegistry& workers, Outbox& outbox)
        : context_(context), workers_(workers), outbox_(outbox) {}
    WorkerLimit(const WorkerLimit&) = delete;
    WorkerLimit& operator=(const WorkerLimit&) = delete;

    // Whether `ready`, from `routing_id` at `address` (empty: in-process), may connect; if not,
    // the worker has been answered ERROR too_many_workers. Never blocks.
    bool admits(const RoutingId& routing_id, const protocol::Ready& ready, std::string_view address, TimePoint now);

private:
    const SchedulerContext& context_;
    WorkerRegistry& workers_;
    Outbox& outbox_;
    LogLimiter refusals_;
};

}  // namespace corsair::broker
