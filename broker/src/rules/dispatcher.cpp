#include "dispatcher.hpp"

#include <algorithm>

#include "queue_registry.hpp"

namespace corsair::broker {

namespace p = corsair::protocol;

void Dispatcher::dispatch_dirty(TimePoint now) {
    if (!is_enabled_ || is_holding_) return;
    now_ = now;
    while (QueueState* queue = dirty_.take()) dispatch(*queue);
}

void Dispatcher::dispatch(QueueState& queue) {
    if (queue.config.is_paused) return;
    WorkerRecord* head = nullptr;  // the worker at the head of the line, and the jobs it got there
    std::uint32_t given_at_head = 0;
    while (!queue.pending.empty()) {
        // A free slot first: a job held ready waits for the holder's running job to end.
        const bool has_free_slot = !queue.idle_workers.empty();
        if (!has_free_slot && queue.prefetching_workers.empty()) break;
        JobRecord* job = queue.pending.front();
        const auto timeout = timeout_of(*job);
        // A lease's timeout runs from its dispatch: a job held ready would spend it waiting. So a
        // job with a timeout goes to a free slot only, and the jobs behind it wait their turn.
        if (!has_free_slot && timeout.count() > 0) break;
        WorkerRecord* worker = has_free_slot ? queue.idle_workers.front() : queue.prefetching_workers.front();
        if (!has_free_slot) queue.ready_holders.insert(worker);
        ++job->attempt;
        count_first_wait(*job);
        states_.move_job(*job, JobMove::running(*worker, timeout.count() > 0 ? std::optional(now_ + timeout)
                                                                            : std::nullopt));
        if (worker->outgoing.empty()) with_outgoing_.push_back(worker);
        worker->outgoing.push_back(job);
        given_at_head = worker == head ? given_at_head + 1 : 1;
        head = worker;
        // Its share taken (or its credit, which moves it to another list): the next in line.
        if (given_at_head >= worker->pass_share() || worker->wanted_listing() != worker->listing) {
            workers_.note_leased(*worker, queue);
            head = nullptr;
        }
        if (worker->outgoing.size() >= std::max<std::uint32_t>(worker->batch, 1)) send_outgoing(*worker);
    }
    // Each worker's jobs of this pass go out together (protocol.md §5.25). Jobs that could not be
    // sent are back at the head of this queue: another worker may take them.
    bool is_requeued = false;
    for (std::size_t i = 0; i < with_outgoing_.size(); ++i) {
        WorkerRecord* worker = with_outgoing_[i];
        if (worker != nullptr && !worker->outgoing.empty() && !send_outgoing(*worker)) is_requeued = true;
    }
    with_outgoing_.clear();
    if (is_requeued) {
        dirty_.mark(queue);
    } else if (queue.pending.empty() && !queue.idle_workers.empty() && !queue.ready_holders.empty()) {
        recall_ready_jobs(queue);
    }
}

// protocol.md §11: a worker sits idle in `queue` while others hold jobs of it ready, unstarted.
// One RECALL per idle worker not yet covered by a RECALL on its way; a holder that no longer
// holds a job of this queue beyond its capacity is dropped from the queue's ready_holders.
void Dispatcher::recall_ready_jobs(QueueState& queue) {
    const std::size_t idle = queue.idle_workers.size();
    if (idle <= queue.recalls_in_flight) return;
    std::size_t wanted = idle - queue.recalls_in_flight;
    for (auto it = queue.ready_holders.begin(); it != queue.ready_holders.end() && wanted > 0;) {
        WorkerRecord& holder = **it;
        JobRecord* job = ready_job_of(holder, queue);
        if (job == nullptr) {
            it = queue.ready_holders.erase(it);
            continue;
        }
        p::Frames frames = p::encode(p::Recall{std::string(job->id()), job->attempt});
        if (outbox_.to_worker(holder.routing_id, frames) != p::SendStatus::sent) {
            ++it;  // its connection is full or gone: that is dealt with when a JOB to it fails
            continue;
        }
        job->is_recall_sent = true;
        ++queue.recalls_in_flight;
        ++context_.counters.recalls_sent;
        --wanted;
        context_.log.debug("recall sent job={} attempt={} worker={}", job->id(), job->attempt, holder.name);
    }
}

// The job of `queue` that `holder` got last among those beyond its capacity, with no RECALL sent
// yet: a worker starts its jobs in the order they came, so those are the ones not started.
JobRecord* Dispatcher::ready_job_of(const WorkerRecord& holder, const QueueState& queue) {
    const std::size_t held = holder.leases.size();
    if (held <= holder.capacity) return nullptr;
    std::size_t beyond = held - holder.capacity;
    for (JobRecord* job = holder.leases.back(); job != nullptr && beyond > 0; job = JobList::previous(job), --beyond) {
        if (job->queue == &queue && !job->is_recall_sent) return job;
    }
    return nullptr;
}

// A job's first attempt ends its first wait, which began when it first became pending (its
// submit, or its delay's end); state_since still says when, until the move to running.
void Dispatcher::count_first_wait(JobRecord& job) {
    if (job.attempt != 1 || job.is_wait_counted || job.state_since == kUnknownTime) return;
    job.is_wait_counted = true;
    job.queue->events.wait.observe(now_ - job.state_since);
}

bool Dispatcher::send_outgoing(WorkerRecord& worker) {
    auto& jobs = worker.outgoing;
    p::Frames frames;
    if (jobs.size() == 1) {
        JobRecord* job = jobs.front();
        frames = p::encode(p::Job{std::string(job->id()), job->queue->name, job->attempt, job->payload_message()});
    } else {
        p::Jobs batch;
        batch.is_packed = worker.reads_packed;
        batch.jobs.reserve(jobs.size());
        for (JobRecord* job : jobs) {
            batch.jobs.push_back(p::Job{std::string(job->id()), job->queue->name, job->attempt, job->payload_message()});
        }
        frames = p::encode(std::move(batch));
    }
    const p::SendStatus status = outbox_.to_worker(worker.routing_id, frames);
    if (status != p::SendStatus::sent) {
        undo_outgoing(worker, status);
        return false;
    }
    for (JobRecord* job : jobs) {
        ++context_.counters.jobs_dispatched;
        if (context_.journal.is_on()) context_.journal.append(JournalDispatched{std::string(job->id()), job->attempt});
    }
    jobs.clear();
    return true;
}

void Dispatcher::undo_outgoing(WorkerRecord& worker, p::SendStatus status) {
    // The worker's state first, so that the credit the undone leases give back does not list it.
    const bool is_congested = status == p::SendStatus::would_block;
    if (is_congested) {
        context_.log.warn("worker congested worker={} held={}", worker.name, worker.leases.size());
        workers_.move_worker(worker, WorkerState::congested);
    } else {
        workers_.move_worker(worker, WorkerState::gone);
    }
    // Back at the heads of their queues, in their order, with the attempt not made.
    for (auto it = worker.outgoing.rbegin(); it != worker.outgoing.rend(); ++it) {
        JobRecord* job = *it;
        states_.move_job(*job, JobMove::pending_at_head());
        --job->attempt;
    }
    worker.outgoing.clear();
    if (!is_congested) {
        // This pass still lists the workers it gave jobs to: this one is about to be destroyed.
        std::replace(with_outgoing_.begin(), with_outgoing_.end(), &worker, static_cast<WorkerRecord*>(nullptr));
        endings_.lose_worker(worker, "unreachable", now_);
    }
}

}  // namespace corsair::broker
