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
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include <spdlog/logger.h>

#include "corsair/broker/broker_options.hpp"
#include "corsair/broker/journal_record.hpp"
#include "corsair/broker/outbox.hpp"
#include "corsair/protocol/messages.hpp"
#include "corsair/broker/timer_queue.hpp"

namespace corsair::broker {

struct JobRecord;
struct QueueState;
using JobTimers = TimerQueue<JobRecord*>;
struct WorkerRecord;
class ResultStore;
struct EndedJob;
class JournalSink;
class HeldAccepts;
class ReplyTargets;
template <class Record>
class JobTable;

// What a restart recovered from the journal, for the startup log.
struct RecoveryCounts {
    std::uint64_t records = 0;
    std::uint64_t pending = 0;
    std::uint64_t delayed = 0;
    std::uint64_t running_at_crash = 0;  // back to pending, their attempt counted
    std::uint64_t dead = 0;
    std::uint64_t results = 0;
    std::uint64_t queues = 0;
};

// Broker-wide counters, reported by STATS under these names.
struct SchedulerCounters {
    std::uint64_t jobs_submitted = 0;
    std::uint64_t duplicate_submits = 0;
    std::uint64_t jobs_dispatched = 0;
    std::uint64_t jobs_done = 0;
    std::uint64_t jobs_failed = 0;     // ended failed: into the dead set
    std::uint64_t jobs_requeued = 0;   // taken back from a worker that died or left
    std::uint64_t jobs_cancelled = 0;
    std::uint64_t jobs_delayed = 0;    // submitted with a delay or a run_at time
    std::uint64_t unique_hits = 0;     // submits answered with the live job holding their unique key
    std::uint64_t attempts_failed = 0;     // FAIL, timeout or worker death: each failed attempt
    std::uint64_t attempts_timed_out = 0;
    std::uint64_t retries_scheduled = 0;   // failed attempts that will be tried again after a backoff
    std::uint64_t dead_retried = 0;
    std::uint64_t dead_purged = 0;
    std::uint64_t dead_evicted = 0;        // over a queue's dead_max_count or dead_max_age
    std::uint64_t queue_full_refusals = 0;
    std::uint64_t queue_limit_refusals = 0;  // requests that would have created a queue past --max-queues
    std::uint64_t progress_reports = 0;
    std::uint64_t stale_completions = 0;  // DONE/FAIL from a worker not holding the current lease
    std::uint64_t workers_joined = 0;
    std::uint64_t workers_dead = 0;        // declared dead: silent past liveness, or unreachable
    std::uint64_t workers_disconnected = 0;
    std::uint64_t malformed_messages = 0;
    std::uint64_t unexpected_commands = 0;
    std::uint64_t results_undeliverable = 0;  // RESULT for a producer connection that is gone
    std::uint64_t results_expired = 0;
    std::uint64_t accepts_folded = 0;  // ACCEPTEDs left out: the job's RESULT went first (accept_within_ms)

    std::map<std::string, std::uint64_t> to_map() const;
};

// What STATUS sees of one job; also used by tests.
struct JobSnapshot {
    std::string queue;
    protocol::JobState state = protocol::JobState::pending;
    std::uint32_t attempt = 0;
    std::string worker;  // lease holder's name while running
    std::int32_t priority = 0;
    std::vector<protocol::AttemptError> errors;
    std::optional<std::uint32_t> progress;
};

class Scheduler {
public:
    using TimePoint = std::chrono::steady_clock::time_point;
    using WallClock = std::function<std::chrono::system_clock::time_point()>;

    // `wall_clock` reads the time of day, only to turn a SUBMIT's run_at_ms into a deadline.
    Scheduler(const BrokerOptions& options, Outbox& outbox, std::shared_ptr<spdlog::logger> log,
              WallClock wall_clock = [] { return std::chrono::system_clock::now(); });
    ~Scheduler();
    // Records every durable state change from now on (nullptr: none). Set before any message.
    void set_journal(JournalSink* journal) noexcept { journal_ = journal; }
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

    Scheduler(const Scheduler&) = delete;
    Scheduler& operator=(const Scheduler&) = delete;

