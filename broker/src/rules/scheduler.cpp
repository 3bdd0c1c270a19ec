// The Scheduler as a router: each message goes to the part that owns its rule. The parts and
// what each owns are listed in docs/architecture.md.
#include "corsair/broker/scheduler.hpp"

#include <spdlog/fmt/ranges.h>

#include <algorithm>
#include <random>

#include "admin_commands.hpp"
#include "corsair/protocol/duration.hpp"
#include "dirty_queues.hpp"
#include "dispatcher.hpp"
#include "job_endings.hpp"
#include "job_journal.hpp"
#include "job_states.hpp"
#include "job_store.hpp"
#include "journal_replay.hpp"
#include "queue_registry.hpp"
#include "replies.hpp"
#include "result_store.hpp"
#include "scheduler_context.hpp"
#include "submissions.hpp"
#include "wall_time.hpp"
#include "worker_registry.hpp"

namespace corsair::broker {

namespace p = corsair::protocol;

namespace {

std::mt19937_64 random_from(std::uint64_t seed) {
    return std::mt19937_64(seed != 0 ? seed : std::random_device{}());
}

}  // namespace

// The parts, in the order they depend on each other.
struct Scheduler::Parts {
    Parts(Scheduler& scheduler, WallClock wall_clock, std::mt19937_64 random, std::uint64_t instance)
        : wall(std::move(wall_clock)),
          context{scheduler.options_, *scheduler.log_, scheduler.counters_, journal, wall},
          queues(scheduler.options_.max_queues, *scheduler.log_),
          workers(dirty, scheduler.options_.heartbeat_interval * scheduler.options_.liveness),
          states(dirty, workers),
          replies(scheduler.outbox_, journal, scheduler.counters_, instance),
          results(scheduler.options_.result_ttl, scheduler.options_.max_result_bytes),
          endings(context, jobs, states, workers, replies, results, scheduler.outbox_, std::move(random)),
          dispatcher(context, dirty, states, workers, endings, scheduler.outbox_),
          submissions(context, jobs, queues, states, replies, results),
          admin(context, jobs, queues, workers, states, endings, replies, results, dirty),
          replay(context, jobs, queues, states, endings, results) {}

