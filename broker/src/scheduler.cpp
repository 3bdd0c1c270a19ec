#include "corsair/broker/scheduler.hpp"

#include <spdlog/fmt/ranges.h>

#include <algorithm>
#include <vector>

#include "corsair/protocol/duration.hpp"
#include "held_accepts.hpp"
#include "job_record.hpp"
#include "job_table.hpp"
#include "journal_sink.hpp"
#include "queue_state.hpp"
#include "reply_targets.hpp"
#include "result_store.hpp"
#include "worker_record.hpp"

namespace corsair::broker {

namespace p = corsair::protocol;

std::map<std::string, std::uint64_t> SchedulerCounters::to_map() const {
    return {
        {"jobs_submitted", jobs_submitted},
        {"duplicate_submits", duplicate_submits},
        {"jobs_dispatched", jobs_dispatched},
        {"jobs_done", jobs_done},
        {"jobs_failed", jobs_failed},
        {"jobs_requeued", jobs_requeued},
        {"jobs_cancelled", jobs_cancelled},
        {"jobs_delayed", jobs_delayed},
        {"unique_hits", unique_hits},
        {"attempts_failed", attempts_failed},
        {"attempts_timed_out", attempts_timed_out},
        {"retries_scheduled", retries_scheduled},
        {"dead_retried", dead_retried},
        {"dead_purged", dead_purged},
        {"dead_evicted", dead_evicted},
        {"queue_full_refusals", queue_full_refusals},
        {"queue_limit_refusals", queue_limit_refusals},
        {"progress_reports", progress_reports},
        {"stale_completions", stale_completions},
        {"workers_joined", workers_joined},
        {"workers_dead", workers_dead},
        {"workers_disconnected", workers_disconnected},
        {"malformed_messages", malformed_messages},
        {"unexpected_commands", unexpected_commands},
        {"results_undeliverable", results_undeliverable},
        {"results_expired", results_expired},
        {"accepts_folded", accepts_folded},
    };
}

namespace {

std::uint64_t seed_from(std::uint64_t seed) { return seed != 0 ? seed : std::random_device{}(); }

bool is_set(const p::RetryPolicy& retry) {
    return retry.max_attempts || retry.backoff_ms || retry.backoff_max_ms || retry.backoff_jitter_pct;
}

template <class T>
p::Frames frames_of(T&& message) {
    return p::encode(std::forward<T>(message));
}

}  // namespace

Scheduler::Scheduler(const BrokerOptions& options, Outbox& outbox, std::shared_ptr<spdlog::logger> log,
                     WallClock wall_clock)
    : options_(options),
      outbox_(outbox),
      log_(std::move(log)),
      wall_clock_(std::move(wall_clock)),
      random_(seed_from(options.random_seed)),
      instance_(std::uniform_int_distribution<std::uint64_t>(1, UINT64_MAX)(random_)),
      jobs_(std::make_unique<JobTable<JobRecord>>()),
      results_(std::make_unique<ResultStore>(options.result_ttl, options.max_result_bytes)),
      held_accepts_(std::make_unique<HeldAccepts>()),
      reply_targets_(std::make_unique<ReplyTargets>()) {}

Scheduler::~Scheduler() {
    jobs_->for_each([](JobRecord* job) { JobRecord::destroy(job); });
}

// ---- producers -------------------------------------------------------------------------

void Scheduler::on_producer_message(const RoutingId& producer, p::Message&& message, TimePoint now) {
    if (auto* submit_message = std::get_if<p::Submit>(&message)) {
        submit(producer, std::move(*submit_message), now);
    } else if (auto* status = std::get_if<p::StatusRequest>(&message)) {
        answer_status(producer, status->id, now);
    } else if (std::holds_alternative<p::StatsRequest>(message)) {
        send_to_producer(producer, frames_of(stats(now)));
    } else if (auto* cancel_message = std::get_if<p::Cancel>(&message)) {
        cancel(producer, cancel_message->id, now);
    } else if (auto* retry_message = std::get_if<p::Retry>(&message)) {
        retry(producer, *retry_message);
    } else if (auto* purge_message = std::get_if<p::Purge>(&message)) {
        purge(producer, *purge_message, now);
    } else if (auto* dead_message = std::get_if<p::DeadRequest>(&message)) {
        list_dead(producer, *dead_message, now);
    } else if (auto* settings = std::get_if<p::QueueSettings>(&message)) {
        change_queue(producer, *settings, now);
    } else {
        ++counters_.unexpected_commands;
        log_->warn("unexpected command on producer socket command={}", p::to_string(p::command_of(message)));
        send_error_to_producer(producer, p::ErrorCode::unexpected_command,
                               std::string(p::to_string(p::command_of(message))) + " is not a producer command", {},
                               std::string(p::to_string(p::command_of(message))));
    }
    dispatch_dirty(now);
}

void Scheduler::submit(const RoutingId& producer, p::Submit&& message, TimePoint now) {
    if (is_shutting_down_) {
        send_error_to_producer(producer, p::ErrorCode::shutting_down, "broker is shutting down", message.id, "SUBMIT");
        return;
    }
    // protocol.md §Idempotent submission: a known id never makes a second job.
    if (JobRecord* found = jobs_->find(message.id)) {
        JobRecord& job = *found;
        ++counters_.duplicate_submits;
        // The ACCEPTED below answers for a held one from this producer; another's is sent first.
        const bool is_same_producer = job.reply_to != nullptr && *job.reply_to == producer;
        settle_held_accept(job, is_same_producer ? HeldAcceptEnd::answered : HeldAcceptEnd::send_now);
        if (message.wants_result) set_reply_to(job, producer, message.results_batch);
        send_to_producer(producer, frames_of(p::Accepted{message.id, true, message.id, instance_}));
        if (message.wants_result && job.state == p::JobState::failed) {
            send_to_producer_when_durable(producer, frames_of(p::JobResult{message.id, job.state, job.attempt,
                                                                           job.details().last_error, {}}));
        }
        return;
    }
    if (const KeptResult* ended = results_->find(message.id)) {
        ++counters_.duplicate_submits;
        send_to_producer(producer, frames_of(p::Accepted{message.id, true, message.id, instance_}));
        if (message.wants_result) {
            send_to_producer_when_durable(producer, frames_of(p::JobResult{message.id, ended->state, ended->attempt,
                                                                           ended->error(), ended->result_message()}));
        }
        return;
    }
    // docs/jobs.md §Unique jobs: while a job holds the key, a submit with it stands for that job.
    const std::string unique = message.unique_key.empty() ? std::string() : message.queue + '\n' + message.unique_key;
    if (!unique.empty()) {
        if (auto held = unique_jobs_.find(unique); held != unique_jobs_.end()) {
            JobRecord& job = *jobs_->find(held->second);  // a key is held only by a live job
            ++counters_.unique_hits;
            if (message.wants_result && (job.reply_to == nullptr || *job.reply_to != producer)) {
                settle_held_accept(job, HeldAcceptEnd::send_now);
                set_reply_to(job, producer, message.results_batch);
            }
            send_to_producer(producer, frames_of(p::Accepted{message.id, true, std::string(job.id()), instance_}));
            return;
        }
    }
    std::optional<TimePoint> ready_at;
    if (message.run_at_ms) {
        const auto wall_now = std::chrono::duration_cast<std::chrono::milliseconds>(
            wall_clock_().time_since_epoch());
        const auto run_at = std::chrono::milliseconds(static_cast<std::int64_t>(
            std::min<std::uint64_t>(*message.run_at_ms, static_cast<std::uint64_t>(INT64_MAX / 2))));
        if (run_at < wall_now) {
            send_error_to_producer(producer, p::ErrorCode::bad_field_value,
                                   "run_at_ms: the time is in the past by " +
                                       p::format_duration(wall_now - run_at) + " (broker clock)",
                                   message.id, "SUBMIT");
            return;
        }
        if (run_at - wall_now > std::chrono::milliseconds(p::kMaxDelayMs)) {
            send_error_to_producer(producer, p::ErrorCode::bad_field_value,
                                   "run_at_ms: more than 365 days ahead", message.id, "SUBMIT");
            return;
        }
        if (run_at > wall_now) ready_at = now + (run_at - wall_now);
    } else if (message.delay_ms > 0) {
        ready_at = now + std::chrono::milliseconds(message.delay_ms);
    }
    if (!fits_queue_limit(message.queue)) {
        ++counters_.queue_limit_refusals;
        send_error_to_producer(producer, p::ErrorCode::too_many_queues, queue_limit_text(message.queue), message.id,
                               "SUBMIT");
        return;
    }
    QueueState& queue = queue_named(message.queue);
    if (queue.config.max_length != 0 && queue.waiting() >= queue.config.max_length) {
        ++counters_.queue_full_refusals;
        send_error_to_producer(producer, p::ErrorCode::queue_full,
                               "queue " + queue.name + " is full: " + std::to_string(queue.waiting()) +
                                   " jobs waiting, max_length " + std::to_string(queue.config.max_length),
                               message.id, "SUBMIT");
        return;
    }
    std::unique_ptr<JobRecord, JobRecordDeleter> created(JobRecord::create(message.id, std::move(message.payload)));
    jobs_->insert(created.get());
    JobRecord& job = *created.release();
    job.queue = &queue;
    live_payload_bytes_ += job.payload().size();
    job.sequence = next_sequence_++;
    job.priority = message.priority;
    if (is_set(message.retry) || message.timeout_ms || !message.unique_key.empty()) {
        JobDetails& details = job.writable_details();
        details.retry = message.retry;
        details.timeout_ms = message.timeout_ms;
        details.unique_key = std::move(message.unique_key);
    }
    if (message.wants_result) set_reply_to(job, producer, message.results_batch);
    if (!unique.empty()) unique_jobs_.emplace(unique, message.id);
    ++counters_.jobs_submitted;
    if (journal_ != nullptr) {
        const JobDetails& details = job.details();
        journal(JournalSubmitted{message.id, queue.name, std::string(job.payload()), job.priority, details.retry,
                                 details.timeout_ms, ready_at ? wall_ms_at(*ready_at, now) : 0, details.unique_key,
                                 job.sequence});
    }
    if (ready_at) {
        ++counters_.jobs_delayed;
        delay_until(job, *ready_at);
    } else {
        make_pending(job, false);
    }
    log_->debug("submitted job={} queue={} priority={}", message.id, queue.name, job.priority);
    // docs/protocol.md §5.1: a producer waiting for the result may let the ACCEPTED wait for it.
    if (message.wants_result && message.accept_within_ms > 0) {
        held_accepts_->hold(job, std::chrono::milliseconds(message.accept_within_ms), now);
        return;
    }
    // docs/durability.md: ACCEPTED means the job is on disk (under the --fsync policy).
    send_to_producer_when_durable(producer, frames_of(p::Accepted{message.id, false, std::move(message.id), instance_}));
}

void Scheduler::answer_status(const RoutingId& producer, const std::string& id, TimePoint now) {
    if (const JobRecord* found = jobs_->find(id)) {
        const JobRecord& job = *found;
        const JobDetails& details = job.details();
        p::StatusReply reply;
        reply.id = id;
        reply.queue = job.queue->name;
        reply.state = job.state;
        reply.attempt = job.attempt;
        if (job.lease_holder != nullptr) reply.worker = job.lease_holder->name;
        reply.error = details.last_error;
        reply.priority = job.priority;
        reply.max_attempts = max_attempts_of(job, *job.queue);
        reply.progress = details.progress;
        reply.progress_message = details.progress_message;
        if (job.state == p::JobState::delayed && details.ready_at > now) {
            reply.ready_in_ms = static_cast<std::uint64_t>(
                std::chrono::ceil<std::chrono::milliseconds>(details.ready_at - now).count());
        }
        reply.errors = details.errors;
        reply.broker_instance = instance_;
        send_to_producer(producer, frames_of(std::move(reply)));
        return;
    }
    if (const KeptResult* ended = results_->find(id)) {
        p::StatusReply reply;
        reply.id = id;
        reply.queue = *ended->queue;
        reply.state = ended->state;
        reply.attempt = ended->attempt;
        reply.error = ended->error();
        reply.payload = ended->result_message();
        reply.priority = ended->priority;
        reply.max_attempts = ended->max_attempts;
        reply.errors = ended->errors();
        reply.broker_instance = instance_;
        send_to_producer(producer, frames_of(std::move(reply)));
        return;
    }
    send_error_to_producer(producer, p::ErrorCode::unknown_job, "no job with this id (never submitted, or expired)",
                           id, "STATUS");
}

void Scheduler::on_malformed_producer_message(const RoutingId& producer, const p::DecodeError& error) {
    ++counters_.malformed_messages;
    log_->warn("malformed message peer=producer code={} detail={}", p::to_string(error.code), error.detail);
    send_error_to_producer(producer, error.code, error.detail);
}

// ---- workers ---------------------------------------------------------------------------

void Scheduler::on_worker_message(const RoutingId& routing_id, p::Message&& message, TimePoint now) {
    if (auto* ready = std::get_if<p::Ready>(&message)) {
        register_worker(routing_id, std::move(*ready), now);
        dispatch_dirty(now);
        return;
    }
    auto found = workers_.find(routing_id);
    if (found == workers_.end()) {
        // protocol.md §Leases: a worker we declared dead (or that never said READY) holds no lease.
        if (std::holds_alternative<p::Disconnect>(message)) return;
        if (auto* dones = std::get_if<p::Dones>(&message)) {
            counters_.stale_completions += dones->done.size();
            log_->info("discarded completion from unknown worker command=DONES entries={}", dones->done.size());
        } else if (std::holds_alternative<p::Done>(message) || std::holds_alternative<p::Fail>(message)) {
            ++counters_.stale_completions;
            log_->info("discarded completion from unknown worker command={}", p::to_string(p::command_of(message)));
        }
        send_to_worker(routing_id, frames_of(p::Error{p::ErrorCode::unknown_worker, "send READY first", {}, {}}));
        return;
    }
    WorkerRecord& worker = found->second;
    worker.last_heard = now;
    if (worker.is_congested) {
        worker.is_congested = false;
        refresh_listing(worker);
    }
    if (auto* done = std::get_if<p::Done>(&message)) {
        complete(worker, done->id, done->attempt, true, std::move(done->payload), {}, false, now);
    } else if (auto* dones = std::get_if<p::Dones>(&message)) {
        // protocol.md §5.26: each entry is a DONE of its own, fenced on its own.
        for (auto& entry : dones->done) {
            complete(worker, entry.id, entry.attempt, true, std::move(entry.payload), {}, false, now);
        }
    } else if (auto* fail = std::get_if<p::Fail>(&message)) {
        complete(worker, fail->id, fail->attempt, false, {}, std::move(fail->error), fail->is_permanent, now);
    } else if (auto* progress = std::get_if<p::Progress>(&message)) {
        record_progress(worker, std::move(*progress));
    } else if (std::holds_alternative<p::Heartbeat>(message)) {
        // last_heard is all a heartbeat changes.
    } else if (std::holds_alternative<p::Drain>(message)) {
        if (!worker.is_draining) log_->info("worker draining worker={} held={}", worker.name, worker.leases.size());
        worker.is_draining = true;
        refresh_listing(worker);
    } else if (auto* disconnect = std::get_if<p::Disconnect>(&message)) {
        ++counters_.workers_disconnected;
        log_->info("worker left worker={} reason={} requeued={}", worker.name, disconnect->reason,
                   worker.leases.size());
        remove_worker(worker, "disconnect", now);
    } else {
        ++counters_.unexpected_commands;
        log_->warn("unexpected command on worker socket worker={} command={}", worker.name,
                   p::to_string(p::command_of(message)));
        send_to_worker(routing_id, frames_of(p::Error{p::ErrorCode::unexpected_command,
                                                      std::string(p::to_string(p::command_of(message))) +
                                                          " is not a worker command",
                                                      {}, std::string(p::to_string(p::command_of(message)))}));
    }
    dispatch_dirty(now);
}

void Scheduler::on_malformed_worker_message(const RoutingId& worker, const p::DecodeError& error) {
    ++counters_.malformed_messages;
    log_->warn("malformed message peer=worker code={} detail={}", p::to_string(error.code), error.detail);
    send_to_worker(worker, frames_of(p::Error{error.code, error.detail, {}, {}}));
}

void Scheduler::register_worker(const RoutingId& routing_id, p::Ready&& ready, TimePoint now) {
    std::vector<std::string> queue_names;
    for (auto& queue : ready.queues) {
        if (std::find(queue_names.begin(), queue_names.end(), queue) == queue_names.end()) {
            queue_names.push_back(std::move(queue));
        }
    }
    if (!fits_queue_limit(queue_names)) {
        ++counters_.queue_limit_refusals;
        log_->warn("worker refused: too many queues worker={} queues={}", ready.name, fmt::join(queue_names, ","));
        send_to_worker(routing_id, frames_of(p::Error{p::ErrorCode::too_many_queues,
                                                      "READY names queues the broker cannot create: it holds " +
                                                          std::to_string(queues_.size()) + " queues, --max-queues " +
                                                          std::to_string(options_.max_queues),
                                                      {}, "READY"}));
        return;
    }
    auto [it, is_new] = workers_.try_emplace(routing_id);
    WorkerRecord& worker = it->second;
    if (worker.is_listed) unlist_idle(worker);
    worker.routing_id = routing_id;
    worker.name = ready.name.empty() ? "anonymous" : ready.name;
    worker.queues = std::move(queue_names);
    worker.capacity = ready.capacity;
    worker.batch = ready.batch;
    worker.last_heard = now;
    worker.is_draining = false;
    worker.is_congested = false;
    worker.served.clear();
    for (const auto& queue : worker.queues) worker.served.push_back(&queue_named(queue));
    if (is_new) {
        ++counters_.workers_joined;
        log_->info("worker joined worker={} capacity={} queues={}", worker.name, worker.capacity,
                   fmt::join(worker.queues, ","));
    } else {
        log_->info("worker announced again worker={} capacity={}", worker.name, worker.capacity);
    }
    // The first heartbeat tells the worker our interval and liveness (protocol.md §Heartbeats).
    if (send_to_worker(routing_id, frames_of(heartbeat_message())) == p::SendStatus::host_unreachable) {
        remove_worker(worker, "unreachable", now);
        return;
    }
    refresh_listing(worker);
}

void Scheduler::complete(WorkerRecord& worker, const std::string& id, std::uint32_t attempt, bool succeeded,
                         zmq::message_t result, std::string error, bool is_permanent, TimePoint now) {
    JobRecord* found = jobs_->find(id);
    // protocol.md §Leases: only the holder of the current lease (id, attempt) may end a job.
    if (found == nullptr || found->state != p::JobState::running || found->attempt != attempt ||
        found->lease_holder != &worker) {
        ++counters_.stale_completions;
        log_->info("discarded stale completion job={} attempt={} worker={}", id, attempt, worker.name);
        return;
    }
    JobRecord& job = *found;
    end_lease(job, true);
    if (succeeded) {
        ++counters_.jobs_done;
        ++job.queue->done;
        ++worker.done;
        log_->debug("done job={} attempt={} worker={}", id, attempt, worker.name);
        if (journal_ != nullptr) journal(JournalDone{id, attempt, std::string(p::view_of(result)), wall_ms_at(now, now)});
        end_job(job, p::JobState::done, std::move(result), {}, now, true);
        return;
    }
    ++worker.failed;
    log_->warn("attempt failed job={} attempt={} worker={} permanent={} error={}", id, attempt, worker.name,
               is_permanent, error);
    fail_attempt(job, std::move(error), is_permanent, now, false);
}

void Scheduler::requeue_leases(WorkerRecord& worker, bool counts_as_attempt, const std::string& reason,
                               TimePoint now) {
    std::vector<JobRecord*> held;
    held.reserve(worker.leases.size());
    for (JobRecord* job = worker.leases.front(); job != nullptr; job = job->next) held.push_back(job);
    // Pushing to the head in reverse submission order keeps the original FIFO order at the head.
    std::sort(held.begin(), held.end(), [](const JobRecord* a, const JobRecord* b) { return a->sequence > b->sequence; });
    for (JobRecord* job : held) {
        end_lease(*job, false);
        ++counters_.jobs_requeued;
        log_->warn("requeued job={} attempt={} worker={} reason={}", job->id(), job->attempt, worker.name, reason);
        if (counts_as_attempt) {
            // docs/jobs.md: a worker's death counts as a failed attempt, so a job that kills its
            // worker every time ends in the dead set instead of circling forever.
            fail_attempt(*job, "worker " + worker.name + " died holding the job (" + reason + ")", false, now, true);
        } else {
            // A worker that left cleanly (drain timeout) did not fail the job: its attempt is free.
            ++job->first_attempt_of_round;
            if (journal_ != nullptr) journal(JournalReleased{std::string(job->id())});
            make_pending(*job, true);
        }
    }
}

void Scheduler::remove_worker(WorkerRecord& worker, const char* reason, TimePoint now) {
    if (worker.is_listed) unlist_idle(worker);
    const std::size_t held = worker.leases.size();
    const bool is_death = std::string_view(reason) != "disconnect";
    requeue_leases(worker, is_death, reason, now);
    if (is_death) {
        ++counters_.workers_dead;
        log_->info("worker died worker={} reason={} requeued={}", worker.name, reason, held);
    }
    const RoutingId routing_id = worker.routing_id;
    workers_.erase(routing_id);
}

// ---- dispatch --------------------------------------------------------------------------

bool Scheduler::fits_queue_limit(const std::vector<std::string>& names) const {
    if (options_.max_queues == 0) return true;
    std::size_t created = 0;
    for (const auto& name : names) created += queues_.count(name) == 0 ? 1 : 0;
    return queues_.size() + created <= options_.max_queues;
}

bool Scheduler::fits_queue_limit(const std::string& name) const {
    return options_.max_queues == 0 || queues_.size() < options_.max_queues || queues_.count(name) != 0;
}

std::string Scheduler::queue_limit_text(const std::string& name) const {
    return "queue " + name + " does not exist and the broker holds " + std::to_string(queues_.size()) +
           " queues, its --max-queues";
}

QueueState& Scheduler::queue_named(const std::string& name) {
    auto [it, inserted] = queues_.try_emplace(name);
    if (inserted) {
        it->second.name = name;
        log_->info("queue created queue={}", name);
    }
    return it->second;
}

void Scheduler::mark_dirty(QueueState& queue) {
    if (queue.is_dirty) return;
    queue.is_dirty = true;
    dirty_.push_back(&queue);
}

void Scheduler::end_turn(TimePoint now) {
    is_in_turn_ = false;
    send_held_results();
    dispatch_dirty(now);
}

void Scheduler::dispatch_dirty(TimePoint now) {
    if (is_in_turn_) return;  // end_turn() dispatches what the turn made possible
    dispatch_now_ = now;
    // dispatch() can mark other queues dirty (a vanished worker's jobs): loop until settled.
    while (!dirty_.empty()) {
        QueueState* queue = dirty_.back();
        dirty_.pop_back();
        queue->is_dirty = false;
        dispatch(*queue);
    }
}

void Scheduler::dispatch(QueueState& queue) {
    if (queue.config.is_paused) return;
    while (!queue.pending.empty() && !queue.idle_workers.empty()) {
        WorkerRecord* worker = queue.idle_workers.front();
        JobRecord* job = queue.pending.front();
        queue.pending.pop_front();
        ++job->attempt;
        job->state = p::JobState::running;
        job->lease_holder = worker;
        worker->leases.push_back(job);
        ++queue.in_flight;
        if (worker->outgoing.empty()) with_outgoing_.push_back(worker);
        worker->outgoing.push_back(job);
        if (!worker->can_take_jobs()) {
            unlist_idle(*worker);
        } else {
            // Least recently used first: the worker that just got a job goes to the back.
            for (std::size_t i = 0; i < worker->served.size(); ++i) {
                if (worker->served[i] == &queue) {
                    queue.idle_workers.splice(queue.idle_workers.end(), queue.idle_workers,
                                              worker->idle_positions[i]);
                }
            }
        }
        if (worker->outgoing.size() >= std::max<std::uint32_t>(worker->batch, 1)) send_outgoing(*worker);
    }
    // Each worker's jobs of this dispatch go out together (protocol.md §5.25). Jobs that could not
    // be sent are back at the head of this queue: another worker may take them.
    bool is_requeued = false;
    for (std::size_t i = 0; i < with_outgoing_.size(); ++i) {
        WorkerRecord* worker = with_outgoing_[i];
        if (worker != nullptr && !worker->outgoing.empty() && !send_outgoing(*worker)) is_requeued = true;
    }
    with_outgoing_.clear();
    if (is_requeued) mark_dirty(queue);
}

bool Scheduler::send_outgoing(WorkerRecord& worker) {
    auto& jobs = worker.outgoing;
    p::SendStatus status;
    if (jobs.size() == 1) {
        JobRecord* job = jobs.front();
        status = send_to_worker(worker.routing_id, frames_of(p::Job{std::string(job->id()), job->queue->name,
                                                                    job->attempt, job->payload_message()}));
    } else {
        p::Jobs batch;
        batch.jobs.reserve(jobs.size());
        for (JobRecord* job : jobs) {
            batch.jobs.push_back(
                p::Job{std::string(job->id()), job->queue->name, job->attempt, job->payload_message()});
        }
        status = send_to_worker(worker.routing_id, frames_of(std::move(batch)));
    }
    if (status == p::SendStatus::sent) {
        for (JobRecord* job : jobs) {
            ++counters_.jobs_dispatched;
            if (journal_ != nullptr) journal(JournalDispatched{std::string(job->id()), job->attempt});
            const auto& timeout_ms = job->details().timeout_ms;
            const auto timeout = timeout_ms ? std::chrono::milliseconds(*timeout_ms) : job->queue->config.timeout;
            if (timeout.count() > 0) job->writable_details().lease_timer = lease_timers_.add(dispatch_now_ + timeout, job);
        }
        jobs.clear();
        return true;
    }
    // Not delivered: undo the leases so the jobs are exactly as they were, at the heads of their
    // queues and in their order.
    for (auto it = jobs.rbegin(); it != jobs.rend(); ++it) {
        JobRecord* job = *it;
        worker.leases.erase(job);
        --job->attempt;
        job->state = p::JobState::pending;
        job->lease_holder = nullptr;
        --job->queue->in_flight;
        job->queue->pending.push_front(job);
    }
    jobs.clear();
    if (status == p::SendStatus::would_block) {
        log_->warn("worker congested worker={} held={}", worker.name, worker.leases.size());
        worker.is_congested = true;
        if (worker.is_listed) unlist_idle(worker);
    } else {
        // dispatch() still lists the workers it gave jobs to: this one is about to be destroyed.
        std::replace(with_outgoing_.begin(), with_outgoing_.end(), &worker, static_cast<WorkerRecord*>(nullptr));
        remove_worker(worker, "unreachable", dispatch_now_);
    }
    return false;
}

void Scheduler::list_idle(WorkerRecord& worker) {
    worker.idle_positions.clear();
    for (QueueState* queue : worker.served) {
        if (worker.parked_nodes.empty()) worker.parked_nodes.push_back(&worker);
        queue->idle_workers.splice(queue->idle_workers.end(), worker.parked_nodes, worker.parked_nodes.begin());
        worker.idle_positions.push_back(std::prev(queue->idle_workers.end()));
        if (!queue->pending.empty()) mark_dirty(*queue);
    }
    worker.is_listed = true;
}

void Scheduler::unlist_idle(WorkerRecord& worker) {
    for (std::size_t i = 0; i < worker.served.size() && i < worker.idle_positions.size(); ++i) {
        worker.parked_nodes.splice(worker.parked_nodes.end(), worker.served[i]->idle_workers,
                                   worker.idle_positions[i]);
    }
    worker.idle_positions.clear();
    worker.is_listed = false;
}

void Scheduler::refresh_listing(WorkerRecord& worker) {
    if (worker.can_take_jobs() && !worker.is_listed) {
        list_idle(worker);
    } else if (!worker.can_take_jobs() && worker.is_listed) {
        unlist_idle(worker);
    }
}

// ---- timers and shutdown ---------------------------------------------------------------

void Scheduler::tick(TimePoint now) {
    dispatch_now_ = now;
    counters_.results_expired += results_->expire(now);
    const auto silence_limit = options_.heartbeat_interval * options_.liveness;
    std::vector<std::pair<RoutingId, const char*>> dead;
    for (auto& [routing_id, worker] : workers_) {
        if (now - worker.last_heard >= silence_limit) {
            dead.emplace_back(routing_id, "heartbeat_timeout");
            continue;
        }
        if (send_to_worker(routing_id, frames_of(heartbeat_message())) == p::SendStatus::host_unreachable) {
            dead.emplace_back(routing_id, "connection_lost");
        }
    }
    for (const auto& [routing_id, reason] : dead) {
        auto it = workers_.find(routing_id);
        if (it != workers_.end()) remove_worker(it->second, reason, now);
    }
    for (auto& [name, queue] : queues_) expire_dead(queue, now);
    dispatch_dirty(now);
}

void Scheduler::shut_down() {
    is_shutting_down_ = true;
    for (auto& [routing_id, worker] : workers_) {
        send_to_worker(routing_id, frames_of(p::Disconnect{"broker shutting down"}));
    }
    log_->info("shutdown workers={} pending_jobs={} results={}", workers_.size(), jobs_->size(), results_->size());
}

// ---- reporting -------------------------------------------------------------------------

p::StatsReply Scheduler::stats(TimePoint now) const {
    p::StatsReply reply;
    for (const auto& [name, queue] : queues_) {
        reply.queues.push_back({name, queue.pending.size(), queue.in_flight, queue.done, queue.failed, queue.delayed,
                                queue.dead.size(), queue.config.is_paused});
    }
    std::sort(reply.queues.begin(), reply.queues.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    for (const auto& [routing_id, worker] : workers_) {
        const auto silent = std::chrono::duration_cast<std::chrono::milliseconds>(now - worker.last_heard);
        reply.workers.push_back({worker.name, worker.queues, worker.capacity,
                                 static_cast<std::uint32_t>(worker.leases.size()),
                                 static_cast<std::uint64_t>(std::max<std::int64_t>(0, silent.count())),
                                 worker.is_draining, worker.done, worker.failed});
    }
    std::sort(reply.workers.begin(), reply.workers.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    reply.counters = counters_.to_map();
    reply.counters["results_kept"] = results_->size();
    reply.counters["results_evicted"] = results_->evicted();
    return reply;
}

std::optional<JobSnapshot> Scheduler::find_job(const std::string& id) const {
    if (const JobRecord* job = jobs_->find(id)) {
        return JobSnapshot{job->queue->name, job->state,           job->attempt, job->lease_holder ? job->lease_holder->name : "",
                           job->priority,    job->details().errors, job->details().progress};
    }
    if (const KeptResult* ended = results_->find(id)) {
        return JobSnapshot{*ended->queue, ended->state, ended->attempt, {}, ended->priority, ended->errors(), {}};
    }
    return std::nullopt;
}

std::size_t Scheduler::pending_count(const std::string& queue) const {
    auto it = queues_.find(queue);
    return it == queues_.end() ? 0 : it->second.pending.size();
}

// ---- sending ---------------------------------------------------------------------------

void Scheduler::send_to_producer(const RoutingId& producer, p::Frames frames) {
    if (outbox_.to_producer(producer, frames) != p::SendStatus::sent) {
        // The producer's connection is gone or not reading; results stay in the store for STATUS.
        ++counters_.results_undeliverable;
    }
}

void Scheduler::send_error_to_producer(const RoutingId& producer, p::ErrorCode code, std::string message,
                                       std::string id, std::string command) {
    send_to_producer(producer, frames_of(p::Error{code, std::move(message), std::move(id), std::move(command)}));
}

void Scheduler::send_to_producer_when_durable(const RoutingId& producer, p::Frames frames) {
    if (outbox_.to_producer_when_durable(producer, std::move(frames)) != p::SendStatus::sent) {
        ++counters_.results_undeliverable;
    }
}

void Scheduler::journal(const JournalRecord& record) {
    if (journal_ != nullptr) journal_->append(record);
}

std::uint64_t Scheduler::wall_ms_at(TimePoint at, TimePoint now) const {
    const auto wall = std::chrono::duration_cast<std::chrono::milliseconds>(wall_clock_().time_since_epoch()) +
                      std::chrono::duration_cast<std::chrono::milliseconds>(at - now);
    return static_cast<std::uint64_t>(std::max<std::int64_t>(1, wall.count()));
}

Scheduler::TimePoint Scheduler::steady_at(std::uint64_t wall_ms, TimePoint now) const {
    const auto wall_now = std::chrono::duration_cast<std::chrono::milliseconds>(wall_clock_().time_since_epoch());
    return now + (std::chrono::milliseconds(static_cast<std::int64_t>(wall_ms)) - wall_now);
}

p::SendStatus Scheduler::send_to_worker(const RoutingId& worker, p::Frames frames) {
    return outbox_.to_worker(worker, frames);
}

p::Heartbeat Scheduler::heartbeat_message() const {
    // `batch`: this broker reads DONES of up to kMaxBatchEntries (protocol.md §5.13).
    return p::Heartbeat{static_cast<std::uint32_t>(options_.heartbeat_interval.count()), options_.liveness,
                        p::kMaxBatchEntries};
}

}  // namespace corsair::broker