    // A decoded message from a producer or a worker connection. Never throws on peer input:
    // a message that breaks a rule is answered with ERROR or dropped and counted.
    void on_producer_message(const RoutingId& producer, protocol::Message&& message, TimePoint now);
    void on_worker_message(const RoutingId& worker, protocol::Message&& message, TimePoint now);
    // A frame set that failed to decode: answered with ERROR naming the problem, and counted.
    void on_malformed_producer_message(const RoutingId& producer, const protocol::DecodeError& error);
    void on_malformed_worker_message(const RoutingId& worker, const protocol::DecodeError& error);
    // A turn: several messages handled back to back. Between begin_turn() and end_turn() jobs are
    // not dispatched after each message but once, at end_turn(), so that the jobs one worker gets
    // in a turn go out as one JOBS (protocol.md §5.25). Outside a turn every message dispatches.
    void begin_turn() noexcept { is_in_turn_ = true; }
    void end_turn(TimePoint now);

    // Once per heartbeat interval: heartbeat every worker, declare silent ones dead, expire results
    // and dead jobs past their age.
    void tick(TimePoint now);
    // The earliest job deadline (a delayed job's time, a lease's timeout), if any; the loop
    // calls fire_timers() once it has passed.
    std::optional<TimePoint> next_deadline() const;
    void fire_timers(TimePoint now);
    // Stop accepting jobs and tell every worker the broker is leaving.
    void shut_down();

    protocol::StatsReply stats(TimePoint now) const;
    const SchedulerCounters& counters() const noexcept { return counters_; }
    std::optional<JobSnapshot> find_job(const std::string& id) const;
    std::size_t worker_count() const noexcept { return workers_.size(); }
    std::size_t pending_count(const std::string& queue) const;

private:
    void submit(const RoutingId& producer, protocol::Submit&& submit, TimePoint now);
    void answer_status(const RoutingId& producer, const std::string& id, TimePoint now);
    void cancel(const RoutingId& producer, const std::string& id, TimePoint now);
    void retry(const RoutingId& producer, const protocol::Retry& request);
    void purge(const RoutingId& producer, const protocol::Purge& request, TimePoint now);
    void list_dead(const RoutingId& producer, const protocol::DeadRequest& request, TimePoint now);
    void change_queue(const RoutingId& producer, const protocol::QueueSettings& request, TimePoint now);
    void record_progress(WorkerRecord& worker, protocol::Progress&& progress);
    void register_worker(const RoutingId& routing_id, protocol::Ready&& ready, TimePoint now);
    void complete(WorkerRecord& worker, const std::string& id, std::uint32_t attempt, bool succeeded,
                  zmq::message_t result, std::string error, bool is_permanent, TimePoint now);
    void remove_worker(WorkerRecord& worker, const char* reason, TimePoint now);
    void requeue_leases(WorkerRecord& worker, bool counts_as_attempt, const std::string& reason, TimePoint now);

