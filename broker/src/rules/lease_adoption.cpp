#include "lease_adoption.hpp"

#include <algorithm>

#include "queue_registry.hpp"

namespace corsair::broker {

namespace p = corsair::protocol;

namespace {

bool names(const std::vector<p::HeldLease>& holding, const JobRecord& job) {
    return std::any_of(holding.begin(), holding.end(),
                       [&](const p::HeldLease& lease) { return lease.attempt == job.attempt && lease.id == job.id(); });
}

// Pushing to the heads in reverse submission order keeps the original order at the heads.
void sort_for_requeue(std::vector<JobRecord*>& jobs) {
    std::sort(jobs.begin(), jobs.end(), [](const JobRecord* a, const JobRecord* b) { return a->sequence > b->sequence; });
}

}  // namespace

std::chrono::milliseconds LeaseAdoption::window_of(const BrokerOptions& options) {
    return std::max(3 * options.heartbeat_interval * options.liveness, kMinAdoptionWindow);
}

void LeaseAdoption::open_window(TimePoint now) {
    if (!states_.unclaimed().empty()) deadline_ = now + window_of(context_.options);
}

std::optional<LeaseAdoption::TimePoint> LeaseAdoption::deadline() const {
    if (states_.unclaimed().empty()) return std::nullopt;
    return deadline_;
}

std::size_t LeaseAdoption::close_window() {
    deadline_.reset();
    std::vector<JobRecord*> unclaimed;
    for (JobRecord* job = states_.unclaimed().front(); job != nullptr; job = job->next) unclaimed.push_back(job);
    sort_for_requeue(unclaimed);
    for (JobRecord* job : unclaimed) requeue_free(*job, "not_reclaimed", "");
    if (!unclaimed.empty()) {
        context_.log.info("re-adoption window closed requeued={} window={}ms", unclaimed.size(),
                          window_of(context_.options).count());
    }
    return unclaimed.size();
}

void LeaseAdoption::adopt(WorkerRecord& worker, const std::vector<p::HeldLease>& holding, TimePoint now) {
    std::size_t adopted = 0;
    std::size_t abandoned = 0;
    for (const auto& lease : holding) {
        JobRecord* job = jobs_.find(lease.id);
        if (job != nullptr && job->attempt == lease.attempt) {
            if (job->state == JobState::unclaimed) {
                const auto timeout = timeout_of(*job);
                // The attempt's start is unknown: its timeout counts again from the re-adoption.
                states_.move_job(*job, JobMove::running(worker, timeout.count() > 0 ? std::optional(now + timeout)
                                                                                     : std::nullopt));
                ++context_.counters.leases_readopted;
                ++adopted;
                context_.log.debug("lease re-adopted job={} attempt={} worker={}", lease.id, lease.attempt, worker.name);
                continue;
            }
            if (job->state == JobState::running && job->lease_holder == &worker) continue;
        }
        if (job != nullptr) skip_lost_lease(*job, lease.attempt);
        // protocol.md §10: a lease the broker does not know (ended, requeued, another attempt)
        // must stop; whatever the worker still sends for it is stale.
        p::Frames frames = p::encode(p::Abandon{lease.id, lease.attempt, "unknown_lease"});
        outbox_.to_worker(worker.routing_id, frames);
        ++abandoned;
        context_.log.info("held lease unknown; abandoned job={} attempt={} worker={}", lease.id, lease.attempt,
                          worker.name);
    }
    // Leases past its capacity are jobs it holds ready (READY prefetch): recallable for a worker of
    // their queue that sits idle, as those the dispatcher sent it are (Dispatcher::recall_ready_jobs
    // finds which). Only a worker that announced prefetch knows RECALL (protocol.md §5.32).
    if (adopted > 0 && worker.prefetch > 0 && worker.leases.size() > worker.capacity) {
        for (JobRecord* job = worker.leases.front(); job != nullptr; job = job->next) {
            job->queue->ready_holders.insert(&worker);
        }
    }
    if (!holding.empty()) {
        context_.log.info("worker holds leases worker={} holding={} readopted={} abandoned={}", worker.name,
                          holding.size(), adopted, abandoned);
    }
}

void LeaseAdoption::take_over(WorkerRecord& old, const std::vector<p::HeldLease>* holding) {
    std::vector<JobRecord*> lost;
    std::vector<JobRecord*> kept;
    for (JobRecord* job = old.leases.front(); job != nullptr; job = job->next) {
        (holding != nullptr && names(*holding, *job) ? kept : lost).push_back(job);
    }
    const std::string name = old.name;
    context_.log.info("worker reconnected on a new connection worker={} leases_kept={} leases_lost={}", name,
                      kept.size(), lost.size());
    workers_.move_worker(old, WorkerState::gone);
    for (JobRecord* job : kept) states_.move_job(*job, JobMove::unclaimed());
    sort_for_requeue(lost);
    for (JobRecord* job : lost) requeue_free(*job, "lost_with_connection", name);
    workers_.erase(old);
}

// protocol.md §10: a JOB goes out before its dispatch is durable, so a crash can lose the record
// of a lease a worker still holds, and the journal's attempt is then behind. Raising it keeps the
// next lease's number above every one granted (the lost lease is given back: not charged), so a
// lease number is never granted twice, even across a crash.
void LeaseAdoption::skip_lost_lease(JobRecord& job, std::uint32_t held_attempt) {
    if (held_attempt <= job.attempt || job.state == JobState::running || job.state == JobState::unclaimed) return;
    context_.log.info("lease lost in a crash named by its worker; attempt raised job={} attempt={} held={}", job.id(),
                      job.attempt, held_attempt);
    job.uncounted_attempts += held_attempt - job.attempt;
    job.attempt = held_attempt;
}

bool LeaseAdoption::claim_for_report(const std::string& id, std::uint32_t attempt) {
    JobRecord* job = jobs_.find(id);
    if (job == nullptr || job->state != JobState::unclaimed || job->attempt != attempt) return false;
    states_.move_job(*job, JobMove::running_without_holder());
    ++context_.counters.leases_readopted;
    context_.log.debug("report for an unclaimed lease accepted job={} attempt={}", id, attempt);
    return true;
}

void LeaseAdoption::requeue_free(JobRecord& job, const char* reason, const std::string& worker) {
    ++context_.counters.jobs_requeued;
    ++job.queue->events.requeued;
    context_.log.warn("requeued job={} attempt={} worker={} reason={}", job.id(), job.attempt, worker, reason);
    // Neither a broker's stop nor a lost connection is the job's failure: its attempt is free.
    ++job.uncounted_attempts;
    context_.journal.append(JournalReleased{std::string(job.id())});
    states_.move_job(job, JobMove::pending_at_head());
}

}  // namespace corsair::broker
