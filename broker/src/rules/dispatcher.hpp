// Hands pending jobs to idle workers: for each dirty queue, the highest-priority oldest job to
// the worker at the head of the line among those with a free slot, or when none has one, among
// those that may hold a job ready (READY `prefetch`), until one side runs out. The line is
// WorkerRegistry's: least recently used first, but a worker of short jobs that has a free slot
// again goes first (WorkerRecord::is_warm). A worker keeps its place at the head of the line for
// its share of the pass (WorkerRecord::pass_share): as many jobs as it gets through in
// kPassWorkBudget at its pace (ReadyDepth), at most its READY `batch`; one until its pace is
// known, and one for jobs of 10 ms or more, so long jobs spread one per worker
// while short ones travel many to a message (with 64 workers, one job per JOB made each worker
// wake per job). When a worker sits idle with nothing pending, the jobs others hold ready are
// asked back (RECALL). The jobs one worker gets in a pass go out together as one JOBS
// (protocol.md §5.25), or one JOB; a batch that cannot be sent is undone, every lease in it, as
// if it had never been made. Owned by the loop thread.
#pragma once

#include <chrono>
#include <vector>

#include "corsair/broker/outbox.hpp"
#include "dirty_queues.hpp"
#include "job_endings.hpp"
#include "job_states.hpp"
#include "scheduler_context.hpp"
#include "worker_registry.hpp"

namespace corsair::broker {

class Dispatcher {
public:
    using TimePoint = std::chrono::steady_clock::time_point;

    Dispatcher(const SchedulerContext& context, DirtyQueues& dirty, JobStates& states, WorkerRegistry& workers,
               JobEndings& endings, Outbox& outbox)
        : context_(context), dirty_(dirty), states_(states), workers_(workers), endings_(endings), outbox_(outbox) {}
    Dispatcher(const Dispatcher&) = delete;
    Dispatcher& operator=(const Dispatcher&) = delete;

    // Dispatches every dirty queue until none is left (a batch that could not be sent makes its
    // queue dirty again, for another worker). `now` starts the leases' timeouts.
    void dispatch_dirty(TimePoint now);
    // While disabled (the journal cannot be written) nothing is dispatched; the dirty queues
    // wait for the next dispatch_dirty() after it is enabled again.
    void set_enabled(bool is_enabled) noexcept { is_enabled_ = is_enabled; }
    // From now on no job is handed out (the broker is draining); queues stay dirty.
    void hold() noexcept { is_holding_ = true; }

private:
    void dispatch(QueueState& queue);
    // Counts `job`'s wait in its queue's histogram if this is its first dispatch.
    void count_first_wait(JobRecord& job);
    // Sends the jobs leased to `worker` in this pass (worker.outgoing) as one JOB or JOBS; if
    // they cannot be sent, undoes their leases (back at the heads of their queues, in order) and
    // returns false.
    bool send_outgoing(WorkerRecord& worker);
    void undo_outgoing(WorkerRecord& worker, protocol::SendStatus status);
    // RECALLs for jobs of `queue` held ready by busy workers, one per idle worker of `queue`.
    void recall_ready_jobs(QueueState& queue);
    static JobRecord* ready_job_of(const WorkerRecord& holder, const QueueState& queue);

    const SchedulerContext& context_;
    DirtyQueues& dirty_;
    JobStates& states_;
    WorkerRegistry& workers_;
    JobEndings& endings_;
    Outbox& outbox_;
    bool is_enabled_ = true;
    TimePoint now_{};                           // the pass's time, for lease deadlines
    std::vector<WorkerRecord*> with_outgoing_;  // workers given jobs in the pass under way
    bool is_holding_ = false;
};

}  // namespace corsair::broker