    JobJournal journal;
    WallTime wall;
    SchedulerContext context;
    JobStore jobs;
    QueueRegistry queues;
    DirtyQueues dirty;
    WorkerRegistry workers;
    JobStates states;
    Replies replies;
    ResultStore results;
    JobEndings endings;
    Dispatcher dispatcher;
    Submissions submissions;
    AdminCommands admin;
    JournalReplay replay;
};

Scheduler::Scheduler(const BrokerOptions& options, Outbox& outbox, std::shared_ptr<spdlog::logger> log,
                     WallClock wall_clock)
    : options_(options), outbox_(outbox), log_(std::move(log)) {
    // The instance is drawn first, then the same generator jitters backoffs: seeded tests repeat.
    std::mt19937_64 random = random_from(options.random_seed);
    const std::uint64_t instance = std::uniform_int_distribution<std::uint64_t>(1, UINT64_MAX)(random);
    parts_ = std::make_unique<Parts>(*this, std::move(wall_clock), std::move(random), instance);
}

Scheduler::~Scheduler() = default;

void Scheduler::set_journal(JournalSink* journal) noexcept { parts_->journal.set_sink(journal); }
void Scheduler::on_journal_durable(std::uint64_t sequence) { parts_->replies.on_durable(sequence); }
void Scheduler::recover(const JournalRecord& record, TimePoint now) {
    parts_->states.set_time(now);
    parts_->replay.replay(record, now);
}
RecoveryCounts Scheduler::finish_recovery(TimePoint now) {
    parts_->states.set_time(now);
    return parts_->replay.finish(now);
}

std::size_t Scheduler::write_snapshot(std::string& out, TimePoint now,
                                      const std::function<void(std::string&)>& drain) const {
    return parts_->replay.write_snapshot(out, now, kSnapshotChunkBytes, drain);
}

std::uint64_t Scheduler::estimated_snapshot_bytes() const noexcept { return parts_->replay.estimated_snapshot_bytes(); }

// ---- producers -------------------------------------------------------------------------

void Scheduler::on_producer_message(const RoutingId& producer, p::Message&& message, TimePoint now) {
    parts_->states.set_time(now);
    AdminCommands& admin = parts_->admin;
    if (auto* submit = std::get_if<p::Submit>(&message)) {
        parts_->submissions.submit(producer, std::move(*submit), now);
    } else if (auto* status = std::get_if<p::StatusRequest>(&message)) {
        admin.status(producer, *status, now);
    } else if (std::holds_alternative<p::StatsRequest>(message)) {
        parts_->replies.send(producer, p::encode(admin.stats(now)));
    } else if (auto* cancel = std::get_if<p::Cancel>(&message)) {
        admin.cancel(producer, cancel->id, now);
    } else if (auto* retry = std::get_if<p::Retry>(&message)) {
        admin.retry(producer, *retry);
    } else if (auto* purge = std::get_if<p::Purge>(&message)) {
        admin.purge(producer, *purge, now);
    } else if (auto* dead = std::get_if<p::DeadRequest>(&message)) {
        admin.list_dead(producer, *dead, now);
    } else if (auto* settings = std::get_if<p::QueueSettings>(&message)) {
        admin.change_queue(producer, *settings, now);
    } else if (auto* list = std::get_if<p::ListRequest>(&message)) {
        admin.list(producer, *list, now);
    } else if (auto* clear = std::get_if<p::Clear>(&message)) {
        admin.clear(producer, *clear, now);
    } else if (auto* deletion = std::get_if<p::DeleteQueue>(&message)) {
        admin.delete_queue(producer, *deletion, now);
    } else {
        on_unexpected_producer_command(producer, p::command_of(message));
    }
    dispatch_unless_in_turn(now);
}

void Scheduler::on_unexpected_producer_command(const RoutingId& producer, p::Command command) {
    ++counters_.unexpected_commands;
    const std::string name(p::to_string(command));
    log_->warn("unexpected command on producer socket command={}", name);
    parts_->replies.send_error(producer, p::ErrorCode::unexpected_command, name + " is not a producer command", {},
                               name);
}

void Scheduler::on_malformed_producer_message(const RoutingId& producer, const p::DecodeError& error) {
    ++counters_.malformed_messages;
    log_->warn("malformed message peer=producer code={} detail={}", p::to_string(error.code), error.detail);
    parts_->replies.send_error(producer, error.code, error.detail);
}

// ---- workers ---------------------------------------------------------------------------

void Scheduler::on_worker_message(const RoutingId& routing_id, p::Message&& message, TimePoint now) {
    parts_->states.set_time(now);
    if (auto* ready = std::get_if<p::Ready>(&message)) {
        register_worker(routing_id, std::move(*ready), now);
    } else if (WorkerRecord* worker = parts_->workers.find(routing_id)) {
        on_known_worker_message(*worker, std::move(message), now);
    } else {
        answer_unknown_worker(routing_id, message);
        return;
    }
    dispatch_unless_in_turn(now);
}

// protocol.md §Leases: a worker we declared dead (or that never said READY) holds no lease.
void Scheduler::answer_unknown_worker(const RoutingId& routing_id, const p::Message& message) {
    if (std::holds_alternative<p::Disconnect>(message)) return;
    if (auto* dones = std::get_if<p::Dones>(&message)) {
        counters_.stale_completions += dones->done.size();
        log_->info("discarded completion from unknown worker command=DONES entries={}", dones->done.size());
    } else if (std::holds_alternative<p::Done>(message) || std::holds_alternative<p::Fail>(message)) {
        ++counters_.stale_completions;
        log_->info("discarded completion from unknown worker command={}", p::to_string(p::command_of(message)));
    }
    send_to_worker(routing_id, p::encode(p::Error{p::ErrorCode::unknown_worker, "send READY first", {}, {}}));
}

void Scheduler::on_known_worker_message(WorkerRecord& worker, p::Message&& message, TimePoint now) {
    parts_->workers.heard_from(worker, now);
    JobEndings& endings = parts_->endings;
    if (auto* done = std::get_if<p::Done>(&message)) {
        endings.complete(worker, done->id, done->attempt, true, std::move(done->payload), {}, false, now);
    } else if (auto* dones = std::get_if<p::Dones>(&message)) {
        // protocol.md §5.26: each entry is a DONE of its own, fenced on its own.
        for (auto& entry : dones->done) {
            endings.complete(worker, entry.id, entry.attempt, true, std::move(entry.payload), {}, false, now);
        }
    } else if (auto* fail = std::get_if<p::Fail>(&message)) {
        endings.complete(worker, fail->id, fail->attempt, false, {}, std::move(fail->error), fail->is_permanent, now);
    } else if (auto* progress = std::get_if<p::Progress>(&message)) {
        record_progress(worker, std::move(*progress));
    } else if (std::holds_alternative<p::Heartbeat>(message)) {
        // heard_from() is all a heartbeat changes.
    } else if (std::holds_alternative<p::Drain>(message)) {
        if (worker.state != WorkerState::draining) {
            log_->info("worker draining worker={} held={}", worker.name, worker.leases.size());
        }
        parts_->workers.move_worker(worker, WorkerState::draining);
    } else if (auto* disconnect = std::get_if<p::Disconnect>(&message)) {
        ++counters_.workers_disconnected;
        log_->info("worker left worker={} reason={} requeued={}", worker.name, disconnect->reason, worker.leases.size());
        endings.lose_worker(worker, "disconnect", now);
    } else {
        ++counters_.unexpected_commands;
        const std::string name(p::to_string(p::command_of(message)));
        log_->warn("unexpected command on worker socket worker={} command={}", worker.name, name);
        send_to_worker(worker.routing_id,
                       p::encode(p::Error{p::ErrorCode::unexpected_command, name + " is not a worker command", {}, name}));
    }
}

void Scheduler::on_malformed_worker_message(const RoutingId& worker, const p::DecodeError& error) {
    ++counters_.malformed_messages;
    log_->warn("malformed message peer=worker code={} detail={}", p::to_string(error.code), error.detail);
    send_to_worker(worker, p::encode(p::Error{error.code, error.detail, {}, {}}));
}

void Scheduler::register_worker(const RoutingId& routing_id, p::Ready&& ready, TimePoint now) {
    std::vector<std::string> queue_names;
    for (auto& queue : ready.queues) {
        if (std::find(queue_names.begin(), queue_names.end(), queue) == queue_names.end()) {
            queue_names.push_back(std::move(queue));
        }
    }
    QueueRegistry& queues = parts_->queues;
    if (!queues.fits(queue_names)) {
        ++counters_.queue_limit_refusals;
        log_->warn("worker refused: too many queues worker={} queues={}", ready.name, fmt::join(queue_names, ","));
        send_to_worker(routing_id, p::encode(p::Error{p::ErrorCode::too_many_queues,
                                                      "READY names queues the broker cannot create: it holds " +
                                                          std::to_string(queues.size()) + " queues, --max-queues " +
                                                          std::to_string(options_.max_queues),
                                                      {}, "READY"}));
        return;
    }
    std::vector<QueueState*> served;
    for (const auto& name : queue_names) served.push_back(&queues.named(name));
    auto [worker, is_new] = parts_->workers.announce(routing_id, ready.name.empty() ? "anonymous" : ready.name,
                                                     std::move(queue_names), std::move(served), ready.capacity,
                                                     ready.batch, now);
    if (is_new) {
        ++counters_.workers_joined;
        log_->info("worker joined worker={} capacity={} queues={}", worker->name, worker->capacity,
                   fmt::join(worker->queues, ","));
    } else {
        log_->info("worker announced again worker={} capacity={}", worker->name, worker->capacity);
    }
    // The first heartbeat tells the worker our interval and liveness (protocol.md §Heartbeats).
    if (send_to_worker(routing_id, p::encode(heartbeat_message())) == p::SendStatus::host_unreachable) {
        parts_->endings.lose_worker(*worker, "unreachable", now);
        return;
    }
    parts_->workers.refresh_listing(*worker);
}

void Scheduler::record_progress(WorkerRecord& worker, p::Progress&& progress) {
    JobRecord* found = parts_->jobs.find(progress.id);
    if (found == nullptr || found->lease_holder != &worker || found->attempt != progress.attempt) {
        log_->debug("discarded progress job={} attempt={} worker={}", progress.id, progress.attempt, worker.name);
        return;
    }
    ++counters_.progress_reports;
    JobDetails& details = found->writable_details();
    details.progress = progress.percent;
    details.progress_message = progress.message;
    parts_->replies.send_progress(*found, std::move(progress));
}

// ---- turns, timers and shutdown ----------------------------------------------------------

void Scheduler::begin_turn() noexcept {
    is_in_turn_ = true;
    parts_->replies.begin_turn();
}

void Scheduler::end_turn(TimePoint now) {
    parts_->states.set_time(now);
    is_in_turn_ = false;
    parts_->replies.end_turn();
    parts_->dispatcher.dispatch_dirty(now);
}

void Scheduler::dispatch_unless_in_turn(TimePoint now) {
    if (!is_in_turn_) parts_->dispatcher.dispatch_dirty(now);  // else end_turn() does it
}

void Scheduler::tick(TimePoint now) {
    parts_->states.set_time(now);
    counters_.results_expired += parts_->results.expire(now);
    WorkerRegistry& workers = parts_->workers;
    std::vector<std::pair<RoutingId, const char*>> dead;
    workers.for_each([&](const WorkerRecord& worker) {
        if (workers.is_silent(worker, now)) {
            dead.emplace_back(worker.routing_id, "heartbeat_timeout");
        } else if (send_to_worker(worker.routing_id, p::encode(heartbeat_message())) ==
                   p::SendStatus::host_unreachable) {
            dead.emplace_back(worker.routing_id, "connection_lost");
        }
    });
    for (const auto& [routing_id, reason] : dead) {
        if (WorkerRecord* worker = workers.find(routing_id)) parts_->endings.lose_worker(*worker, reason, now);
    }
    parts_->queues.for_each([&](QueueState& queue) { parts_->endings.expire_dead(queue, now); });
    parts_->dispatcher.dispatch_dirty(now);
}

std::optional<Scheduler::TimePoint> Scheduler::next_deadline() const {
    auto jobs = parts_->states.next_deadline();
    auto accepts = parts_->replies.next_due();
    if (jobs && accepts) return std::min(*jobs, *accepts);
    return jobs ? jobs : accepts;
}

void Scheduler::fire_timers(TimePoint now) {
    parts_->states.set_time(now);
    parts_->replies.fire(now);
    JobStates& states = parts_->states;
    while (JobRecord* job = states.pop_ready(now)) states.move_job(*job, JobMove::pending());
    while (JobRecord* job = states.pop_timed_out(now)) parts_->endings.time_out(*job, now);
    parts_->dispatcher.dispatch_dirty(now);
}

void Scheduler::shut_down() {
    parts_->submissions.refuse_new_jobs();
    parts_->workers.for_each([&](const WorkerRecord& worker) {
        send_to_worker(worker.routing_id, p::encode(p::Disconnect{"broker shutting down"}));
    });
    log_->info("shutdown workers={} pending_jobs={} results={}", parts_->workers.size(), parts_->jobs.size(),
               parts_->results.size());
}

// ---- reporting -------------------------------------------------------------------------

p::StatsReply Scheduler::stats(TimePoint now) const { return parts_->admin.stats(now); }
p::SendStatus Scheduler::send_to_worker(const RoutingId& worker, p::Frames frames) {
    return outbox_.to_worker(worker, frames);
}

p::Heartbeat Scheduler::heartbeat_message() const {
    // `batch`: this broker reads DONES of up to kMaxBatchEntries (protocol.md §5.13).
    return p::Heartbeat{static_cast<std::uint32_t>(options_.heartbeat_interval.count()), options_.liveness,
                        p::kMaxBatchEntries};
}

}  // namespace corsair::broker