    // Lifecycle steps (scheduler_lifecycle.cpp).
    void make_pending(JobRecord& job, bool at_head);
    void delay_until(JobRecord& job, TimePoint ready_at);
    void end_lease(JobRecord& job, bool gives_credit_back);
    void revoke_lease(JobRecord& job, const char* reason);
    void fail_attempt(JobRecord& job, std::string error, bool is_permanent, TimePoint now, bool at_head);
    void move_to_dead(JobRecord& job, TimePoint now);
    void take_from_dead(JobRecord& job);
    void end_job(JobRecord& job, protocol::JobState state, zmq::message_t result, std::string error, TimePoint now,
                 bool tells_producer);
    void release_unique_key(const JobRecord& job);
    // Removes `job` from jobs_ and frees it; it must be in no list or timer any more.
    void destroy_job(JobRecord& job);
    // Makes `producer` the one told of `job`'s RESULT and PROGRESS.
    void set_reply_to(JobRecord& job, const RoutingId& producer, std::uint32_t results_batch);
    // A job's ending to the producer waiting on it: at once, or inside a turn, with the turn's
    // other endings for that connection as one RESULTS when its SUBMIT asked for batches.
    void send_result(const RoutingId* producer, protocol::JobResult&& result);
    void send_held_results();
    // How a held ACCEPTED (SUBMIT accept_within_ms) ends, if the job has one.
    enum class HeldAcceptEnd {
        send_now,  // the ACCEPTED goes out now (its producer stops being the job's RESULT target)
        answered,  // another ACCEPTED to the same producer answers for it (a resubmit)
        folded,    // the job's RESULT to the same producer stands for it
    };
    void settle_held_accept(JobRecord& job, HeldAcceptEnd end);
    // The ACCEPTED a job's submit was owed, sent late to its RESULT target.
    void send_late_accepted(const JobRecord& job);
    // The ResultStore entry for `job` ending now in `state`; takes its error history.
    EndedJob ended_record(JobRecord& job, protocol::JobState state, zmq::message_t result, std::string error,
                          TimePoint ended_at);
    void expire_dead(QueueState& queue, TimePoint now);
    std::uint32_t max_attempts_of(const JobRecord& job, const QueueState& queue) const;
    protocol::QueueSettings settings_of(const QueueState& queue) const;
    QueueState& queue_named(const std::string& name);
    // Whether `names` (deduplicated) may be used: every one that does not exist yet would fit
    // under options_.max_queues. On false, the caller refuses with too_many_queues.
    bool fits_queue_limit(const std::vector<std::string>& names) const;
    // The same for one name, without a lookup while under the limit (SUBMIT's hot path).
    bool fits_queue_limit(const std::string& name) const;
    std::string queue_limit_text(const std::string& name) const;
    void mark_dirty(QueueState& queue);
    void dispatch_dirty(TimePoint now);
    void dispatch(QueueState& queue);
    // Sends the jobs leased to `worker` in this dispatch (worker.outgoing) as one JOB or JOBS;
    // if they cannot be sent, undoes their leases, puts them back at the head of their queues and
    // returns false.
    bool send_outgoing(WorkerRecord& worker);
    void list_idle(WorkerRecord& worker);
    void unlist_idle(WorkerRecord& worker);
    void refresh_listing(WorkerRecord& worker);

    void send_to_producer(const RoutingId& producer, protocol::Frames frames);
    void send_error_to_producer(const RoutingId& producer, protocol::ErrorCode code, std::string message,
                                std::string id = {}, std::string command = {});
    protocol::SendStatus send_to_worker(const RoutingId& worker, protocol::Frames frames);
    void send_to_producer_when_durable(const RoutingId& producer, protocol::Frames frames);
    void journal(const JournalRecord& record);
    std::uint64_t wall_ms_at(TimePoint at, TimePoint now) const;
    TimePoint steady_at(std::uint64_t wall_ms, TimePoint now) const;
    protocol::Heartbeat heartbeat_message() const;

    BrokerOptions options_;
    Outbox& outbox_;
    std::shared_ptr<spdlog::logger> log_;
    SchedulerCounters counters_;
    bool is_shutting_down_ = false;
    std::uint64_t next_sequence_ = 0;
    WallClock wall_clock_;
    TimePoint dispatch_now_{};  // the time of the event being handled, for lease deadlines
    std::mt19937_64 random_;  // backoff jitter; seeded from options, so tests are repeatable
    std::uint64_t instance_;  // this start of the broker, told to producers (never 0)

    std::unique_ptr<JobTable<JobRecord>> jobs_;  // pending, delayed, running and dead, by id; owns them
    std::uint64_t live_payload_bytes_ = 0;              // sum of jobs_' payload sizes
    std::unordered_map<std::string, std::string> unique_jobs_;  // queue + '\n' + unique_key -> live job id
    JobTimers ready_timers_;  // delayed jobs, by the time they become pending
    JobTimers lease_timers_;  // running jobs with a timeout, by their deadline
    std::unordered_map<std::string, QueueState> queues_;
    std::unordered_map<RoutingId, WorkerRecord> workers_;
    std::vector<QueueState*> dirty_;  // queues that may be able to dispatch after this event
    std::vector<WorkerRecord*> with_outgoing_;  // workers given jobs in the dispatch under way
    // RESULTs of this turn per producer connection (by copy: a job's ending may release its target).
    std::vector<std::pair<RoutingId, std::vector<protocol::JobResult>>> held_results_;
    bool is_in_turn_ = false;
    std::unique_ptr<ResultStore> results_;
    std::unique_ptr<HeldAccepts> held_accepts_;
    std::unique_ptr<ReplyTargets> reply_targets_;
    JournalSink* journal_ = nullptr;
    RecoveryCounts recovered_;
};

}  // namespace corsair::broker
