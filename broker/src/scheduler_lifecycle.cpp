// The Scheduler's job lifecycle (docs/jobs.md): delays and retries on timers, timeouts, the dead
// set, cancel, progress and queue settings. The dispatch and worker rules are in scheduler.cpp.
#include <algorithm>

#include "corsair/broker/scheduler.hpp"
#include "corsair/protocol/codec.hpp"
#include "corsair/protocol/duration.hpp"
#include "held_accepts.hpp"
#include "job_record.hpp"
#include "job_table.hpp"
#include "journal_sink.hpp"
#include "queue_state.hpp"
#include "reply_targets.hpp"
#include "result_store.hpp"
#include "retry_backoff.hpp"
#include "worker_record.hpp"

namespace corsair::broker {

namespace p = corsair::protocol;

namespace {

std::string truncated(const std::string& text, std::size_t max_bytes) {
    return text.size() <= max_bytes ? text : text.substr(0, max_bytes);
}

std::uint64_t milliseconds_of(std::chrono::milliseconds duration) {
    return static_cast<std::uint64_t>(std::max<std::int64_t>(0, duration.count()));
}

}  // namespace

// ---- moving a job between states -------------------------------------------------------

void Scheduler::make_pending(JobRecord& job, bool at_head) {
    QueueState& queue = *job.queue;
    job.state = p::JobState::pending;
    if (at_head) {
        queue.pending.push_front(&job);
    } else {
        queue.pending.push_back(&job);
    }
    mark_dirty(queue);
}

void Scheduler::delay_until(JobRecord& job, TimePoint ready_at) {
    job.state = p::JobState::delayed;
    JobDetails& details = job.writable_details();
    details.ready_at = ready_at;
    ++job.queue->delayed;
    details.ready_timer = ready_timers_.add(ready_at, &job);
}

void Scheduler::end_lease(JobRecord& job, bool gives_credit_back) {
    WorkerRecord* worker = job.lease_holder;
    if (worker != nullptr) worker->leases.erase(&job);
    --job.queue->in_flight;
    if (job.has_details()) {
        JobDetails& details = job.writable_details();
        if (details.lease_timer) {
            lease_timers_.cancel(*details.lease_timer);
            details.lease_timer.reset();
        }
        details.progress.reset();
        details.progress_message.clear();
    }
    job.lease_holder = nullptr;
    if (worker != nullptr && gives_credit_back) refresh_listing(*worker);
}

void Scheduler::revoke_lease(JobRecord& job, const char* reason) {
    // protocol.md §Leases: the worker is told to stop; anything it still sends is stale.
    if (job.lease_holder != nullptr) {
        send_to_worker(job.lease_holder->routing_id, p::encode(p::Abandon{std::string(job.id()), job.attempt, reason}));
        log_->info("lease revoked job={} attempt={} worker={} reason={}", job.id(), job.attempt,
                   job.lease_holder->name, reason);
    }
    end_lease(job, true);
}

std::uint32_t Scheduler::max_attempts_of(const JobRecord& job, const QueueState& queue) const {
    return job.details().retry.max_attempts.value_or(queue.config.max_attempts);
}

void Scheduler::fail_attempt(JobRecord& job, std::string error, bool is_permanent, TimePoint now, bool at_head) {
    ++counters_.attempts_failed;
    QueueState& queue = *job.queue;
    JobDetails& details = job.writable_details();
    details.errors.push_back({job.attempt, truncated(error, p::kMaxHistoryErrorBytes)});
    if (details.errors.size() > p::kMaxAttemptsLimit) details.errors.erase(details.errors.begin());
    details.last_error = truncated(error, p::kMaxErrorTextBytes);
    if (is_permanent || job.attempts_this_round() >= max_attempts_of(job, queue)) {
        journal(JournalAttemptFailed{std::string(job.id()), job.attempt, details.last_error, is_permanent, 0});
        move_to_dead(job, now);
        return;
    }
    if (at_head) {
        // The worker died, not the job's code: run it again at once, ahead of the queue.
        journal(JournalAttemptFailed{std::string(job.id()), job.attempt, details.last_error, false, 0});
        make_pending(job, true);
        return;
    }
    const auto& config = queue.config;
    const auto& retry = details.retry;
    const auto first = retry.backoff_ms ? std::chrono::milliseconds(*retry.backoff_ms) : config.backoff;
    const auto cap = retry.backoff_max_ms ? std::chrono::milliseconds(*retry.backoff_max_ms) : config.backoff_max;
    const auto jitter = retry.backoff_jitter_pct.value_or(config.backoff_jitter_pct);
    const auto wait = retry_backoff(first, cap, jitter, job.attempts_this_round(), random_);
    ++counters_.retries_scheduled;
    journal(JournalAttemptFailed{std::string(job.id()), job.attempt, details.last_error, false, wall_ms_at(now + wait, now)});
    log_->info("retry scheduled job={} attempt={} of={} in={}", job.id(), job.attempt, max_attempts_of(job, queue),
               p::format_duration(wait));
    delay_until(job, now + wait);
}

void Scheduler::move_to_dead(JobRecord& job, TimePoint now) {
    QueueState& queue = *job.queue;
    job.state = p::JobState::failed;
    JobDetails& details = job.writable_details();
    details.died_at = now;
    queue.dead.push_back(&job);
    ++queue.failed;
    ++counters_.jobs_failed;
    journal(JournalDead{std::string(job.id()), wall_ms_at(now, now)});
    release_unique_key(job);
    log_->warn("job dead job={} queue={} attempts={} error={}", job.id(), queue.name, job.attempt, details.last_error);
    if (job.reply_to != nullptr) {
        settle_held_accept(job, HeldAcceptEnd::folded);
        send_result(job.reply_to, p::JobResult{std::string(job.id()), job.state, job.attempt, details.last_error, {}});
    }
    expire_dead(queue, now);
}

void Scheduler::take_from_dead(JobRecord& job) {
    job.queue->dead.erase(&job);
}

void Scheduler::end_job(JobRecord& job, p::JobState state, zmq::message_t result, std::string error, TimePoint now,
                        bool tells_producer) {
    release_unique_key(job);
    const bool tells = tells_producer && job.reply_to != nullptr;
    EndedJob ended = ended_record(job, state, std::move(result), std::move(error), now);
    settle_held_accept(job, tells ? HeldAcceptEnd::folded : HeldAcceptEnd::send_now);
    std::string told_error = tells ? ended.error : std::string();
    results_->add(job.id(), ended);  // copies a small result, shares a large one: ended.result stays
    if (tells) {
        // docs/durability.md: a producer is told a job ended only once that is on disk, so a
        // crash can never make the broker forget an ending someone was told about.
        send_result(job.reply_to, p::JobResult{std::string(job.id()), state, job.attempt, std::move(told_error),
                                               std::move(ended.result)});
    }
    destroy_job(job);
}

void Scheduler::destroy_job(JobRecord& job) {
    jobs_->remove(job.id());
    live_payload_bytes_ -= job.payload().size();
    if (job.reply_to != nullptr) reply_targets_->release(job.reply_to);
    JobRecord::destroy(&job);
}

void Scheduler::set_reply_to(JobRecord& job, const RoutingId& producer, std::uint32_t results_batch) {
    if (job.reply_to != nullptr && *job.reply_to == producer) {
        reply_targets_->set_results_batch(job.reply_to, results_batch);
        return;
    }
    if (job.reply_to != nullptr) reply_targets_->release(job.reply_to);
    job.reply_to = reply_targets_->hold(producer, results_batch);
}

void Scheduler::send_result(const RoutingId* producer, p::JobResult&& result) {
    const std::uint32_t batch = reply_targets_->results_batch(producer);
    if (!is_in_turn_ || batch <= 1) {
        send_to_producer_when_durable(*producer, p::encode(std::move(result)));
        return;
    }
    auto held = std::find_if(held_results_.begin(), held_results_.end(),
                             [producer](const auto& entry) { return entry.first == *producer; });
    if (held == held_results_.end()) {
        held_results_.emplace_back(*producer, std::vector<p::JobResult>());
        held = std::prev(held_results_.end());
    }
    held->second.push_back(std::move(result));
    if (held->second.size() < batch) return;
    p::Results full;
    full.results.swap(held->second);
    send_to_producer_when_durable(held->first, p::encode(std::move(full)));
}

void Scheduler::send_held_results() {
    for (auto& [producer, results] : held_results_) {
        if (results.size() == 1) {
            send_to_producer_when_durable(producer, p::encode(std::move(results.front())));
        } else if (!results.empty()) {
            p::Results batch;
            batch.results.swap(results);
            send_to_producer_when_durable(producer, p::encode(std::move(batch)));
        }
    }
    held_results_.clear();
}

EndedJob Scheduler::ended_record(JobRecord& job, p::JobState state, zmq::message_t result, std::string error,
                                 TimePoint ended_at) {
    EndedJob ended;
    ended.queue = &job.queue->name;
    ended.state = state;
    ended.attempt = job.attempt;
    ended.error = std::move(error);
    ended.result = std::move(result);
    ended.ended_at = ended_at;
    ended.priority = job.priority;
    ended.max_attempts = max_attempts_of(job, *job.queue);
    if (job.has_details()) ended.errors = std::move(job.writable_details().errors);
    return ended;
}

void Scheduler::release_unique_key(const JobRecord& job) {
    const std::string& key = job.details().unique_key;
    if (key.empty()) return;
    auto it = unique_jobs_.find(job.queue->name + '\n' + key);
    if (it != unique_jobs_.end() && it->second == job.id()) unique_jobs_.erase(it);
}

// Oldest first: over the count bound, or older than the age bound, a dead job is dropped (it
// stays visible as failed in the result store until that expires).
void Scheduler::expire_dead(QueueState& queue, TimePoint now) {
    while (!queue.dead.empty()) {
        JobRecord& oldest = *queue.dead.front();
        const bool is_over_count = queue.dead.size() > queue.config.dead_max_count;
        const bool is_too_old = now - oldest.details().died_at >= queue.config.dead_max_age;
        if (!is_over_count && !is_too_old) break;
        ++counters_.dead_evicted;
        log_->info("dead job dropped job={} queue={} reason={}", oldest.id(), queue.name,
                   is_over_count ? "dead_max_count" : "dead_max_age");
        take_from_dead(oldest);
        journal(JournalPurged{std::string(oldest.id())});
        end_job(oldest, p::JobState::failed, {}, oldest.details().last_error, now, false);
    }
}

// ---- timers ----------------------------------------------------------------------------

std::optional<Scheduler::TimePoint> Scheduler::next_deadline() const {
    std::optional<TimePoint> earliest;
    for (auto deadline : {ready_timers_.next_deadline(), lease_timers_.next_deadline(), held_accepts_->next_due()}) {
        if (deadline && (!earliest || *deadline < *earliest)) earliest = deadline;
    }
    return earliest;
}

void Scheduler::settle_held_accept(JobRecord& job, HeldAcceptEnd end) {
    if (!held_accepts_->release(job)) return;
    switch (end) {
        case HeldAcceptEnd::send_now: send_late_accepted(job); break;
        case HeldAcceptEnd::answered: break;
        case HeldAcceptEnd::folded: ++counters_.accepts_folded; break;
    }
}

void Scheduler::send_late_accepted(const JobRecord& job) {
    const std::string id(job.id());
    send_to_producer_when_durable(*job.reply_to, p::encode(p::Accepted{id, false, id, instance_}));
}

void Scheduler::fire_timers(TimePoint now) {
    held_accepts_->fire(now, [this](JobRecord& job) { send_late_accepted(job); });
    while (auto due = ready_timers_.pop_due(now)) {
        JobRecord& job = **due;
        job.writable_details().ready_timer.reset();
        --job.queue->delayed;
        make_pending(job, false);
    }
    while (auto due = lease_timers_.pop_due(now)) {
        JobRecord& job = **due;
        job.writable_details().lease_timer.reset();
        ++counters_.attempts_timed_out;
        const QueueState& queue = *job.queue;
        const auto& timeout_ms = job.details().timeout_ms;
        const auto timeout = timeout_ms ? std::chrono::milliseconds(*timeout_ms) : queue.config.timeout;
        revoke_lease(job, "timeout");
        fail_attempt(job, "timed out after " + p::format_duration(timeout), false, now, false);
    }
    dispatch_dirty(now);
}

// ---- producer requests -----------------------------------------------------------------

void Scheduler::cancel(const RoutingId& producer, const std::string& id, TimePoint now) {
    JobRecord* found = jobs_->find(id);
    if (found == nullptr) {
        if (const KeptResult* ended = results_->find(id)) {
            send_error_to_producer(producer, p::ErrorCode::wrong_state,
                                   "job already ended: " + std::string(p::to_string(ended->state)), id, "CANCEL");
        } else {
            send_error_to_producer(producer, p::ErrorCode::unknown_job, "no job with this id", id, "CANCEL");
        }
        return;
    }
    JobRecord& job = *found;
    QueueState& queue = *job.queue;
    switch (job.state) {
        case p::JobState::pending: queue.pending.erase(&job); break;
        case p::JobState::delayed: {
            JobDetails& details = job.writable_details();
            ready_timers_.cancel(*details.ready_timer);
            details.ready_timer.reset();
            --queue.delayed;
            break;
        }
        case p::JobState::running: revoke_lease(job, "cancelled"); break;
        default:
            send_error_to_producer(producer, p::ErrorCode::wrong_state,
                                   "job is in the dead set of queue " + queue.name + "; purge removes it", id, "CANCEL");
            return;
    }
    ++counters_.jobs_cancelled;
    log_->info("cancelled job={} queue={}", id, queue.name);
    journal(JournalCancelled{id, wall_ms_at(now, now)});
    end_job(job, p::JobState::cancelled, {}, "cancelled", now, true);
    send_to_producer_when_durable(producer, p::encode(p::Ok{"CANCEL", id, 1}));
}

void Scheduler::retry(const RoutingId& producer, const p::Retry& request) {
    auto revive = [this](JobRecord& job) {
        take_from_dead(job);
        // A new round of attempts; attempt numbers keep growing so old leases stay fenced off.
        job.first_attempt_of_round = job.attempt;
        if (!job.details().unique_key.empty()) {
            std::string& key = job.writable_details().unique_key;
            if (!unique_jobs_.emplace(job.queue->name + '\n' + key, std::string(job.id())).second) key.clear();
        }
        ++counters_.dead_retried;
        journal(JournalRetried{std::string(job.id())});
        log_->info("dead job retried job={} queue={}", job.id(), job.queue->name);
        make_pending(job, false);
    };
    if (!request.id.empty()) {
        JobRecord* found = jobs_->find(request.id);
        if (found == nullptr) {
            if (results_->find(request.id) != nullptr) {
                send_error_to_producer(producer, p::ErrorCode::wrong_state,
                                       "job is not in a dead set (it ended, or was purged or aged out)", request.id,
                                       "RETRY");
            } else {
                send_error_to_producer(producer, p::ErrorCode::unknown_job, "no job with this id", request.id, "RETRY");
            }
            return;
        }
        if (found->state != p::JobState::failed) {
            send_error_to_producer(producer, p::ErrorCode::wrong_state,
                                   "job is " + std::string(p::to_string(found->state)) + ", not dead", request.id,
                                   "RETRY");
            return;
        }
        revive(*found);
        send_to_producer_when_durable(producer, p::encode(p::Ok{"RETRY", request.id, 1}));
        return;
    }
    std::uint64_t count = 0;
    if (auto found = queues_.find(request.queue); found != queues_.end()) {
        auto& dead = found->second.dead;
        while (!dead.empty()) {
            revive(*dead.front());
            ++count;
        }
    }
    send_to_producer_when_durable(producer, p::encode(p::Ok{"RETRY", request.queue, count}));
}

void Scheduler::purge(const RoutingId& producer, const p::Purge& request, TimePoint now) {
    auto drop = [&](JobRecord& job) {
        take_from_dead(job);
        ++counters_.dead_purged;
        journal(JournalPurged{std::string(job.id())});
        end_job(job, p::JobState::failed, {}, job.details().last_error, now, false);
    };
    if (!request.id.empty()) {
        JobRecord* found = jobs_->find(request.id);
        if (found == nullptr || found->queue->name != request.queue) {
            send_error_to_producer(producer, p::ErrorCode::unknown_job, "no job with this id in queue " + request.queue,
                                   request.id, "PURGE");
            return;
        }
        if (found->state != p::JobState::failed) {
            send_error_to_producer(producer, p::ErrorCode::wrong_state,
                                   "job is " + std::string(p::to_string(found->state)) + ", not dead", request.id,
                                   "PURGE");
            return;
        }
        drop(*found);
        send_to_producer_when_durable(producer, p::encode(p::Ok{"PURGE", request.id, 1}));
        return;
    }
    std::uint64_t count = 0;
    if (auto found = queues_.find(request.queue); found != queues_.end()) {
        auto& dead = found->second.dead;
        while (!dead.empty()) {
            drop(*dead.front());
            ++count;
        }
    }
    log_->info("dead set purged queue={} jobs={}", request.queue, count);
    send_to_producer_when_durable(producer, p::encode(p::Ok{"PURGE", request.queue, count}));
}

void Scheduler::list_dead(const RoutingId& producer, const p::DeadRequest& request, TimePoint now) {
    p::DeadReply reply;
    reply.queue = request.queue;
    if (auto found = queues_.find(request.queue); found != queues_.end()) {
        const auto& dead = found->second.dead;
        reply.total = dead.size();
        // The body must stay decodable: stop well before the payload limit; `total` says how
        // many more there are.
        const std::size_t budget_bytes = options_.max_payload_bytes / 2;
        std::size_t bytes = 0;
        for (const JobRecord* job = dead.front(); job != nullptr; job = job->next) {
            if (reply.jobs.size() >= request.limit) break;
            const JobDetails& details = job->details();
            std::size_t entry_bytes = 64 + job->id().size();
            for (const auto& e : details.errors) entry_bytes += 16 + e.error.size();
            if (bytes + entry_bytes > budget_bytes) break;
            bytes += entry_bytes;
            p::DeadJob entry;
            entry.id = job->id();
            entry.attempts = job->attempt;
            entry.died_ms_ago =
                milliseconds_of(std::chrono::duration_cast<std::chrono::milliseconds>(now - details.died_at));
            entry.payload_bytes = job->payload().size();
            entry.priority = job->priority;
            entry.errors = details.errors;
            reply.jobs.push_back(std::move(entry));
        }
    }
    send_to_producer(producer, p::encode(std::move(reply)));
}

p::QueueSettings Scheduler::settings_of(const QueueState& queue) const {
    const QueueConfig& c = queue.config;
    p::QueueSettings s;
    s.queue = queue.name;
    s.is_paused = c.is_paused;
    s.max_length = c.max_length;
    s.retry.max_attempts = c.max_attempts;
    s.retry.backoff_ms = milliseconds_of(c.backoff);
    s.retry.backoff_max_ms = milliseconds_of(c.backoff_max);
    s.retry.backoff_jitter_pct = c.backoff_jitter_pct;
    s.timeout_ms = milliseconds_of(c.timeout);
    s.dead_max_count = c.dead_max_count;
    s.dead_max_age_ms = milliseconds_of(c.dead_max_age);
    return s;
}

void Scheduler::change_queue(const RoutingId& producer, const p::QueueSettings& request, TimePoint now) {
    if (!fits_queue_limit(request.queue)) {
        ++counters_.queue_limit_refusals;
        send_error_to_producer(producer, p::ErrorCode::too_many_queues, queue_limit_text(request.queue), request.queue,
                               "QUEUE");
        return;
    }
    QueueState& queue = queue_named(request.queue);
    QueueConfig& c = queue.config;
    const bool was_paused = c.is_paused;
    apply(c, request);
    if (was_paused != c.is_paused) {
        log_->info("queue {} queue={}", c.is_paused ? "paused" : "resumed", queue.name);
        if (!c.is_paused) mark_dirty(queue);
    }
    journal(JournalQueueSettings{settings_of(queue)});
    expire_dead(queue, now);
    send_to_producer_when_durable(producer, p::encode(settings_of(queue)));
}

// ---- worker reports --------------------------------------------------------------------

void Scheduler::record_progress(WorkerRecord& worker, p::Progress&& progress) {
    JobRecord* found = jobs_->find(progress.id);
    if (found == nullptr || found->lease_holder != &worker || found->attempt != progress.attempt) {
        log_->debug("discarded progress job={} attempt={} worker={}", progress.id, progress.attempt, worker.name);
        return;
    }
    JobRecord& job = *found;
    ++counters_.progress_reports;
    JobDetails& details = job.writable_details();
    details.progress = progress.percent;
    details.progress_message = progress.message;
    if (job.reply_to != nullptr) send_to_producer(*job.reply_to, p::encode(std::move(progress)));
}

}  // namespace corsair::broker
