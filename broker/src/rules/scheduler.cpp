// The Scheduler as a router: each message goes to the part that owns its rule. The parts and
// what each owns are listed in docs/architecture.md.
#include "corsair/broker/scheduler.hpp"

#include <spdlog/fmt/ranges.h>

#include <algorithm>
#include <random>

#include "access_policy.hpp"
#include "admin_commands.hpp"
#include "corsair/protocol/duration.hpp"
#include "corsair/protocol/text.hpp"
#include "dirty_queues.hpp"
#include "dispatcher.hpp"
#include "job_endings.hpp"
#include "job_journal.hpp"
#include "job_states.hpp"
#include "job_store.hpp"
#include "journal_replay.hpp"
#include "lease_adoption.hpp"
#include "queue_registry.hpp"
#include "replies.hpp"
#include "result_store.hpp"
#include "scheduler_context.hpp"
#include "submissions.hpp"
#include "wall_time.hpp"
#include "worker_limit.hpp"
#include "worker_registry.hpp"

namespace corsair::broker {

namespace p = corsair::protocol;

namespace {

// A worker's joins and leaves are lifecycle (info), except for in-process workers: the HTTP side
// makes one per HTTP job, and a line per job does not belong at info.
spdlog::level::level_enum lifecycle_level(const WorkerRecord& worker) {
    return worker.address.empty() ? spdlog::level::debug : spdlog::level::info;
}

bool is_sent_by(const p::Message& message, p::Direction direction) {
    const p::CommandInfo* info = p::find_command(p::command_of(message));
    return info != nullptr && info->directions.contains(direction);
}

std::mt19937_64 random_from(std::uint64_t seed) {
    return std::mt19937_64(seed != 0 ? seed : std::random_device{}());
}

// A QUEUE request that sets something (one without fields only shows the settings).
bool changes_settings(const p::QueueSettings& q) {
    return q.should_create || q.is_paused || q.max_length || q.retry.max_attempts || q.retry.backoff_ms ||
           q.retry.backoff_max_ms || q.retry.backoff_jitter_pct || q.timeout_ms || q.dead_max_count ||
           q.dead_max_age_ms;
}

// protocol.md §6 payload_too_large: a result over --max-payload (from a worker that does not
// know the limit) ends the attempt as a permanent FAIL, so the job neither stays running nor
// comes back only to grow the same result again. `report` takes (succeeded, result, error,
// is_permanent).
template <class Report>
void complete_done(p::Done& done, std::size_t max_payload_bytes, SchedulerCounters& counters, Report&& report) {
    if (done.payload.size() <= max_payload_bytes) {
        report(true, std::move(done.payload), std::string(), false);
        return;
    }
    ++counters.results_too_large;
    std::string error = "result too large: " + std::to_string(done.payload.size()) +
                        " bytes, over the broker's limit of " + std::to_string(max_payload_bytes) +
                        " bytes (--max-payload)";
    report(false, zmq::message_t(), std::move(error), true);
}

}  // namespace

// The parts, in the order they depend on each other.
struct Scheduler::Parts {
    Parts(Scheduler& scheduler, WallClock wall_clock, std::mt19937_64 random, std::uint64_t instance)
        : wall(std::move(wall_clock)),
          context{scheduler.options_, *scheduler.log_, scheduler.counters_, journal, wall},
          queues(scheduler.options_.max_queues, *scheduler.log_),
          workers(dirty,
                  HeartbeatRhythm{scheduler.options_.heartbeat_interval,
                                  scheduler.options_.idle_heartbeat_interval(), scheduler.options_.liveness},
                  scheduler.options_.max_workers),
          worker_limit(context, workers, scheduler.outbox_),
          states(dirty, workers),
          replies(scheduler.outbox_, journal, scheduler.counters_, instance, scheduler.options_.max_in_flight != 0),
          results(scheduler.options_.result_ttl, scheduler.options_.max_result_bytes),
          endings(context, jobs, states, workers, replies, results, scheduler.outbox_, std::move(random)),
          adoption(context, jobs, states, workers, scheduler.outbox_),
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
    WorkerLimit worker_limit;
    JobStates states;
    Replies replies;
    ResultStore results;
    JobEndings endings;
    LeaseAdoption adoption;
    Dispatcher dispatcher;
    Submissions submissions;
    AdminCommands admin;
    JournalReplay replay;
};

Scheduler::Scheduler(const BrokerOptions& options, Outbox& outbox, std::shared_ptr<spdlog::logger> log,
                     WallClock wall_clock)
    : options_(options),
      outbox_(outbox),
      log_(std::move(log)),
      producer_endpoint_(options.producer_endpoint),
      worker_endpoint_(options.worker_endpoint) {
    // The instance is drawn first, then the same generator jitters backoffs: seeded tests repeat.
    std::mt19937_64 random = random_from(options.random_seed);
    const std::uint64_t instance = std::uniform_int_distribution<std::uint64_t>(1, UINT64_MAX)(random);
    parts_ = std::make_unique<Parts>(*this, std::move(wall_clock), std::move(random), instance);
}

Scheduler::~Scheduler() = default;

void Scheduler::set_endpoints(std::string producer_endpoint, std::string worker_endpoint) {
    producer_endpoint_ = std::move(producer_endpoint);
    worker_endpoint_ = std::move(worker_endpoint);
}

void Scheduler::set_journal(JournalSink* journal) noexcept { parts_->journal.set_sink(journal); }
void Scheduler::on_journal_durable(std::uint64_t sequence) { parts_->replies.on_durable(sequence); }
void Scheduler::recover(const JournalRecord& record, TimePoint now) {
    parts_->states.set_time(now);
    parts_->replay.replay(record, now);
}
RecoveryCounts Scheduler::finish_recovery(TimePoint now) {
    parts_->states.set_time(now);
    RecoveryCounts counts = parts_->replay.finish(now);
    parts_->adoption.open_window(now);
    return counts;
}

std::size_t Scheduler::write_snapshot(std::string& out, TimePoint now,
                                      const std::function<void(std::string&)>& drain) const {
    return parts_->replay.write_snapshot(out, now, kSnapshotChunkBytes, drain);
}

std::uint64_t Scheduler::estimated_snapshot_bytes() const noexcept { return parts_->replay.estimated_snapshot_bytes(); }

// ---- producers -------------------------------------------------------------------------

void Scheduler::on_producer_message(const RoutingId& producer, p::Message&& message, TimePoint now, const Peer& peer) {
    if (auto* batch = std::get_if<p::Submits>(&message)) {
        // protocol.md §5.33: a SUBMITS is the SUBMITs of its entries, one after another, each
        // checked and answered on its own.
        for (std::size_t i = 0; i < batch->entries.size(); ++i) {
            on_producer_message(producer, p::Message(p::take_submit(*batch, i)), now, peer);
        }
        return;
    }
    parts_->states.set_time(now);
    AdminCommands& admin = parts_->admin;
    if (peer.is_keyed && refused_for_access(producer, message, peer, false, now)) {
        return;
    } else if (!storage_problem_.empty() && refused_for_storage(producer, message)) {
        return;
    } else if (auto* submit = std::get_if<p::Submit>(&message)) {
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
        on_unexpected_producer_command(producer, message);
    }
    dispatch_unless_in_turn(now);
}

bool Scheduler::refused_for_storage(const RoutingId& producer, const p::Message& message) {
    std::string id;
    if (auto* submit = std::get_if<p::Submit>(&message)) {
        // A resend of a job already taken goes on as usual: its ACCEPTED waits for the journal.
        // Refusing it would say "nothing was queued" of a job that was.
        if (parts_->jobs.find(submit->id) != nullptr || parts_->results.find(submit->id) != nullptr) return false;
        id = submit->id;
    } else if (auto* cancel = std::get_if<p::Cancel>(&message)) {
        id = cancel->id;
    } else if (auto* retry = std::get_if<p::Retry>(&message)) {
        id = retry->id.empty() ? retry->queue : retry->id;
    } else if (auto* purge = std::get_if<p::Purge>(&message)) {
        id = purge->id.empty() ? purge->queue : purge->id;
    } else if (auto* settings = std::get_if<p::QueueSettings>(&message); settings && changes_settings(*settings)) {
        id = settings->queue;
    } else if (auto* clear = std::get_if<p::Clear>(&message)) {
        id = clear->queue;
    } else if (auto* deletion = std::get_if<p::DeleteQueue>(&message)) {
        id = deletion->queue;
    } else {
        return false;
    }
    ++counters_.storage_refusals;
    const std::string command(p::to_string(p::command_of(message)));
    parts_->replies.send_error(producer, p::ErrorCode::storage_unavailable,
                               "the broker cannot write its journal (" + storage_problem_ +
                                   "); nothing was changed: retry later",
                               id, command);
    return true;
}

void Scheduler::set_storage_available(bool is_available, const std::string& problem, TimePoint now) {
    parts_->states.set_time(now);
    const bool was_available = storage_problem_.empty();
    storage_problem_ = is_available ? std::string() : (problem.empty() ? std::string("journal unavailable") : problem);
    counters_.storage_unavailable = is_available ? 0 : 1;
    parts_->dispatcher.set_enabled(is_available);
    if (was_available == is_available) return;
    if (is_available) {
        log_->warn("storage available again: taking submits and dispatching jobs");
        parts_->dispatcher.dispatch_dirty(now);
    } else {
        ++counters_.storage_stalls;
        log_->error("storage unavailable: refusing submits and changes, and dispatching nothing, until the journal "
                    "can be written error=\"{}\"",
                    storage_problem_);
    }
}

void Scheduler::on_unexpected_producer_command(const RoutingId& producer, const p::Message& message) {
    ++counters_.unexpected_commands;
    const std::string name(p::to_string(p::command_of(message)));
    if (is_sent_by(message, p::Direction::worker_to_broker)) {
        // protocol.md §6: a worker on the producer endpoint is told where to go, and stops.
        log_->warn("worker command on the producer endpoint command={}; told it to use {}", name, worker_endpoint_);
        parts_->replies.send_error(producer, p::ErrorCode::wrong_endpoint,
                                   "this is the producer endpoint; workers connect to " + worker_endpoint_, {}, name);
        return;
    }
    log_->warn("unexpected command on producer socket command={}", name);
    parts_->replies.send_error(producer, p::ErrorCode::unexpected_command, name + " is not a producer command", {},
                               name);
}

void Scheduler::on_malformed_producer_message(const RoutingId& producer, const p::DecodeError& error,
                                              std::string_view peer_address) {
    ++counters_.malformed_messages;
    log_->warn("malformed message peer=producer address={} code={} detail={}",
               peer_address.empty() ? "unknown" : peer_address, p::to_string(error.code), p::quoted(error.detail));
    parts_->replies.send_error(producer, error.code, error.detail);
}

// ---- workers ---------------------------------------------------------------------------

// protocol.md §6, Order of checks: access, then endpoint, then READY state, then the command's
// own rules. A command that is not a worker's gets the same answer whether or not READY was sent.
void Scheduler::on_worker_message(const RoutingId& routing_id, p::Message&& message, TimePoint now,
                                  const Peer& peer) {
    parts_->states.set_time(now);
    if (peer.is_keyed && refused_for_access(routing_id, message, peer, true, now)) return;
    if (!is_sent_by(message, p::Direction::worker_to_broker)) {
        answer_foreign_on_worker_endpoint(routing_id, message, now);
        return;
    }
    if (auto* ready = std::get_if<p::Ready>(&message)) {
        register_worker(routing_id, std::move(*ready), now, peer);
    } else if (WorkerRecord* worker = parts_->workers.find(routing_id)) {
        on_known_worker_message(*worker, std::move(message), now);
    } else {
        answer_unknown_worker(routing_id, std::move(message), now);
        dispatch_unless_in_turn(now);
        return;
    }
    dispatch_unless_in_turn(now);
}

// protocol.md §6: a producer on the worker endpoint is told where to go (wrong_endpoint); a
// command only the broker sends is unexpected_command. The ERROR carries the command (and a
// SUBMIT's id), so the peer can match it to what it sent. From a registered worker it is still a
// sign of life (§9: any valid message).
void Scheduler::answer_foreign_on_worker_endpoint(const RoutingId& routing_id, const p::Message& message,
                                                  TimePoint now) {
    ++counters_.unexpected_commands;
    if (WorkerRecord* worker = parts_->workers.find(routing_id)) parts_->workers.heard_from(*worker, now);
    const std::string name(p::to_string(p::command_of(message)));
    if (!is_sent_by(message, p::Direction::producer_to_broker)) {
        log_->warn("unexpected command on worker socket command={}", name);
        send_to_worker(routing_id, p::encode(p::Error{p::ErrorCode::unexpected_command,
                                                      name + " is not a worker command", {}, name}));
        return;
    }
    log_->warn("producer command on the worker endpoint command={}; told it to use {}", name, producer_endpoint_);
    const auto refuse = [&](const std::string& id, const std::string& command) {
        send_to_worker(routing_id,
                       p::encode(p::Error{p::ErrorCode::wrong_endpoint,
                                          "this is the worker endpoint; producers connect to " + producer_endpoint_, id,
                                          command}));
    };
    if (const auto* batch = std::get_if<p::Submits>(&message)) {
        // Each entry is a SUBMIT, and the producer matches a refusal by the job's id.
        for (const auto& entry : batch->entries) refuse(entry.id, "SUBMIT");
        return;
    }
    const auto* submit = std::get_if<p::Submit>(&message);
    refuse(submit != nullptr ? submit->id : std::string(), name);
}

// docs/security.md, Roles: the refusal names the key, its role and the command, so that the
// operator reading the peer's error knows which key file to change. Logged at most once a minute
// per key and endpoint: a misconfigured peer retries, and each retry is counted, not logged.
bool Scheduler::refused_for_access(const RoutingId& routing_id, const p::Message& message, const Peer& peer,
                                   bool is_worker_endpoint, TimePoint now) {
    const p::Command command = p::command_of(message);
    auto refusal = access_refusal(peer, command);
    if (!refusal) return false;
    ++counters_.forbidden_commands;
    const char* endpoint = is_worker_endpoint ? "workers" : "producers";
    if (auto unlogged = forbidden_log_.admit(std::string(peer.key_name) + " " + endpoint, now)) {
        log_->warn("refused command={} key={} endpoint={} earlier_refusals_unlogged={}: {}", p::to_string(command),
                   p::quoted(peer.key_name), endpoint, *unlogged, *refusal);
    }
    const auto* submit = std::get_if<p::Submit>(&message);
    p::Error error{p::ErrorCode::forbidden, std::move(*refusal), submit != nullptr ? submit->id : std::string(),
                   std::string(p::to_string(command))};
    if (is_worker_endpoint) {
        send_to_worker(routing_id, p::encode(error));
    } else {
        parts_->replies.send(routing_id, p::encode(error));
    }
    return true;
}

// protocol.md §10: a worker we declared dead (or that never said READY) holds no lease. Its
// DONE or FAIL still ends a lease that waits unclaimed: (id, attempt) is the proof. The ERROR
// names the message's command and job (§6), so the worker knows which one was refused.
void Scheduler::answer_unknown_worker(const RoutingId& routing_id, p::Message&& message, TimePoint now) {
    if (std::holds_alternative<p::Disconnect>(message)) return;
    std::string id;
    if (auto* done = std::get_if<p::Done>(&message)) {
        id = done->id;
        report(nullptr, done->id, done->attempt, true, std::move(done->payload), {}, false, now);
    } else if (auto* dones = std::get_if<p::Dones>(&message)) {
        for (auto& entry : dones->done) {
            report(nullptr, entry.id, entry.attempt, true, std::move(entry.payload), {}, false, now);
        }
    } else if (auto* fail = std::get_if<p::Fail>(&message)) {
        id = fail->id;
        report(nullptr, fail->id, fail->attempt, false, {}, std::move(fail->error), fail->is_permanent, now);
    } else if (auto* progress = std::get_if<p::Progress>(&message)) {
        id = progress->id;
    }
    send_to_worker(routing_id, p::encode(p::Error{p::ErrorCode::unknown_worker, "send READY first", std::move(id),
                                                  std::string(p::to_string(p::command_of(message)))}));
}

void Scheduler::report(WorkerRecord* worker, const std::string& id, std::uint32_t attempt, bool succeeded,
                       zmq::message_t result, std::string error, bool is_permanent, TimePoint now) {
    if (parts_->adoption.claim_for_report(id, attempt)) {
        worker = nullptr;
    } else if (worker == nullptr) {
        ++counters_.stale_completions;
        log_->info("discarded completion from unknown worker job={} attempt={}", id, attempt);
        return;
    }
    parts_->endings.complete(worker, id, attempt, succeeded, std::move(result), std::move(error), is_permanent, now);
}

void Scheduler::on_known_worker_message(WorkerRecord& worker, p::Message&& message, TimePoint now) {
    parts_->workers.heard_from(worker, now);
    JobEndings& endings = parts_->endings;
    // What a DONE (or a DONES entry) reports, once complete_done() has checked its size.
    auto report_for = [&](const p::Done& done) {
        return [&, this](bool succeeded, zmq::message_t result, std::string error, bool is_permanent) {
            report(&worker, done.id, done.attempt, succeeded, std::move(result), std::move(error), is_permanent, now);
        };
    };
    if (auto* done = std::get_if<p::Done>(&message)) {
        complete_done(*done, options_.max_payload_bytes, counters_, report_for(*done));
    } else if (auto* dones = std::get_if<p::Dones>(&message)) {
        // protocol.md §5.26: each entry is a DONE of its own, fenced on its own.
        for (auto& entry : dones->done) {
            complete_done(entry, options_.max_payload_bytes, counters_, report_for(entry));
        }
    } else if (auto* fail = std::get_if<p::Fail>(&message)) {
        if (fail->is_not_started) {
            endings.give_back_unstarted(worker, fail->id, fail->attempt, fail->error);
        } else {
            report(&worker, fail->id, fail->attempt, false, {}, std::move(fail->error), fail->is_permanent, now);
        }
    } else if (auto* progress = std::get_if<p::Progress>(&message)) {
        record_progress(worker, std::move(*progress));
    } else if (std::holds_alternative<p::Heartbeat>(message)) {
        // heard_from() is all a heartbeat changes.
    } else if (std::holds_alternative<p::Drain>(message)) {
        if (worker.state != WorkerState::draining) {
            log_->log(lifecycle_level(worker), "worker draining worker={} held={}", worker.name, worker.leases.size());
        }
        parts_->workers.move_worker(worker, WorkerState::draining);
    } else if (auto* disconnect = std::get_if<p::Disconnect>(&message)) {
        ++counters_.workers_disconnected;
        log_->log(lifecycle_level(worker), "worker left worker={} reason={} requeued={}", worker.name, disconnect->reason,
                  worker.leases.size());
        endings.lose_worker(worker, "disconnect", now);
    } else {
        answer_foreign_on_worker_endpoint(worker.routing_id, message, now);  // not reached: checked first
    }
}

void Scheduler::on_malformed_worker_message(const RoutingId& worker, const p::DecodeError& error,
                                            std::string_view peer_address) {
    ++counters_.malformed_messages;
    const WorkerRecord* known = parts_->workers.find(worker);
    log_->warn("malformed message peer=worker worker={} address={} code={} detail={}",
               known != nullptr ? p::quoted(known->name) : std::string("unregistered"),
               peer_address.empty() ? "unknown" : peer_address, p::to_string(error.code), p::quoted(error.detail));
    send_to_worker(worker, p::encode(p::Error{error.code, error.detail, {}, {}}));
}

void Scheduler::register_worker(const RoutingId& routing_id, p::Ready&& ready, TimePoint now, const Peer& peer) {
    std::vector<std::string> queue_names;
    for (auto& queue : ready.queues) {
        if (std::find(queue_names.begin(), queue_names.end(), queue) == queue_names.end()) {
            queue_names.push_back(std::move(queue));
        }
    }
    if (!admits_worker(routing_id, ready, queue_names)) return;
    if (!parts_->worker_limit.admits(routing_id, ready, peer.address, now)) return;
    std::vector<QueueState*> served;
    for (const auto& name : queue_names) served.push_back(&parts_->queues.named(name));
    auto [worker, is_new] = parts_->workers.announce(routing_id, ready.name, std::move(queue_names), std::move(served),
                                                     ready.capacity, ready.batch, now, ready.instance, peer.address,
                                                     ready.prefetch, ready.idle_heartbeat);
    worker->key = peer.key_name;
    worker->reads_packed = ready.reads_packed;
    const auto level = lifecycle_level(*worker);
    if (is_new) {
        ++counters_.workers_joined;
        log_->log(level, "worker joined worker={} address={} key={} capacity={} prefetch={} queues={}", worker->name,
                  peer.address.empty() ? "in-process" : peer.address, peer.is_keyed ? peer.key_name : "none",
                  worker->capacity, worker->prefetch, fmt::join(worker->queues, ","));
    } else {
        log_->log(level, "worker announced again worker={} capacity={} prefetch={}", worker->name, worker->capacity,
                  worker->prefetch);
    }
    // Before the HEARTBEAT that answers READY, so that the worker has stopped what the broker does
    // not know by the time it delivers the results it kept (protocol.md §7).
    if (ready.holding) parts_->adoption.adopt(*worker, *ready.holding, now);
    // The first heartbeat tells the worker our interval and liveness (protocol.md §Heartbeats).
    if (send_to_worker(routing_id, p::encode(heartbeat_message())) == p::SendStatus::host_unreachable) {
        parts_->endings.lose_worker(*worker, "unreachable", now);
        return;
    }
    worker->last_heartbeat_sent = now;
    parts_->workers.refresh_listing(*worker);
}

// READY's refusals, each answered with ERROR (command READY): queues past --max-queues, and a
// name another connected worker holds (protocol.md §5.9). The same name and instance on a new
// connection is that worker reconnecting: it takes its record's leases over instead.
bool Scheduler::admits_worker(const RoutingId& routing_id, const p::Ready& ready,
                              const std::vector<std::string>& queue_names) {
    QueueRegistry& queues = parts_->queues;
    if (!queues.fits(queue_names)) {
        ++counters_.queue_limit_refusals;
        log_->warn("worker refused: too many queues worker={} queues={}", ready.name, fmt::join(queue_names, ","));
        send_to_worker(routing_id, p::encode(p::Error{p::ErrorCode::too_many_queues,
                                                      "READY names queues the broker cannot create: it holds " +
                                                          std::to_string(queues.size()) + " queues, --max-queues " +
                                                          std::to_string(options_.max_queues),
                                                      ready.name, "READY"}));
        return false;
    }
    WorkerRecord* other = ready.name.empty() ? nullptr : parts_->workers.find_named(ready.name);
    if (other == nullptr || other->routing_id == routing_id) return true;
    if (ready.instance != 0 && other->instance == ready.instance) {
        parts_->adoption.take_over(*other, ready.holding ? &*ready.holding : nullptr);
        return true;
    }
    ++counters_.workers_refused;
    log_->warn("worker refused: name in use by another connected worker worker={}", ready.name);
    send_to_worker(routing_id, p::encode(p::Error{p::ErrorCode::id_conflict,
                                                  "another connected worker is named " + ready.name +
                                                      "; give each worker its own --id",
                                                  ready.name, "READY"}));
    return false;
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
    workers.for_each([&](WorkerRecord& worker) {
        if (workers.is_silent(worker, now)) {
            dead.emplace_back(worker.routing_id, "heartbeat_timeout");
        } else if (!workers.is_heartbeat_due(worker, now)) {
            // heartbeating idle (protocol.md §9): not this tick
        } else if (send_to_worker(worker.routing_id, p::encode(heartbeat_message())) == p::SendStatus::host_unreachable) {
            dead.emplace_back(worker.routing_id, "connection_lost");
        } else {
            worker.last_heartbeat_sent = now;
        }
    });
    for (const auto& [routing_id, reason] : dead) {
        if (WorkerRecord* worker = workers.find(routing_id)) parts_->endings.lose_worker(*worker, reason, now);
    }
    parts_->queues.for_each([&](QueueState& queue) { parts_->endings.expire_dead(queue, now); });
    parts_->dispatcher.dispatch_dirty(now);
}

std::optional<Scheduler::TimePoint> Scheduler::next_deadline() const {
    std::optional<TimePoint> earliest;
    for (auto deadline : {parts_->states.next_deadline(), parts_->replies.next_due(), parts_->adoption.deadline()}) {
        if (deadline && (!earliest || *deadline < *earliest)) earliest = deadline;
    }
    return earliest;
}

void Scheduler::fire_timers(TimePoint now) {
    parts_->states.set_time(now);
    parts_->replies.fire(now);
    JobStates& states = parts_->states;
    while (JobRecord* job = states.pop_ready(now)) states.move_job(*job, JobMove::pending());
    while (JobRecord* job = states.pop_timed_out(now)) parts_->endings.time_out(*job, now);
    if (auto window = parts_->adoption.deadline(); window && now >= *window) parts_->adoption.close_window();
    parts_->dispatcher.dispatch_dirty(now);
}

void Scheduler::begin_drain() {
    parts_->submissions.refuse_new_jobs();
    parts_->dispatcher.hold();
}

std::size_t Scheduler::running_jobs() const {
    std::size_t running = 0;
    parts_->queues.for_each([&](const QueueState& queue) { running += queue.in_flight; });
    return running;
}

SchedulerLoad Scheduler::load() const {
    SchedulerLoad load;
    load.queues = parts_->queues.size();
    parts_->queues.for_each([&](const QueueState& queue) {
        load.pending += queue.pending.size();
        load.delayed += queue.delayed;
        load.leased += queue.in_flight;
    });
    load.workers = parts_->workers.size();
    return load;
}

std::size_t Scheduler::unsent_acknowledgements() const { return parts_->replies.held_acknowledgements(); }

void Scheduler::shut_down() {
    parts_->submissions.refuse_new_jobs();
    parts_->workers.for_each([&](const WorkerRecord& worker) {
        send_to_worker(worker.routing_id, p::encode(p::Disconnect{"broker shutting down"}));
    });
    // Jobs still running stay running in the journal: a restarted broker waits for their workers
    // to announce them again (protocol.md §10).
    log_->info("shutdown workers={} jobs={} running={} results={}", parts_->workers.size(), parts_->jobs.size(),
               running_jobs(), parts_->results.size());
}

// ---- reporting -------------------------------------------------------------------------

p::StatsReply Scheduler::stats(TimePoint now) const { return parts_->admin.stats(now); }
p::SendStatus Scheduler::send_to_worker(const RoutingId& worker, p::Frames frames) {
    return outbox_.to_worker(worker, frames);
}

p::Heartbeat Scheduler::heartbeat_message() const {
    // `batch`: this broker reads DONES of up to kMaxBatchEntries (protocol.md §5.13).
    // `max_payload_bytes`: the worker fails a larger result itself (protocol.md §5.19).
    // `idle_interval_ms`: a worker that said READY `idle_heartbeat` heartbeats at it while it holds no
    // lease (protocol.md §9).
    // `reads_packed`: DONES may carry their results packed in one frame (protocol.md §3.1).
    return p::Heartbeat{static_cast<std::uint32_t>(options_.heartbeat_interval.count()),
                        options_.liveness,
                        p::kMaxBatchEntries,
                        options_.max_payload_bytes,
                        static_cast<std::uint32_t>(options_.idle_heartbeat_interval().count()),
                        true};
}

}  // namespace corsair::broker
