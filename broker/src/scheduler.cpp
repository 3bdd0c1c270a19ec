#include "corsair/broker/scheduler.hpp"

#include <spdlog/fmt/ranges.h>

#include <algorithm>
#include <vector>

#include "job_record.hpp"
#include "queue_state.hpp"
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
        {"stale_completions", stale_completions},
        {"workers_joined", workers_joined},
        {"workers_dead", workers_dead},
        {"workers_disconnected", workers_disconnected},
        {"malformed_messages", malformed_messages},
        {"unexpected_commands", unexpected_commands},
        {"results_undeliverable", results_undeliverable},
        {"results_expired", results_expired},
    };
}

namespace {

zmq::message_t share(zmq::message_t& bytes) {
    // zmq_msg_copy shares the buffer of a large message (reference count) instead of copying it.
    zmq::message_t shared;
    shared.copy(bytes);
    return shared;
}

template <class T>
p::Frames frames_of(T&& message) {
    return p::encode(std::forward<T>(message));
}

}  // namespace

Scheduler::Scheduler(const BrokerOptions& options, Outbox& outbox, std::shared_ptr<spdlog::logger> log)
    : options_(options),
      outbox_(outbox),
      log_(std::move(log)),
      results_(std::make_unique<ResultStore>(options.result_ttl, options.max_result_bytes)) {}

Scheduler::~Scheduler() = default;

// ---- producers -------------------------------------------------------------------------

void Scheduler::on_producer_message(const RoutingId& producer, p::Message&& message, TimePoint now) {
    if (auto* submit_message = std::get_if<p::Submit>(&message)) {
        submit(producer, std::move(*submit_message));
    } else if (auto* status = std::get_if<p::StatusRequest>(&message)) {
        answer_status(producer, status->id);
    } else if (std::holds_alternative<p::StatsRequest>(message)) {
        send_to_producer(producer, frames_of(stats(now)));
    } else {
        ++counters_.unexpected_commands;
        log_->warn("unexpected command on producer socket command={}", p::to_string(p::command_of(message)));
        send_error_to_producer(producer, p::ErrorCode::unexpected_command,
                               std::string(p::to_string(p::command_of(message))) + " is not a producer command");
    }
    dispatch_dirty();
}

void Scheduler::submit(const RoutingId& producer, p::Submit&& message) {
    if (is_shutting_down_) {
        send_error_to_producer(producer, p::ErrorCode::shutting_down, "broker is shutting down", message.id);
        return;
    }
    // protocol.md §Idempotent submission: a known id never makes a second job.
    if (auto it = jobs_.find(message.id); it != jobs_.end()) {
        ++counters_.duplicate_submits;
        if (message.wants_result) it->second.reply_to = producer;
        send_to_producer(producer, frames_of(p::Accepted{message.id, true}));
        return;
    }
    if (const auto* ended = results_->find(message.id)) {
        ++counters_.duplicate_submits;
        send_to_producer(producer, frames_of(p::Accepted{message.id, true}));
        if (message.wants_result) {
            auto result = const_cast<EndedJob*>(ended);  // share() needs a mutable message
            send_to_producer(producer, frames_of(p::JobResult{message.id, ended->state, ended->attempt, ended->error,
                                                              share(result->result)}));
        }
        return;
    }
    auto& queue = queue_named(message.queue);
    auto [it, inserted] = jobs_.try_emplace(message.id);
    JobRecord& job = it->second;
    job.id = message.id;
    job.queue = message.queue;
    job.payload = std::move(message.payload);
    job.sequence = next_sequence_++;
    if (message.wants_result) job.reply_to = producer;
    queue.pending.push_back(&job);
    mark_dirty(queue);
    ++counters_.jobs_submitted;
    log_->debug("submitted job={} queue={}", job.id, job.queue);
    send_to_producer(producer, frames_of(p::Accepted{message.id, false}));
}

