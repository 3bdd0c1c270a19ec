// The broker's rules without its sockets: queues, leases, credit-based dispatch, heartbeats,
// death and requeue, results. Messages leave through an Outbox; time comes in as `now`, so
// every rule is unit-tested without sockets or waiting. Owned by the broker's loop thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <spdlog/logger.h>

#include "corsair/broker/broker_options.hpp"
#include "corsair/broker/outbox.hpp"
#include "corsair/protocol/messages.hpp"

namespace corsair::broker {

struct JobRecord;
struct QueueState;
struct WorkerRecord;
class ResultStore;

// Broker-wide counters, reported by STATS under these names.
struct SchedulerCounters {
    std::uint64_t jobs_submitted = 0;
    std::uint64_t duplicate_submits = 0;
    std::uint64_t jobs_dispatched = 0;
    std::uint64_t jobs_done = 0;
    std::uint64_t jobs_failed = 0;
    std::uint64_t jobs_requeued = 0;
    std::uint64_t stale_completions = 0;  // DONE/FAIL from a worker not holding the current lease
    std::uint64_t workers_joined = 0;
    std::uint64_t workers_dead = 0;        // declared dead: silent past liveness, or unreachable
    std::uint64_t workers_disconnected = 0;
    std::uint64_t malformed_messages = 0;
    std::uint64_t unexpected_commands = 0;
    std::uint64_t results_undeliverable = 0;  // RESULT for a producer connection that is gone
    std::uint64_t results_expired = 0;

    std::map<std::string, std::uint64_t> to_map() const;
};

// What STATUS sees of one job; also used by tests.
struct JobSnapshot {
    std::string queue;
    protocol::JobState state = protocol::JobState::pending;
    std::uint32_t attempt = 0;
    std::string worker;  // lease holder's name while running
};

class Scheduler {
public:
    using TimePoint = std::chrono::steady_clock::time_point;

    Scheduler(const BrokerOptions& options, Outbox& outbox, std::shared_ptr<spdlog::logger> log);
    ~Scheduler();
    Scheduler(const Scheduler&) = delete;
    Scheduler& operator=(const Scheduler&) = delete;

    // A decoded message from a producer or a worker connection. Never throws on peer input:
    // a message that breaks a rule is answered with ERROR or dropped and counted.
    void on_producer_message(const RoutingId& producer, protocol::Message&& message, TimePoint now);
    void on_worker_message(const RoutingId& worker, protocol::Message&& message, TimePoint now);
    // A frame set that failed to decode: answered with ERROR naming the problem, and counted.
    void on_malformed_producer_message(const RoutingId& producer, const protocol::DecodeError& error);
    void on_malformed_worker_message(const RoutingId& worker, const protocol::DecodeError& error);

    // Once per heartbeat interval: heartbeat every worker, declare silent ones dead, expire results.
    void tick(TimePoint now);
    // Stop accepting jobs and tell every worker the broker is leaving.
    void shut_down();

    protocol::StatsReply stats(TimePoint now) const;
    const SchedulerCounters& counters() const noexcept { return counters_; }
    std::optional<JobSnapshot> find_job(const std::string& id) const;
    std::size_t worker_count() const noexcept { return workers_.size(); }
    std::size_t pending_count(const std::string& queue) const;

private:
    void submit(const RoutingId& producer, protocol::Submit&& submit);
    void answer_status(const RoutingId& producer, const std::string& id);
    void register_worker(const RoutingId& routing_id, protocol::Ready&& ready, TimePoint now);
    void complete(WorkerRecord& worker, const std::string& id, std::uint32_t attempt, bool succeeded,
                  zmq::message_t result, std::string error);
    void remove_worker(WorkerRecord& worker, const char* reason);
    void requeue_leases(WorkerRecord& worker);

    QueueState& queue_named(const std::string& name);
    void mark_dirty(QueueState& queue);
    void dispatch_dirty();
    void dispatch(QueueState& queue);
    void list_idle(WorkerRecord& worker);
    void unlist_idle(WorkerRecord& worker);
    void refresh_listing(WorkerRecord& worker);

    void send_to_producer(const RoutingId& producer, protocol::Frames frames);
    void send_error_to_producer(const RoutingId& producer, protocol::ErrorCode code, std::string message,
                                std::string id = {});
    protocol::SendStatus send_to_worker(const RoutingId& worker, protocol::Frames frames);
    protocol::Heartbeat heartbeat_message() const;

    BrokerOptions options_;
    Outbox& outbox_;
    std::shared_ptr<spdlog::logger> log_;
    SchedulerCounters counters_;
    bool is_shutting_down_ = false;
    std::uint64_t next_sequence_ = 0;

    std::unordered_map<std::string, JobRecord> jobs_;  // pending and running, by id
    std::unordered_map<std::string, QueueState> queues_;
    std::unordered_map<RoutingId, WorkerRecord> workers_;
    std::vector<QueueState*> dirty_;  // queues that may be able to dispatch after this event
    std::unique_ptr<ResultStore> results_;
};

}  // namespace corsair::broker
