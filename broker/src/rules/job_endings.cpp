#include "job_endings.hpp"

#include <algorithm>
#include <string_view>
#include <vector>

#include "corsair/protocol/duration.hpp"
#include "corsair/protocol/text.hpp"
#include "queue_registry.hpp"
#include "retry_backoff.hpp"

namespace corsair::broker {

namespace p = corsair::protocol;

namespace {

std::string truncated(const std::string& text, std::size_t max_bytes) {
    return text.size() <= max_bytes ? text : text.substr(0, max_bytes);
}

}  // namespace

JobRecord* JobEndings::current_lease(WorkerRecord* worker, const std::string& id, std::uint32_t attempt) {
    JobRecord* found = jobs_.find(id);
    if (found == nullptr || found->state != JobState::running || found->attempt != attempt ||
        found->lease_holder != worker) {
        ++context_.counters.stale_completions;
        context_.log.info("discarded stale completion job={} attempt={} worker={}", id, attempt,
                          worker != nullptr ? p::quoted(worker->name) : std::string("unknown"));
        return nullptr;
    }
    return found;
}

void JobEndings::complete(WorkerRecord* worker, const std::string& id, std::uint32_t attempt, bool succeeded,
                          zmq::message_t result, std::string error, bool is_permanent, TimePoint now) {
    const std::string_view name = worker != nullptr ? std::string_view(worker->name) : std::string_view("unknown");
    JobRecord* found = current_lease(worker, id, attempt);
    if (found == nullptr) return;
    JobRecord& job = *found;
    if (worker != nullptr) {
        worker->ready_depth.attempt_ended(job.state_since, now);
        worker->did_last_attempt_fail = !succeeded;  // before the credit it returns lists it
    }
    if (succeeded) {
        ++context_.counters.jobs_done;
        ++job.queue->done;
        if (job.state_since != kUnknownTime) job.queue->events.run.observe(now - job.state_since);
        last_job_ended_at_ = now;
        if (worker != nullptr) ++worker->done;
        context_.log.debug("done job={} attempt={} worker={}", id, attempt, name);
        if (context_.journal.is_on()) {
            const std::optional<std::uint64_t> started_ms =
                job.state_since != kUnknownTime ? std::optional(context_.wall.ms_at(job.state_since, now)) : std::nullopt;
            context_.journal.append(JournalDone{id, attempt, std::string(p::view_of(result)),
                                                context_.wall.ms_at(now, now), started_ms,
                                                worker != nullptr ? worker->name : std::string()});
        }
        end_job(job, p::JobState::done, std::move(result), {}, now, true);
        return;
    }
    if (worker != nullptr) ++worker->failed;
    context_.log.warn("attempt failed job={} attempt={} worker={} permanent={} error={}", id, attempt, name,
                      is_permanent, p::quoted(error));
    fail_attempt(job, std::move(error), is_permanent, now, false);
}

void JobEndings::give_back_unstarted(WorkerRecord& worker, const std::string& id, std::uint32_t attempt,
                                     const std::string& error) {
    JobRecord* job = current_lease(&worker, id, attempt);
    if (job == nullptr) return;
    if (job->is_recall_sent) {
        // The answer to a RECALL (protocol.md §5.32): held ready, never started, now for a worker
        // that sits idle. Nothing went wrong, so it is not counted as a requeue either.
        ++context_.counters.jobs_recalled;
        context_.log.debug("job recalled job={} attempt={} worker={}", id, attempt, worker.name);
        release_lease(*job);
        return;
    }
    ++context_.counters.attempts_not_started;
    ++context_.counters.jobs_requeued;
    ++job->queue->events.requeued;
    context_.log.warn("attempt not started; job requeued uncounted job={} attempt={} worker={} error={}", id, attempt,
                      worker.name, p::quoted(error));
    release_lease(*job);
}

void JobEndings::release_lease(JobRecord& job) {
    ++job.uncounted_attempts;
    context_.journal.append(JournalReleased{std::string(job.id())});
    states_.move_job(job, JobMove::pending_at_head());
}

void JobEndings::time_out(JobRecord& job, TimePoint now) {
    // The worker spent the whole timeout on it: its pace says so, as a DONE would have.
    if (job.lease_holder != nullptr) {
        job.lease_holder->ready_depth.attempt_ended(job.state_since, now);
        job.lease_holder->did_last_attempt_fail = true;
    }
    ++context_.counters.attempts_timed_out;
    ++job.queue->events.timed_out;
    const auto timeout = timeout_of(job);
    revoke_lease(job, "timeout");
    fail_attempt(job, "timed out after " + p::format_duration(timeout), false, now, false);
}

void JobEndings::revoke_lease(JobRecord& job, const char* reason) {
    WorkerRecord* worker = job.lease_holder;
    if (worker == nullptr) return;
    p::Frames frames = p::encode(p::Abandon{std::string(job.id()), job.attempt, reason});
    outbox_.to_worker(worker->routing_id, frames);
    context_.log.info("lease revoked job={} attempt={} worker={} reason={}", job.id(), job.attempt, worker->name,
                      reason);
}

void JobEndings::lose_worker(WorkerRecord& worker, const char* reason, TimePoint now) {
    const std::size_t held = worker.leases.size();
    const bool is_death = std::string_view(reason) != "disconnect";
    workers_.move_worker(worker, WorkerState::gone);
    requeue_leases(worker, is_death, reason, now);
    if (is_death) {
        ++context_.counters.workers_dead;
        context_.log.info("worker died worker={} reason={} requeued={}", worker.name, reason, held);
    }
    workers_.erase(worker);
}

void JobEndings::requeue_leases(WorkerRecord& worker, bool counts_as_attempt, const std::string& reason,
                                TimePoint now) {
    std::vector<JobRecord*> held;
    held.reserve(worker.leases.size());
    for (JobRecord* job = worker.leases.front(); job != nullptr; job = job->next) held.push_back(job);
    // Pushing to the head in reverse submission order keeps the original FIFO order at the head.
    std::sort(held.begin(), held.end(), [](const JobRecord* a, const JobRecord* b) { return a->sequence > b->sequence; });
    for (JobRecord* job : held) {
        ++context_.counters.jobs_requeued;
        ++job->queue->events.requeued;
        context_.log.warn("requeued job={} attempt={} worker={} reason={}", job->id(), job->attempt, worker.name,
                          reason);
        if (counts_as_attempt) {
            // docs/jobs.md: a worker's death counts as a failed attempt, so a job that kills its
            // worker every time ends in the dead set instead of circling forever.
            fail_attempt(*job, "worker " + worker.name + " died holding the job (" + reason + ")", false, now, true);
        } else {
            // A worker that left cleanly (drain timeout) did not fail the job: its attempt is free.
            release_lease(*job);
        }
    }
}

void JobEndings::fail_attempt(JobRecord& job, std::string error, bool is_permanent, TimePoint now,
                              bool is_worker_lost) {
    ++context_.counters.attempts_failed;
    JobDetails& details = job.writable_details();
    details.errors.push_back({job.attempt, truncated(error, p::kMaxHistoryErrorBytes)});
    if (details.errors.size() > p::kMaxAttemptsLimit) details.errors.erase(details.errors.begin());
    details.last_error = truncated(error, p::kMaxErrorTextBytes);
    if (is_permanent || job.attempts_this_round() >= max_attempts_of(job)) {
        context_.journal.append(JournalAttemptFailed{std::string(job.id()), job.attempt, details.last_error, is_permanent, 0});
        move_to_dead(job, now);
        return;
    }
    if (is_worker_lost) {
        // The worker died, not the job's code: run it again at once, ahead of the queue.
        context_.journal.append(JournalAttemptFailed{std::string(job.id()), job.attempt, details.last_error, false, 0});
        states_.move_job(job, JobMove::pending_at_head());
        return;
    }
    const auto wait = backoff_of(job);
    ++context_.counters.retries_scheduled;
    ++job.queue->events.retried;
    context_.journal.append(JournalAttemptFailed{std::string(job.id()), job.attempt, details.last_error, false,
                                                 context_.wall.ms_at(now + wait, now)});
    context_.log.info("retry scheduled job={} attempt={} of={} in={}", job.id(), job.attempt, max_attempts_of(job),
                      p::format_duration(wait));
    states_.move_job(job, JobMove::delayed(now + wait));
}

std::chrono::milliseconds JobEndings::backoff_of(const JobRecord& job) {
    const QueueConfig& config = job.queue->config;
    const auto& retry = job.details().retry;
    const auto first = retry.backoff_ms ? std::chrono::milliseconds(*retry.backoff_ms) : config.backoff;
    const auto cap = retry.backoff_max_ms ? std::chrono::milliseconds(*retry.backoff_max_ms) : config.backoff_max;
    const auto jitter = retry.backoff_jitter_pct.value_or(config.backoff_jitter_pct);
    return retry_backoff(first, cap, jitter, job.attempts_this_round(), random_);
}

void JobEndings::move_to_dead(JobRecord& job, TimePoint now) {
    QueueState& queue = *job.queue;
    states_.move_job(job, JobMove::dead(now));
    ++queue.failed;
    ++context_.counters.jobs_failed;
    last_job_ended_at_ = now;
    context_.journal.append(JournalDead{std::string(job.id()), context_.wall.ms_at(now, now)});
    jobs_.release_unique_key(job);
    const std::string& last_error = job.details().last_error;
    context_.log.warn("job dead job={} queue={} attempts={} error={}", job.id(), queue.name, job.attempt,
                      p::quoted(last_error));
    if (job.reply_to != nullptr) {
        replies_.settle_held_accept(job, Replies::HeldAcceptEnd::folded);
        replies_.send_result(job, p::JobResult{std::string(job.id()), p::JobState::failed, job.attempt, last_error, {}});
    }
    expire_dead(queue, now);
}

void JobEndings::end_job(JobRecord& job, p::JobState state, zmq::message_t result, std::string error, TimePoint now,
                         bool tells_producer) {
    // What the ended job keeps of its last attempt (STATUS shows it), read before the move clears it.
    const bool was_running = job.state == JobState::running;
    const TimePoint started_at = was_running ? job.state_since : kUnknownTime;
    const std::string_view worker = job.lease_holder != nullptr ? std::string_view(job.lease_holder->name) : "";
    states_.move_job(job, JobMove::ended());
    jobs_.release_unique_key(job);
    const bool tells = tells_producer && job.reply_to != nullptr;
    EndedJob ended = ended_record(job, state, std::move(result), std::move(error), now);
    ended.started_at = started_at;
    ended.worker = worker;
    replies_.settle_held_accept(job, tells ? Replies::HeldAcceptEnd::folded : Replies::HeldAcceptEnd::send_now);
    std::string told_error = tells ? ended.error : std::string();
    results_.add(job.id(), ended);  // copies a small result, shares a large one: ended.result stays
    if (tells) {
        // docs/durability.md: a producer is told a job ended only once that is on disk, so a
        // crash can never make the broker forget an ending someone was told about.
        replies_.send_result(job, p::JobResult{std::string(job.id()), state, job.attempt, std::move(told_error),
                                               std::move(ended.result)});
    }
    replies_.forget_reply_to(job);
    jobs_.destroy(job);
}

// Oldest first: over the count bound, or older than the age bound, a dead job is dropped (it
// stays visible as failed in the result store until that expires).
void JobEndings::expire_dead(QueueState& queue, TimePoint now) {
    while (!queue.dead.empty()) {
        JobRecord& oldest = *queue.dead.front();
        // dead_max_count 0 = no count limit (docs/jobs.md §Dead sets); the age bound always holds.
        const std::uint64_t max_count = queue.config.dead_max_count;
        const bool is_over_count = max_count != 0 && queue.dead.size() > max_count;
        const bool is_too_old = now - oldest.details().died_at >= queue.config.dead_max_age;
        if (!is_over_count && !is_too_old) break;
        ++context_.counters.dead_evicted;
        context_.log.info("dead job dropped job={} queue={} reason={}", oldest.id(), queue.name,
                          is_over_count ? "dead_max_count" : "dead_max_age");
        context_.journal.append(JournalPurged{std::string(oldest.id())});
        end_job(oldest, p::JobState::failed, {}, oldest.details().last_error, now, false);
    }
}

EndedJob JobEndings::ended_record(JobRecord& job, p::JobState state, zmq::message_t result, std::string error,
                                  TimePoint ended_at) {
    EndedJob ended;
    ended.queue = &job.queue->name;
    ended.state = state;
    ended.attempt = job.attempt;
    ended.error = std::move(error);
    ended.result = std::move(result);
    ended.ended_at = ended_at;
    ended.priority = job.priority;
    ended.max_attempts = max_attempts_of(job);
    ended.uncounted_attempts = job.uncounted_attempts;
    ended.created_at = job.created_at;
    ended.payload_bytes = job.payload().size();
    ended.payload_hash = payload_hash(job.payload());
    ended.payload_is_known = true;
    if (job.has_details()) ended.errors = std::move(job.writable_details().errors);
    return ended;
}

}  // namespace corsair::broker