void Scheduler::answer_status(const RoutingId& producer, const std::string& id) {
    if (auto it = jobs_.find(id); it != jobs_.end()) {
        const JobRecord& job = it->second;
        p::StatusReply reply{id, job.queue, job.state, job.attempt, {}, {}, {}};
        if (job.lease_holder != nullptr) reply.worker = job.lease_holder->name;
        send_to_producer(producer, frames_of(std::move(reply)));
        return;
    }
    if (const auto* ended = results_->find(id)) {
        auto* mutable_ended = const_cast<EndedJob*>(ended);
        send_to_producer(producer, frames_of(p::StatusReply{id, ended->queue, ended->state, ended->attempt, {},
                                                            ended->error, share(mutable_ended->result)}));
        return;
    }
    send_error_to_producer(producer, p::ErrorCode::unknown_job, "no job with this id (never submitted, or expired)",
                           id);
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
        dispatch_dirty();
        return;
    }
    auto found = workers_.find(routing_id);
    if (found == workers_.end()) {
        // protocol.md §Leases: a worker we declared dead (or that never said READY) holds no lease.
        if (std::holds_alternative<p::Disconnect>(message)) return;
        if (std::holds_alternative<p::Done>(message) || std::holds_alternative<p::Fail>(message)) {
            ++counters_.stale_completions;
            log_->info("discarded completion from unknown worker command={}", p::to_string(p::command_of(message)));
        }
        send_to_worker(routing_id, frames_of(p::Error{p::ErrorCode::unknown_worker, "send READY first", {}}));
        return;
    }
    WorkerRecord& worker = found->second;
    worker.last_heard = now;
    if (worker.is_congested) {
        worker.is_congested = false;
        refresh_listing(worker);
    }
    if (auto* done = std::get_if<p::Done>(&message)) {
        complete(worker, done->id, done->attempt, true, std::move(done->payload), {});
    } else if (auto* fail = std::get_if<p::Fail>(&message)) {
        complete(worker, fail->id, fail->attempt, false, {}, std::move(fail->error));
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
        remove_worker(worker, "disconnect");
    } else {
        ++counters_.unexpected_commands;
        log_->warn("unexpected command on worker socket worker={} command={}", worker.name,
                   p::to_string(p::command_of(message)));
        send_to_worker(routing_id, frames_of(p::Error{p::ErrorCode::unexpected_command,
                                                      std::string(p::to_string(p::command_of(message))) +
                                                          " is not a worker command",
                                                      {}}));
    }
    dispatch_dirty();
}

void Scheduler::on_malformed_worker_message(const RoutingId& worker, const p::DecodeError& error) {
    ++counters_.malformed_messages;
    log_->warn("malformed message peer=worker code={} detail={}", p::to_string(error.code), error.detail);
    send_to_worker(worker, frames_of(p::Error{error.code, error.detail, {}}));
}

void Scheduler::register_worker(const RoutingId& routing_id, p::Ready&& ready, TimePoint now) {
    std::vector<std::string> served;
    for (auto& queue : ready.queues) {
        if (std::find(served.begin(), served.end(), queue) == served.end()) served.push_back(std::move(queue));
    }
    auto [it, is_new] = workers_.try_emplace(routing_id);
    WorkerRecord& worker = it->second;
    if (worker.is_listed) unlist_idle(worker);
    worker.routing_id = routing_id;
    worker.name = ready.name.empty() ? "anonymous" : ready.name;
    worker.queues = std::move(served);
    worker.capacity = ready.capacity;
    worker.last_heard = now;
    worker.is_draining = false;
    worker.is_congested = false;
    for (const auto& queue : worker.queues) queue_named(queue);
    if (is_new) {
        ++counters_.workers_joined;
        log_->info("worker joined worker={} capacity={} queues={}", worker.name, worker.capacity,
                   fmt::join(worker.queues, ","));
    } else {
        log_->info("worker announced again worker={} capacity={}", worker.name, worker.capacity);
    }
    // The first heartbeat tells the worker our interval and liveness (protocol.md §Heartbeats).
    if (send_to_worker(routing_id, frames_of(heartbeat_message())) == p::SendStatus::host_unreachable) {
        remove_worker(worker, "unreachable");
        return;
    }
    refresh_listing(worker);
}

