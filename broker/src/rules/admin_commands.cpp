#include "admin_commands.hpp"

#include <algorithm>

#include "corsair/protocol/text.hpp"

// The release STATS reports; CMake passes the project's version.
#ifndef CORSAIR_VERSION
#define CORSAIR_VERSION "unknown"
#endif

namespace corsair::broker {

namespace p = corsair::protocol;

namespace {

std::uint64_t milliseconds_of(std::chrono::milliseconds duration) {
    return static_cast<std::uint64_t>(std::max<std::int64_t>(0, duration.count()));
}

std::string state_text(JobState state) { return std::string(p::to_string(wire_state(state))); }

bool changes_settings(const p::QueueSettings& s) {
    return s.is_paused || s.max_length || s.retry.max_attempts || s.retry.backoff_ms || s.retry.backoff_max_ms ||
           s.retry.backoff_jitter_pct || s.timeout_ms || s.dead_max_count || s.dead_max_age_ms;
}

}  // namespace

QueueState* AdminCommands::existing_queue(const RoutingId& producer, const std::string& name, const char* command) {
    if (QueueState* queue = queues_.find(name)) return queue;
    replies_.send_error(producer, p::ErrorCode::unknown_queue,
                        "no queue named " + p::printable(name, p::kMaxLoggedTextBytes) +
                            " (a QUEUE request with create makes one; SUBMIT makes one with the defaults)",
                        name, command);
    return nullptr;
}

void AdminCommands::status(const RoutingId& producer, const p::StatusRequest& request, TimePoint now) {
    const std::string& id = request.id;
    if (JobRecord* job = jobs_.find(id)) {
        status_of_live(producer, *job, request.wants_payload, now);
    } else if (const KeptResult* ended = results_.find(id)) {
        status_of_ended(producer, id, *ended, request.wants_payload, now);
    } else {
        replies_.send_error(producer, p::ErrorCode::unknown_job, "no job with this id (never submitted, or expired)", id,
                            "STATUS");
    }
}

void AdminCommands::status_of_live(const RoutingId& producer, JobRecord& job, bool wants_payload, TimePoint now) {
    const JobDetails& details = job.details();
    p::StatusReply reply;
    reply.id = job.id();
    reply.queue = job.queue->name;
    reply.state = wire_state(job.state);
    reply.attempt = job.attempt;
    reply.counted_attempts = job.attempts_this_round();
    if (job.lease_holder != nullptr) {
        reply.worker = job.lease_holder->name;
        reply.is_held_ready = job.lease_holder->holds_ready(job);
    }
    reply.error = details.last_error;
    reply.priority = job.priority;
    reply.max_attempts = max_attempts_of(job);
    reply.progress = details.progress;
    reply.progress_message = details.progress_message;
    if (job.state == JobState::delayed && details.ready_at > now) {
        reply.ready_in_ms = static_cast<std::uint64_t>(
            std::chrono::ceil<std::chrono::milliseconds>(details.ready_at - now).count());
    }
    reply.errors = details.errors;
    reply.broker_instance = replies_.instance();
    reply.created_ms = listing_.wall_ms(job.created_at, now);
    if (job.state == JobState::running) reply.started_ms = listing_.wall_ms(job.state_since, now);
    if (wants_payload) {
        reply.payload = job.payload_message();
        reply.holds_job_payload = true;
    }
    replies_.send(producer, p::encode(std::move(reply)));
}

void AdminCommands::status_of_ended(const RoutingId& producer, const std::string& id, const KeptResult& ended,
                                    bool wants_payload, TimePoint now) {
    if (wants_payload) {
        replies_.send_error(producer, p::ErrorCode::wrong_state,
                            "job " + std::string(p::to_string(ended.state)) +
                                "; the broker keeps a job's payload only until the job ends",
                            id, "STATUS");
        return;
    }
    p::StatusReply reply;
    reply.id = id;
    reply.queue = *ended.queue;
    reply.state = ended.state;
    reply.attempt = ended.attempt;
    reply.counted_attempts = ended.attempts_this_round();
    reply.error = ended.error();
    reply.payload = ended.result_message();
    reply.priority = ended.priority;
    reply.max_attempts = ended.max_attempts;
    reply.errors = ended.errors();
    reply.broker_instance = replies_.instance();
    if (ended.worker != nullptr) reply.worker = *ended.worker;
    reply.created_ms = listing_.wall_ms(ended.created_at, now);
    reply.started_ms = listing_.wall_ms(ended.started_at, now);
    reply.finished_ms = context_.wall.ms_at(ended.ended_at, now);
    replies_.send(producer, p::encode(std::move(reply)));
}

void AdminCommands::cancel_job(JobRecord& job, const char* reason, TimePoint now) {
    if (job.state == JobState::running) endings_.revoke_lease(job, "cancelled");
    ++context_.counters.jobs_cancelled;
    ++job.queue->events.cancelled;
    context_.journal.append(JournalCancelled{std::string(job.id()), context_.wall.ms_at(now, now)});
    endings_.end_job(job, p::JobState::cancelled, {}, reason, now, true);
}

void AdminCommands::cancel(const RoutingId& producer, const std::string& id, TimePoint now) {
    JobRecord* found = jobs_.find(id);
    if (found == nullptr) {
        if (const KeptResult* ended = results_.find(id)) {
            replies_.send_error(producer, p::ErrorCode::wrong_state,
                                "job already ended: " + std::string(p::to_string(ended->state)), id, "CANCEL");
        } else {
            replies_.send_error(producer, p::ErrorCode::unknown_job, "no job with this id", id, "CANCEL");
        }
        return;
    }
    JobRecord& job = *found;
    if (job.state == JobState::dead) {
        replies_.send_error(producer, p::ErrorCode::wrong_state,
                            "job is in the dead set of queue " + job.queue->name + "; purge removes it", id, "CANCEL");
        return;
    }
    context_.log.info("cancelled job={} queue={}", id, job.queue->name);
    cancel_job(job, "cancelled", now);
    replies_.send_when_durable(producer, p::encode(p::Ok{"CANCEL", id, 1}));
}

void AdminCommands::revive(JobRecord& job) {
    // A new round of attempts; attempt numbers keep growing so old leases stay fenced off.
    job.uncounted_attempts = job.attempt;
    if (!jobs_.hold_unique_key(job)) job.writable_details().unique_key.clear();
    ++context_.counters.dead_retried;
    context_.journal.append(JournalRetried{std::string(job.id())});
    context_.log.info("dead job retried job={} queue={}", job.id(), job.queue->name);
    states_.move_job(job, JobMove::pending());
}

void AdminCommands::retry(const RoutingId& producer, const p::Retry& request) {
    if (request.id.empty()) {
        QueueState* queue = existing_queue(producer, request.queue, "RETRY");
        if (queue == nullptr) return;
        std::uint64_t count = 0;
        for (; !queue->dead.empty(); ++count) revive(*queue->dead.front());
        replies_.send_when_durable(producer, p::encode(p::Ok{"RETRY", request.queue, count}));
        return;
    }
    JobRecord* found = jobs_.find(request.id);
    if (found == nullptr) {
        if (results_.find(request.id) != nullptr) {
            replies_.send_error(producer, p::ErrorCode::wrong_state,
                                "job is not in a dead set (it ended, or was purged or aged out)", request.id, "RETRY");
        } else {
            replies_.send_error(producer, p::ErrorCode::unknown_job, "no job with this id", request.id, "RETRY");
        }
        return;
    }
    if (found->state != JobState::dead) {
        replies_.send_error(producer, p::ErrorCode::wrong_state, "job is " + state_text(found->state) + ", not dead",
                            request.id, "RETRY");
        return;
    }
    revive(*found);
    replies_.send_when_durable(producer, p::encode(p::Ok{"RETRY", request.id, 1}));
}

void AdminCommands::drop_dead(JobRecord& job, TimePoint now) {
    ++context_.counters.dead_purged;
    context_.journal.append(JournalPurged{std::string(job.id())});
    endings_.end_job(job, p::JobState::failed, {}, job.details().last_error, now, false);
}

void AdminCommands::purge(const RoutingId& producer, const p::Purge& request, TimePoint now) {
    QueueState* queue = existing_queue(producer, request.queue, "PURGE");
    if (queue == nullptr) return;
    if (request.id.empty()) {
        std::uint64_t count = 0;
        for (; !queue->dead.empty(); ++count) drop_dead(*queue->dead.front(), now);
        context_.log.info("dead set purged queue={} jobs={}", request.queue, count);
        replies_.send_when_durable(producer, p::encode(p::Ok{"PURGE", request.queue, count}));
        return;
    }
    // protocol.md §5.18: unknown_job only when the broker has no record of this id in this queue;
    // a job it knows there (live, or ended and kept) that is not dead is wrong_state.
    JobRecord* found = jobs_.find(request.id);
    if (found == nullptr || found->queue->name != request.queue) {
        const KeptResult* ended = found == nullptr ? results_.find(request.id) : nullptr;
        if (ended != nullptr && *ended->queue == request.queue) {
            replies_.send_error(producer, p::ErrorCode::wrong_state,
                                "job already ended: " + std::string(p::to_string(ended->state)) +
                                    " (not in the dead set: it ended, or was purged or aged out)",
                                request.id, "PURGE");
        } else {
            replies_.send_error(producer, p::ErrorCode::unknown_job, "no job with this id in queue " + request.queue,
                                request.id, "PURGE");
        }
        return;
    }
    if (found->state != JobState::dead) {
        replies_.send_error(producer, p::ErrorCode::wrong_state, "job is " + state_text(found->state) + ", not dead",
                            request.id, "PURGE");
        return;
    }
    drop_dead(*found, now);
    replies_.send_when_durable(producer, p::encode(p::Ok{"PURGE", request.id, 1}));
}

p::DeadJob AdminCommands::dead_entry(const JobRecord& job, TimePoint now) const {
    const JobDetails& details = job.details();
    p::DeadJob entry;
    entry.id = job.id();
    entry.attempts = job.attempt;
    entry.died_ms_ago = milliseconds_of(std::chrono::duration_cast<std::chrono::milliseconds>(now - details.died_at));
    entry.payload_bytes = job.payload().size();
    entry.priority = job.priority;
    entry.errors = details.errors;
    entry.died_ms = context_.wall.ms_at(details.died_at, now);
    return entry;
}

void AdminCommands::list_dead(const RoutingId& producer, const p::DeadRequest& request, TimePoint now) {
    const QueueState* queue = existing_queue(producer, request.queue, "DEAD");
    if (queue == nullptr) return;
    p::DeadReply reply;
    reply.queue = request.queue;
    reply.total = queue->dead.size();
    // The body must stay decodable by any client, which takes frames of the default payload
    // limit at least (whatever --max-payload says): stop well before it; `total` says how many
    // more there are. Newest first: the jobs an operator looks for after an incident.
    const std::size_t budget_bytes = p::kDefaultMaxPayloadBytes / 2;
    std::size_t bytes = 0;
    for (const JobRecord* job = queue->dead.back(); job != nullptr; job = JobList::previous(job)) {
        if (reply.jobs.size() >= request.limit) break;
        std::size_t entry_bytes = 64 + job->id().size();
        for (const auto& e : job->details().errors) entry_bytes += 16 + e.error.size();
        if (bytes + entry_bytes > budget_bytes) break;
        bytes += entry_bytes;
        reply.jobs.push_back(dead_entry(*job, now));
    }
    replies_.send(producer, p::encode(std::move(reply)));
}

void AdminCommands::change_queue(const RoutingId& producer, const p::QueueSettings& request, TimePoint now) {
    QueueState* found = queues_.find(request.queue);
    const bool creates = found == nullptr;
    if (creates && !request.should_create) {
        existing_queue(producer, request.queue, "QUEUE");
        return;
    }
    if (creates && !queues_.fits(request.queue)) {
        ++context_.counters.queue_limit_refusals;
        replies_.send_error(producer, p::ErrorCode::too_many_queues, queues_.limit_text(request.queue), request.queue,
                            "QUEUE");
        return;
    }
    QueueState& queue = creates ? queues_.named(request.queue) : *found;
    p::QueueSettings reply = settings_of(queue);
    if (!creates && !changes_settings(request)) {
        // Reading the settings changes nothing: no journal record, no wait for the disk.
        replies_.send(producer, p::encode(std::move(reply)));
        return;
    }
    QueueConfig& c = queue.config;
    const bool was_paused = c.is_paused;
    apply(c, request);
    if (was_paused != c.is_paused) {
        context_.log.info("queue {} queue={}", c.is_paused ? "paused" : "resumed", p::quoted(queue.name));
        if (!c.is_paused) dirty_.mark(queue);
    }
    context_.journal.append(JournalQueueSettings{settings_of(queue)});
    endings_.expire_dead(queue, now);
    reply = settings_of(queue);
    reply.was_created = creates;
    replies_.send_when_durable(producer, p::encode(std::move(reply)));
}

void AdminCommands::list(const RoutingId& producer, const p::ListRequest& request, TimePoint now) {
    const QueueState* queue = existing_queue(producer, request.queue, "LIST");
    if (queue == nullptr) return;
    // As DEAD: the body stays well under the payload limit; `next` pages on.
    const std::size_t budget_bytes = context_.options.max_payload_bytes / 2;
    replies_.send(producer, p::encode(listing_.page(*queue, request, budget_bytes, now)));
}

void AdminCommands::clear(const RoutingId& producer, const p::Clear& request, TimePoint now) {
    QueueState* queue = existing_queue(producer, request.queue, "CLEAR");
    if (queue == nullptr) return;
    std::vector<JobRecord*> cleared;
    if (request.includes_pending && !queue->pending.empty()) {
        for (JobRecord* job = queue->pending.front(); job != nullptr; job = queue->pending.after(job)) {
            cleared.push_back(job);
        }
    }
    const std::size_t pending = cleared.size();
    if (request.includes_delayed) {
        jobs_.for_each([&](JobRecord* job) {
            if (job->queue == queue && job->state == JobState::delayed) cleared.push_back(job);
        });
    }
    for (JobRecord* job : cleared) cancel_job(*job, "purged from its queue", now);
    context_.log.info("queue cleared queue={} pending={} delayed={}", p::quoted(queue->name), pending,
                      cleared.size() - pending);
    replies_.send_when_durable(producer, p::encode(p::Ok{"CLEAR", request.queue, cleared.size()}));
}

void AdminCommands::delete_queue(const RoutingId& producer, const p::DeleteQueue& request, TimePoint now) {
    QueueState* queue = existing_queue(producer, request.queue, "DELETE_QUEUE");
    if (queue == nullptr) return;
    const std::uint64_t held = queue->pending.size() + queue->delayed + queue->in_flight + queue->dead.size();
    if (held > 0 && !request.is_forced) {
        replies_.send_error(producer, p::ErrorCode::wrong_state,
                            "queue " + p::printable(queue->name, p::kMaxLoggedTextBytes) + " holds " +
                                std::to_string(held) + " jobs (" + std::to_string(queue->pending.size()) +
                                " pending, " + std::to_string(queue->delayed) + " delayed, " +
                                std::to_string(queue->in_flight) + " running, " +
                                std::to_string(queue->dead.size()) + " failed); force deletes them too",
                            request.queue, "DELETE_QUEUE");
        return;
    }
    std::vector<JobRecord*> held_jobs;
    jobs_.for_each([&](JobRecord* job) {
        if (job->queue == queue) held_jobs.push_back(job);
    });
    std::sort(held_jobs.begin(), held_jobs.end(), [](const JobRecord* a, const JobRecord* b) { return a->sequence < b->sequence; });
    for (JobRecord* job : held_jobs) {
        if (job->state == JobState::dead) {
            drop_dead(*job, now);
        } else {
            cancel_job(*job, "its queue was deleted", now);
        }
    }
    std::size_t serving = 0;
    workers_.for_each([&](const WorkerRecord& worker) {
        serving += std::count(worker.served.begin(), worker.served.end(), queue) > 0 ? 1 : 0;
    });
    queues_.remove(*queue);
    context_.journal.append(JournalQueueDeleted{request.queue});
    // Workers that serve it stay connected; a SUBMIT or a worker's READY naming it makes it again.
    context_.log.info("queue deleted queue={} jobs={} workers_serving={}", p::quoted(request.queue), held_jobs.size(),
                      serving);
    replies_.send_when_durable(producer, p::encode(p::Ok{"DELETE_QUEUE", request.queue, held_jobs.size()}));
}

std::optional<std::uint64_t> AdminCommands::oldest_pending_ms(const QueueState& queue, TimePoint now) const {
    std::optional<TimePoint> oldest;
    queue.pending.for_each_head([&](const JobRecord& job) {
        if (job.state_since != kUnknownTime && (!oldest || job.state_since < *oldest)) oldest = job.state_since;
    });
    if (!oldest) return queue.pending.empty() ? std::nullopt : std::optional<std::uint64_t>(0);
    return milliseconds_of(std::chrono::duration_cast<std::chrono::milliseconds>(now - *oldest));
}

p::QueueStats AdminCommands::queue_stats(const QueueState& queue, TimePoint now) const {
    p::QueueStats stats{queue.name,    queue.pending.size(),    queue.in_flight,
                        queue.done,    queue.failed,            queue.delayed,
                        queue.dead.size(), queue.config.is_paused, oldest_pending_ms(queue, now)};
    const QueueEvents& events = queue.events;
    stats.submitted = events.submitted;
    stats.retried = events.retried;
    stats.requeued = events.requeued;
    stats.timed_out = events.timed_out;
    stats.cancelled = events.cancelled;
    // Only once something was counted: an idle queue's entry stays small, as a broker with
    // thousands of queues must fit STATS in max_payload_bytes (docs/protocol.md §5.7).
    if (events.wait.count() != 0) stats.wait = events.wait.to_wire();
    if (events.run.count() != 0) stats.run = events.run.to_wire();
    return stats;
}

p::StatsReply AdminCommands::stats(TimePoint now) const {
    p::StatsReply reply;
    queues_.for_each([&](const QueueState& queue) {
        reply.queues.push_back(queue_stats(queue, now));
    });
    std::sort(reply.queues.begin(), reply.queues.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    workers_.for_each([&](const WorkerRecord& worker) {
        const auto silent = std::chrono::duration_cast<std::chrono::milliseconds>(now - worker.last_heard);
        reply.workers.push_back({worker.name, worker.queues, worker.capacity,
                                 static_cast<std::uint32_t>(worker.leases.size()),
                                 static_cast<std::uint64_t>(std::max<std::int64_t>(0, silent.count())),
                                 worker.state == WorkerState::draining, worker.done, worker.failed, worker.address,
                                 worker.key, worker.prefetch, worker.ready_depth.depth(worker.prefetch)});
    });
    std::sort(reply.workers.begin(), reply.workers.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    reply.counters = context_.counters.to_map();
    reply.counters["results_kept"] = results_.size();
    reply.counters["results_evicted"] = results_.evicted();
    reply.max_payload_bytes = context_.options.max_payload_bytes;
    reply.uptime_ms = milliseconds_of(context_.wall.now_ms() - started_wall_);
    reply.version = CORSAIR_VERSION;
    reply.broker_instance = replies_.instance();
    if (const TimePoint ended = endings_.last_job_ended_at(); ended != kUnknownTime) {
        reply.last_job_ended_at_ms = context_.wall.ms_at(ended, now);
    }
    if (const auto journal = context_.journal.histograms()) {
        reply.journal_fsync = journal->fsync.to_wire();
        reply.journal_records_per_fsync = journal->records_per_fsync.to_wire();
    }
    return reply;
}

}  // namespace corsair::broker
