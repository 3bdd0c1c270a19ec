// The broker's rules without its sockets: queues, leases, credit-based dispatch, heartbeats,
// death and requeue, retries with backoff, delays, timeouts, dead sets, cancel, unique jobs,
// progress, results. Messages leave through an Outbox; time comes in as `now` (and the wall
// clock for run_at through an injected function), so every rule is unit-tested without sockets
// or waiting. Owned by the broker's loop thread. The rules are written down in docs/jobs.md.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <spdlog/logger.h>

#include "corsair/broker/broker_options.hpp"
#include "corsair/broker/journal_record.hpp"
#include "corsair/broker/outbox.hpp"
#include "corsair/broker/log_limiter.hpp"
#include "corsair/broker/peer.hpp"
#include "corsair/broker/scheduler_counters.hpp"
#include "corsair/protocol/messages.hpp"

namespace corsair::broker {

struct QueueState;
struct WorkerRecord;
class JournalSink;

// What a restart recovered from the journal, for the startup log.
struct RecoveryCounts {
    std::uint64_t records = 0;
    std::uint64_t pending = 0;
    std::uint64_t delayed = 0;
    std::uint64_t running_at_stop = 0;  // unclaimed: waiting for their workers to announce them
    std::uint64_t dead = 0;
    std::uint64_t results = 0;
    std::uint64_t queues = 0;
};

// How much the broker holds right now, for the service manager's one-line status.
struct SchedulerLoad {
    std::size_t queues = 0;
    std::uint64_t pending = 0;
    std::uint64_t delayed = 0;  // waiting for a delay, a run_at time or a retry's backoff
    std::uint64_t leased = 0;   // as running_jobs()
    std::size_t workers = 0;
};

// A router over parts with one job each (broker/src/rules/, docs/architecture.md): it takes each
// decoded message to the part that owns its rule, and dispatches once the event (or the turn)
// is handled.
class Scheduler {
public:
    using TimePoint = std::chrono::steady_clock::time_point;
    using WallClock = std::function<std::chrono::system_clock::time_point()>;

    // `wall_clock` reads the time of day, only to turn a SUBMIT's run_at_ms into a deadline and
    // to stamp journal records.
    Scheduler(const BrokerOptions& options, Outbox& outbox, std::shared_ptr<spdlog::logger> log,
              WallClock wall_clock = [] { return std::chrono::system_clock::now(); });
    ~Scheduler();
    Scheduler(const Scheduler&) = delete;
    Scheduler& operator=(const Scheduler&) = delete;

    // The endpoints the broker bound, as a peer on the wrong one is told (ERROR wrong_endpoint,
    // protocol.md §6). Set once bound, before any message.
    void set_endpoints(std::string producer_endpoint, std::string worker_endpoint);
    // Records every durable state change from now on (nullptr: none). Set before any message.
    void set_journal(JournalSink* journal) noexcept;
    // The journal is durable up to `sequence` (JournalSink::append's numbers): acknowledgements
    // that waited for it are sent.
    void on_journal_durable(std::uint64_t sequence);
    // Replays one journal record into the state (startup only, before set_journal), then
    // finish_recovery() turns what was running at the crash back into pending jobs.
    void recover(const JournalRecord& record, TimePoint now);
    RecoveryCounts finish_recovery(TimePoint now);
    // Every record needed to rebuild the current state, for compaction; appended to `out` encoded.
    // `drain`, if given, is called with `out` whenever it passes kSnapshotChunkBytes (it should
    // write and clear it); what is left at the end stays in `out`. Returns the record count.
    std::size_t write_snapshot(std::string& out, TimePoint now,
                               const std::function<void(std::string&)>& drain = {}) const;
    static constexpr std::size_t kSnapshotChunkBytes = 1 << 20;
    // Roughly how many bytes a snapshot of the current state would take: payloads, results and a
    // fixed allowance per job. Decides when compaction is worth it; never used for correctness.
    std::uint64_t estimated_snapshot_bytes() const noexcept;

    // A decoded message from a producer or a worker connection. Never throws on peer input:
    // a message that breaks a rule is answered with ERROR or dropped and counted. `peer` says who
    // sent it: a keyed peer (CURVE) whose role may not send the command is answered ERROR
    // forbidden and nothing is done (docs/security.md). Its address is read for READY only.
    void on_producer_message(const RoutingId& producer, protocol::Message&& message, TimePoint now,
                             const Peer& peer = {});
    void on_worker_message(const RoutingId& worker, protocol::Message&& message, TimePoint now,
                           const Peer& peer = {});
    // A frame set that failed to decode: answered with ERROR naming the problem, counted, and
    // logged naming the peer: its address (`peer_address`, e.g. "10.0.0.7", when the transport
    // tells) and, for a known worker, its name.
    void on_malformed_producer_message(const RoutingId& producer, const protocol::DecodeError& error,
                                       std::string_view peer_address = {});
    void on_malformed_worker_message(const RoutingId& worker, const protocol::DecodeError& error,
                                     std::string_view peer_address = {});
    // A turn: several messages handled back to back. Between begin_turn() and end_turn() jobs are
    // not dispatched after each message but once, at end_turn(), so that the jobs one worker gets
    // in a turn go out as one JOBS (protocol.md §5.25), and the RESULTs for one producer
    // connection as one RESULTS. Outside a turn every message dispatches.
    void begin_turn() noexcept;
    void end_turn(TimePoint now);

