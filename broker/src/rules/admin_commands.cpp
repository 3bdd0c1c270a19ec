#include "admin_commands.hpp"

#include <algorithm>

namespace corsair::broker {

namespace p = corsair::protocol;

namespace {

std::uint64_t milliseconds_of(std::chrono::milliseconds duration) {
    return static_cast<std::uint64_t>(std::max<std::int64_t>(0, duration.count()));
}

std::string state_text(JobState state) { return std::string(p::to_string(wire_state(state))); }

}  // namespace

void AdminCommands::status(const RoutingId& producer, const std::string& id, TimePoint now) {
    if (const JobRecord* job = jobs_.find(id)) {
        status_of_live(producer, *job, now);
    } else if (const KeptResult* ended = results_.find(id)) {
        status_of_ended(producer, id, *ended);
    } else {
        replies_.send_error(producer, p::ErrorCode::unknown_job, "no job with this id (never submitted, or expired)", id,
                            "STATUS");
    }
}

void AdminCommands::status_of_live(const RoutingId& producer, const JobRecord& job, TimePoint now) {
    const JobDetails& details = job.details();
    p::StatusReply reply;
    reply.id = job.id();
    reply.queue = job.queue->name;
    reply.state = wire_state(job.state);
    reply.attempt = job.attempt;
    reply.counted_attempts = job.attempts_this_round();
    if (job.lease_holder != nullptr) reply.worker = job.lease_holder->name;
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
    replies_.send(producer, p::encode(std::move(reply)));
}

void AdminCommands::status_of_ended(const RoutingId& producer, const std::string& id, const KeptResult& ended) {
    p::StatusReply reply;
    reply.id = id;
    reply.queue = *ended.queue;
    reply.state = ended.state;
    reply.attempt = ended.attempt;
    reply.error = ended.error();
    reply.payload = ended.result_message();
    reply.priority = ended.priority;
    reply.max_attempts = ended.max_attempts;
    reply.errors = ended.errors();
    reply.broker_instance = replies_.instance();
    replies_.send(producer, p::encode(std::move(reply)));
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
    if (job.state == JobState::running) endings_.revoke_lease(job, "cancelled");
    ++context_.counters.jobs_cancelled;
    context_.log.info("cancelled job={} queue={}", id, job.queue->name);
    context_.journal.append(JournalCancelled{id, context_.wall.ms_at(now, now)});
    endings_.end_job(job, p::JobState::cancelled, {}, "cancelled", now, true);
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
        std::uint64_t count = 0;
        if (QueueState* queue = queues_.find(request.queue)) {
            for (; !queue->dead.empty(); ++count) revive(*queue->dead.front());
        }
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
    if (request.id.empty()) {
        std::uint64_t count = 0;
        if (QueueState* queue = queues_.find(request.queue)) {
            for (; !queue->dead.empty(); ++count) drop_dead(*queue->dead.front(), now);
        }
        context_.log.info("dead set purged queue={} jobs={}", request.queue, count);
        replies_.send_when_durable(producer, p::encode(p::Ok{"PURGE", request.queue, count}));
        return;
    }
    JobRecord* found = jobs_.find(request.id);
    if (found == nullptr || found->queue->name != request.queue) {
        replies_.send_error(producer, p::ErrorCode::unknown_job, "no job with this id in queue " + request.queue,
                            request.id, "PURGE");
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

p::DeadJob AdminCommands::dead_entry(const JobRecord& job, TimePoint now) {
    const JobDetails& details = job.details();
    p::DeadJob entry;
    entry.id = job.id();
    entry.attempts = job.attempt;
    entry.died_ms_ago = milliseconds_of(std::chrono::duration_cast<std::chrono::milliseconds>(now - details.died_at));
    entry.payload_bytes = job.payload().size();
    entry.priority = job.priority;
    entry.errors = details.errors;
    return entry;
}

void AdminCommands::list_dead(const RoutingId& producer, const p::DeadRequest& request, TimePoint now) {
    p::DeadReply reply;
    reply.queue = request.queue;
    if (const QueueState* queue = queues_.find(request.queue)) {
        reply.total = queue->dead.size();
        // The body must stay decodable by any client, which takes frames of the default payload
        // limit at least (whatever --max-payload says): stop well before it; `total` says how
        // many more there are.
        const std::size_t budget_bytes = p::kDefaultMaxPayloadBytes / 2;
        std::size_t bytes = 0;
        for (const JobRecord* job = queue->dead.front(); job != nullptr; job = job->next) {
            if (reply.jobs.size() >= request.limit) break;
            std::size_t entry_bytes = 64 + job->id().size();
            for (const auto& e : job->details().errors) entry_bytes += 16 + e.error.size();
            if (bytes + entry_bytes > budget_bytes) break;
            bytes += entry_bytes;
            reply.jobs.push_back(dead_entry(*job, now));
        }
    }
    replies_.send(producer, p::encode(std::move(reply)));
}

void AdminCommands::change_queue(const RoutingId& producer, const p::QueueSettings& request, TimePoint now) {
    if (!queues_.fits(request.queue)) {
        ++context_.counters.queue_limit_refusals;
        replies_.send_error(producer, p::ErrorCode::too_many_queues, queues_.limit_text(request.queue), request.queue,
                            "QUEUE");
        return;
    }
    QueueState& queue = queues_.named(request.queue);
    QueueConfig& c = queue.config;
    const bool was_paused = c.is_paused;
    apply(c, request);
    if (was_paused != c.is_paused) {
        context_.log.info("queue {} queue={}", c.is_paused ? "paused" : "resumed", queue.name);
        if (!c.is_paused) dirty_.mark(queue);
    }
    context_.journal.append(JournalQueueSettings{settings_of(queue)});
    endings_.expire_dead(queue, now);
    replies_.send_when_durable(producer, p::encode(settings_of(queue)));
}

p::StatsReply AdminCommands::stats(TimePoint now) const {
    p::StatsReply reply;
    queues_.for_each([&](const QueueState& queue) {
        reply.queues.push_back({queue.name, queue.pending.size(), queue.in_flight, queue.done, queue.failed,
                                queue.delayed, queue.dead.size(), queue.config.is_paused});
    });
    std::sort(reply.queues.begin(), reply.queues.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    workers_.for_each([&](const WorkerRecord& worker) {
        const auto silent = std::chrono::duration_cast<std::chrono::milliseconds>(now - worker.last_heard);
        reply.workers.push_back({worker.name, worker.queues, worker.capacity,
                                 static_cast<std::uint32_t>(worker.leases.size()),
                                 static_cast<std::uint64_t>(std::max<std::int64_t>(0, silent.count())),
                                 worker.state == WorkerState::draining, worker.done, worker.failed});
    });
    std::sort(reply.workers.begin(), reply.workers.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    reply.counters = context_.counters.to_map();
    reply.counters["results_kept"] = results_.size();
    reply.counters["results_evicted"] = results_.evicted();
    reply.max_payload_bytes = context_.options.max_payload_bytes;
    return reply;
}

}  // namespace corsair::broker