void Scheduler::complete(WorkerRecord& worker, const std::string& id, std::uint32_t attempt, bool succeeded,
                         zmq::message_t result, std::string error) {
    auto it = jobs_.find(id);
    // protocol.md §Leases: only the holder of the current lease (id, attempt) may end a job.
    if (it == jobs_.end() || it->second.state != p::JobState::running || it->second.attempt != attempt ||
        it->second.lease_holder != &worker) {
        ++counters_.stale_completions;
        log_->info("discarded stale completion job={} attempt={} worker={}", id, attempt, worker.name);
        return;
    }
    JobRecord& job = it->second;
    QueueState& queue = queue_named(job.queue);
    worker.leases.erase(&job);
    --queue.in_flight;
    EndedJob ended;
    ended.queue = job.queue;
    ended.state = succeeded ? p::JobState::done : p::JobState::failed;
    ended.attempt = attempt;
    ended.error = std::move(error);
    ended.result = std::move(result);
    ended.ended_at = worker.last_heard;
    if (succeeded) {
        ++counters_.jobs_done;
        ++queue.done;
        ++worker.done;
        log_->debug("done job={} attempt={} worker={}", id, attempt, worker.name);
    } else {
        ++counters_.jobs_failed;
        ++queue.failed;
        ++worker.failed;
        log_->warn("failed job={} attempt={} worker={} error={}", id, attempt, worker.name, ended.error);
    }
    if (!job.reply_to.empty()) {
        send_to_producer(job.reply_to,
                         frames_of(p::JobResult{id, ended.state, attempt, ended.error, share(ended.result)}));
    }
    results_->add(id, std::move(ended));
    jobs_.erase(it);
    refresh_listing(worker);
}

void Scheduler::requeue_leases(WorkerRecord& worker) {
    std::vector<JobRecord*> held(worker.leases.begin(), worker.leases.end());
    // Pushing to the head in reverse submission order keeps the original FIFO order at the head.
    std::sort(held.begin(), held.end(), [](const JobRecord* a, const JobRecord* b) { return a->sequence > b->sequence; });
    for (JobRecord* job : held) {
        QueueState& queue = queue_named(job->queue);
        job->state = p::JobState::pending;
        job->lease_holder = nullptr;
        --queue.in_flight;
        queue.pending.push_front(job);
        mark_dirty(queue);
        ++counters_.jobs_requeued;
        log_->warn("requeued job={} attempt={} worker={}", job->id, job->attempt, worker.name);
    }
    worker.leases.clear();
}

void Scheduler::remove_worker(WorkerRecord& worker, const char* reason) {
    if (worker.is_listed) unlist_idle(worker);
    const std::size_t held = worker.leases.size();
    requeue_leases(worker);
    if (std::string_view(reason) != "disconnect") {
        ++counters_.workers_dead;
        log_->info("worker died worker={} reason={} requeued={}", worker.name, reason, held);
    }
    const RoutingId routing_id = worker.routing_id;
    workers_.erase(routing_id);
}

// ---- dispatch --------------------------------------------------------------------------

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

void Scheduler::dispatch_dirty() {
    // dispatch() can mark other queues dirty (a vanished worker's jobs): loop until settled.
    while (!dirty_.empty()) {
        QueueState* queue = dirty_.back();
        dirty_.pop_back();
        queue->is_dirty = false;
        dispatch(*queue);
    }
}