    // Once per heartbeat interval: heartbeat every worker, declare silent ones dead, expire results
    // and dead jobs past their age.
    void tick(TimePoint now);
    // The earliest deadline (a delayed job's time, a lease's timeout, a held ACCEPTED), if any;
    // the loop calls fire_timers() once it has passed.
    std::optional<TimePoint> next_deadline() const;
    void fire_timers(TimePoint now);
    // Whether the journal can be written (docs/durability.md, "A full disk"). While it cannot,
    // every request that would change state (SUBMIT of a new id, CANCEL, RETRY, PURGE, CLEAR,
    // DELETE_QUEUE, a QUEUE change or create) is refused with storage_unavailable, naming
    // `problem`, and no job is dispatched; the endings of jobs already leased are still taken,
    // their acknowledgements held until the journal has them.
    void set_storage_available(bool is_available, const std::string& problem, TimePoint now);
    // The ZAP handler's count of refused handshakes, for STATS auth_refusals (docs/security.md).
    void set_auth_refusals(std::uint64_t refusals) noexcept { counters_.auth_refusals = refusals; }
    // The DirectServer's count of connections it closed, for STATS direct_connections_dropped
    // (docs/protocol.md §2.1).
    void set_direct_connections_dropped(std::uint64_t dropped) noexcept {
        counters_.direct_connections_dropped = dropped;
    }
    // A clean stop begins (docs/durability.md, Stopping): no job is handed out any more and
    // SUBMIT is refused (shutting_down), while the leases already out still end as usual, are
    // journaled and answered.
    void begin_drain();
    // Jobs leased to a worker or waiting for one to announce its lease again (unclaimed).
    std::size_t running_jobs() const;
    // Counts of queues, jobs and workers; a walk over the queues, with no allocation.
    SchedulerLoad load() const;
    // Acknowledgements (ACCEPTED, RESULT, OK) waiting for the journal to be durable.
    std::size_t unsent_acknowledgements() const;
    // Stop accepting jobs and tell every worker the broker is leaving. Jobs still running stay
    // running: the journal says so, and a restarted broker re-adopts them.
    void shut_down();

    // What STATS answers, and the counters in it, for whoever reports on the broker.
    protocol::StatsReply stats(TimePoint now) const;
    const SchedulerCounters& counters() const noexcept { return counters_; }

private:
    struct Parts;

    void on_unexpected_producer_command(const RoutingId& producer, const protocol::Message& message);
    // A command no worker sends, on the worker endpoint, READY or not: ERROR wrong_endpoint naming
    // the producer endpoint for a producer command, else unexpected_command.
    void answer_foreign_on_worker_endpoint(const RoutingId& routing_id, const protocol::Message& message,
                                           TimePoint now);
    // True (and the request answered with storage_unavailable) if `message` would change state
    // while the journal cannot be written.
    bool refused_for_storage(const RoutingId& producer, const protocol::Message& message);

    void register_worker(const RoutingId& routing_id, protocol::Ready&& ready, TimePoint now, const Peer& peer);
    // True (and the message answered ERROR forbidden) if `peer`'s key may not send `message`.
    bool refused_for_access(const RoutingId& routing_id, const protocol::Message& message, const Peer& peer,
                            bool is_worker_endpoint, TimePoint now);
    bool admits_worker(const RoutingId& routing_id, const protocol::Ready& ready,
                       const std::vector<std::string>& queue_names);
    void answer_unknown_worker(const RoutingId& routing_id, protocol::Message&& message, TimePoint now);
    // DONE or FAIL for (id, attempt), from `worker` or (null) from a connection the broker does
    // not know: ends the attempt if the sender holds the lease or the lease is unclaimed.
    void report(WorkerRecord* worker, const std::string& id, std::uint32_t attempt, bool succeeded,
                zmq::message_t result, std::string error, bool is_permanent, TimePoint now);
    void on_known_worker_message(WorkerRecord& worker, protocol::Message&& message, TimePoint now);
    void record_progress(WorkerRecord& worker, protocol::Progress&& progress);
    void dispatch_unless_in_turn(TimePoint now);
    protocol::SendStatus send_to_worker(const RoutingId& worker, protocol::Frames frames);
    protocol::Heartbeat heartbeat_message() const;

    BrokerOptions options_;
    Outbox& outbox_;
    std::shared_ptr<spdlog::logger> log_;
    SchedulerCounters counters_;
    bool is_in_turn_ = false;
    std::string storage_problem_;  // empty while the journal can be written
    LogLimiter forbidden_log_;     // one line per key and endpoint a minute for refused commands
    std::string producer_endpoint_;
    std::string worker_endpoint_;
    std::unique_ptr<Parts> parts_;
};

}  // namespace corsair::broker