void Scheduler::dispatch(QueueState& queue) {
    while (!queue.pending.empty() && !queue.idle_workers.empty()) {
        WorkerRecord* worker = queue.idle_workers.front();
        JobRecord* job = queue.pending.front();
        queue.pending.pop_front();
        ++job->attempt;
        job->state = p::JobState::running;
        job->lease_holder = worker;
        worker->leases.insert(job);
        ++queue.in_flight;
        const auto status =
            send_to_worker(worker->routing_id, frames_of(p::Job{job->id, job->queue, job->attempt, share(job->payload)}));
        if (status == p::SendStatus::sent) {
            ++counters_.jobs_dispatched;
            if (!worker->can_take_jobs()) {
                unlist_idle(*worker);
            } else {
                // Least recently used first: the worker that just got a job goes to the back.
                for (std::size_t i = 0; i < worker->queues.size(); ++i) {
                    if (worker->queues[i] == queue.name) {
                        queue.idle_workers.splice(queue.idle_workers.end(), queue.idle_workers,
                                                  worker->idle_positions[i]);
                    }
                }
            }
            continue;
        }
        // Not delivered: undo the lease so the job is exactly as it was, at the head.
        worker->leases.erase(job);
        --job->attempt;
        job->state = p::JobState::pending;
        job->lease_holder = nullptr;
        --queue.in_flight;
        queue.pending.push_front(job);
        if (status == p::SendStatus::would_block) {
            log_->warn("worker congested worker={} held={}", worker->name, worker->leases.size());
            worker->is_congested = true;
            unlist_idle(*worker);
        } else {
            remove_worker(*worker, "unreachable");
        }
    }
}

void Scheduler::list_idle(WorkerRecord& worker) {
    worker.idle_positions.clear();
    for (const auto& name : worker.queues) {
        QueueState& queue = queue_named(name);
        queue.idle_workers.push_back(&worker);
        worker.idle_positions.push_back(std::prev(queue.idle_workers.end()));
        if (!queue.pending.empty()) mark_dirty(queue);
    }
    worker.is_listed = true;
}

void Scheduler::unlist_idle(WorkerRecord& worker) {
    for (std::size_t i = 0; i < worker.queues.size() && i < worker.idle_positions.size(); ++i) {
        queue_named(worker.queues[i]).idle_workers.erase(worker.idle_positions[i]);
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
        if (it != workers_.end()) remove_worker(it->second, reason);
    }
    dispatch_dirty();
}

void Scheduler::shut_down() {
    is_shutting_down_ = true;
    for (auto& [routing_id, worker] : workers_) {
        send_to_worker(routing_id, frames_of(p::Disconnect{"broker shutting down"}));
    }
    log_->info("shutdown workers={} pending_jobs={} results={}", workers_.size(), jobs_.size(), results_->size());
}

// ---- reporting -------------------------------------------------------------------------

p::StatsReply Scheduler::stats(TimePoint now) const {
    p::StatsReply reply;
    for (const auto& [name, queue] : queues_) {
        reply.queues.push_back({name, queue.pending.size(), queue.in_flight, queue.done, queue.failed});
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
    if (auto it = jobs_.find(id); it != jobs_.end()) {
        const JobRecord& job = it->second;
        return JobSnapshot{job.queue, job.state, job.attempt, job.lease_holder ? job.lease_holder->name : ""};
    }
    if (const auto* ended = results_->find(id)) return JobSnapshot{ended->queue, ended->state, ended->attempt, {}};
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
                                       std::string id) {
    send_to_producer(producer, frames_of(p::Error{code, std::move(message), std::move(id)}));
}

p::SendStatus Scheduler::send_to_worker(const RoutingId& worker, p::Frames frames) {
    return outbox_.to_worker(worker, frames);
}

p::Heartbeat Scheduler::heartbeat_message() const {
    return p::Heartbeat{static_cast<std::uint32_t>(options_.heartbeat_interval.count()), options_.liveness};
}

}  // namespace corsair::broker
