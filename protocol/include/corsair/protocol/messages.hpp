// One struct per message, each naming its command (kCommand, a row of kCommands). Header fields
// are named as on the wire (docs/protocol.md §5); payloads stay zmq::message_t so the broker
// forwards them without copying. Their fields are written and read in message_fields.hpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>
#include <zmq.hpp>

#include "corsair/protocol/command.hpp"
#include "corsair/protocol/error_code.hpp"

namespace corsair::protocol {

// A job's state as the broker reports it (docs/jobs.md). done, failed and cancelled are final;
// a failed job sits in its queue's dead set until retried, purged or aged out.
enum class JobState : std::uint8_t { pending, delayed, running, done, failed, cancelled };

inline constexpr std::string_view to_string(JobState state) noexcept {
    switch (state) {
        case JobState::pending:
            return "pending";
        case JobState::delayed:
            return "delayed";
        case JobState::running:
            return "running";
        case JobState::done:
            return "done";
        case JobState::failed:
            return "failed";
        case JobState::cancelled:
            return "cancelled";
    }
    return "pending";
}

inline std::optional<JobState> parse_job_state(std::string_view text) noexcept {
    for (auto state : {JobState::pending, JobState::delayed, JobState::running, JobState::done, JobState::failed,
                       JobState::cancelled}) {
        if (to_string(state) == text) return state;
    }
    return std::nullopt;
}

inline constexpr bool is_final(JobState state) noexcept {
    return state == JobState::done || state == JobState::failed || state == JobState::cancelled;
}

// zmq::message_t is move-only; these helpers keep payload handling short at call sites.
inline zmq::message_t make_payload(std::string_view bytes) { return zmq::message_t(bytes.data(), bytes.size()); }
inline std::string_view view_of(const zmq::message_t& payload) noexcept {
    return {static_cast<const char*>(payload.data()), payload.size()};
}

// How often and how soon a failed job is tried again. Absent fields take the queue's setting.
struct RetryPolicy {
    std::optional<std::uint32_t> max_attempts;        // 1..kMaxAttemptsLimit
    std::optional<std::uint64_t> backoff_ms;          // delay before the first retry, doubled each time
    std::optional<std::uint64_t> backoff_max_ms;      // cap on that delay
    std::optional<std::uint32_t> backoff_jitter_pct;  // +/- this percentage, 0..100
};

struct Submit {
    static constexpr Command kCommand = Command::submit;
    std::string id;  // chosen by the producer; resubmitting the same id never makes a second job
    std::string queue;
    bool wants_result = false;  // push RESULT (and PROGRESS) to this connection
    zmq::message_t payload;
    std::int32_t priority = 0;  // higher runs first; kMinPriority..kMaxPriority
    RetryPolicy retry;
    std::optional<std::uint64_t> timeout_ms;  // per attempt; 0 = none; absent = the queue's
    std::uint64_t delay_ms = 0;               // ready this long after acceptance
    std::optional<std::uint64_t> run_at_ms;   // or ready at this Unix time (ms); not with delay_ms
    std::string unique_key;                   // empty = none
    // With wants_result: the broker may hold this job's ACCEPTED up to this long and leave it out
    // if the job's RESULT is sent first (a RESULT acknowledges too). 0 = ACCEPTED at once.
    std::uint64_t accept_within_ms = 0;
    // With wants_result: the most RESULTs this connection reads in one RESULTS; 0 = one per message.
    std::uint32_t results_batch = 0;
    // This producer decodes a RESULTS whose payloads travel packed, and would pack its SUBMITS
    // once an ACCEPTED says the broker reads them (protocol.md §3.1).
    bool reads_packed = false;
};

// A plain SUBMIT (every optional field at its default), without naming each field.
inline Submit make_submit(std::string id, std::string queue, bool wants_result, zmq::message_t payload) {
    Submit m;
    m.id = std::move(id);
    m.queue = std::move(queue);
    m.wants_result = wants_result;
    m.payload = std::move(payload);
    return m;
}

struct Accepted {
    static constexpr Command kCommand = Command::accepted;
    std::string id;
    bool existed = false;  // nothing new was queued: the id was known, or unique_key matched
    std::string job_id;    // the job this submit stands for: `id`, or the one holding unique_key
    // Random per broker start (0 = not told): a producer seeing it change knows the broker
    // restarted and re-attaches to the jobs it awaits (docs/durability.md).
    std::uint64_t broker_instance = 0;
    // The broker decodes a SUBMITS whose payloads travel packed: told to a producer whose SUBMIT
    // said `reads_packed` (protocol.md §3.1).
    bool reads_packed = false;
};

struct JobResult {
    static constexpr Command kCommand = Command::result;
    std::string id;
    JobState state = JobState::done;  // done, failed or cancelled
    std::uint32_t attempt = 0;
    std::string error;       // failed: the last attempt's error; cancelled: why
    zmq::message_t payload;  // done only: the result bytes
};

// One attempt's error, as kept in a job's history (at most kMaxHistoryErrorBytes each).
struct AttemptError {
    std::uint32_t attempt = 0;
    std::string error;
};

struct StatusRequest {
    static constexpr Command kCommand = Command::status;
    std::string id;
    // Asks for the job's own payload in the reply's frame instead of its result; the broker
    // keeps a payload only until the job ends (docs/protocol.md §5.4).
    bool wants_payload = false;
};

struct StatusReply {
    static constexpr Command kCommand = Command::status_reply;
    std::string id;
    std::string queue;
    JobState state = JobState::pending;
    std::uint32_t attempt = 0;  // the lease number: 0 while the job has never been dispatched
    // Attempts counted against max_attempts (since the last RETRY); absent on the wire when it
    // equals `attempt`, i.e. when no lease was given back uncounted.
    std::optional<std::uint32_t> counted_attempts;
    std::string worker;         // name of the lease holder while running
    // Running, but its worker holds it ready behind the jobs it runs (READY prefetch), as far as
    // the broker can tell: not started yet (protocol.md §5.4, §11).
    bool is_held_ready = false;
    std::string error;          // the last attempt's error, if any
    zmq::message_t payload;     // done only: the result bytes
    std::int32_t priority = 0;
    std::uint32_t max_attempts = 0;
    std::optional<std::uint32_t> progress;  // percent, 0..100, as last reported while running
    std::string progress_message;
    std::uint64_t ready_in_ms = 0;      // delayed: milliseconds until it becomes pending
    std::vector<AttemptError> errors;   // every failed attempt, oldest first
    std::uint64_t broker_instance = 0;  // as in Accepted
    // Unix ms: when the broker accepted the job, when its last attempt started, when it ended.
    // Absent when not (yet) so, or when the broker does not know (a job from before it kept times).
    std::optional<std::uint64_t> created_ms;
    std::optional<std::uint64_t> started_ms;
    std::optional<std::uint64_t> finished_ms;
    // The frame holds the job's payload (STATUS asked for it), not its result.
    bool holds_job_payload = false;
};

struct StatsRequest {
    static constexpr Command kCommand = Command::stats;
};

// A histogram in STATS_REPLY (docs/protocol.md §5.7): the count of values in each bucket (not
// cumulative) and their sum. Bucket i holds the values above bounds[i-1] and at most bounds[i];
// the last count holds the values above every bound. The unit of bounds and sum is the
// histogram's own (microseconds, or records): each field that carries one says.
struct Histogram {
    std::vector<std::uint64_t> bounds;  // strictly increasing, at most kMaxHistogramBounds
    std::vector<std::uint64_t> counts;  // bounds.size() + 1 entries
    std::uint64_t sum = 0;
};

struct QueueStats {
    std::string name;
    std::uint64_t pending = 0;
    std::uint64_t in_flight = 0;
    std::uint64_t done = 0;
    std::uint64_t failed = 0;
    std::uint64_t delayed = 0;  // waiting for their time (a delay or a retry's backoff)
    std::uint64_t dead = 0;     // in the dead set
    bool is_paused = false;
    // How long the oldest pending job has waited since it became pending (queue latency);
    // absent when none is pending.
    std::optional<std::uint64_t> oldest_pending_ms = std::nullopt;
    // Events since the broker started, like done and failed (absent from older brokers: 0).
    std::uint64_t submitted = 0;
    std::uint64_t retried = 0;    // failed attempts scheduled for another try after a backoff
    std::uint64_t requeued = 0;   // taken back from a worker that died or left
    std::uint64_t timed_out = 0;  // attempts that hit the job's timeout
    std::uint64_t cancelled = 0;
    // Microseconds from a job's first readiness to its first dispatch, and from an attempt's
    // dispatch to its DONE. Absent from older brokers.
    std::optional<Histogram> wait = std::nullopt;
    std::optional<Histogram> run = std::nullopt;
};

struct WorkerStats {
    std::string name;
    std::vector<std::string> queues;
    std::uint32_t capacity = 0;
    std::uint32_t in_flight = 0;
    std::uint64_t last_heartbeat_ms = 0;  // milliseconds since the broker last heard from it
    bool is_draining = false;
    std::uint64_t done = 0;    // attempts it ended done since it joined
    std::uint64_t failed = 0;  // attempts it ended failed since it joined
    // Where the broker saw it connect from (its IP over TCP); empty: in the broker's own process
    // (an HTTP worker), or not told.
    std::string address{};
    // The name of the CURVE key it connected with (its file in the broker's --allowed-keys);
    // empty without CURVE or in the broker's own process.
    std::string key{};
    // READY's `prefetch`: leases it may hold beyond `capacity`, ready to start. Its leases past
    // `capacity` (in_flight - capacity) are such jobs, not started as far as the broker knows.
    std::uint32_t prefetch = 0;
    // Of `prefetch`, how many the broker leases it now: as many as it gets through in 10 ms at
    // the pace its attempts end, at least one (protocol.md §11).
    std::uint32_t ready_depth = 0;
};

struct StatsReply {
    static constexpr Command kCommand = Command::stats_reply;
    std::vector<QueueStats> queues;
    std::vector<WorkerStats> workers;
    std::map<std::string, std::uint64_t> counters;  // broker-wide counters, names in docs/protocol.md
    // The broker's --max-payload: the largest payload or result it takes. Absent from older brokers.
    std::optional<std::uint64_t> max_payload_bytes = std::nullopt;
    std::uint64_t uptime_ms = 0;  // since this broker process started (0 = not told)
    std::string version;          // the broker's release, e.g. "0.1.0" (empty = not told)
    std::uint64_t broker_instance = 0;  // as in Accepted (0 = not told)
    // Unix ms when a job last ended done or failed for good; absent before any.
    std::optional<std::uint64_t> last_job_ended_at_ms = std::nullopt;
    // In the body, absent without a journal: each journal fdatasync's duration in microseconds,
    // and the records each one made durable (bounds and sum in records).
    std::optional<Histogram> journal_fsync = std::nullopt;
    std::optional<Histogram> journal_records_per_fsync = std::nullopt;
};

struct Error {
    static constexpr Command kCommand = Command::error;
    ErrorCode code = ErrorCode::internal;
    std::string message;
    std::string id;       // the job id (or, for queue requests, the queue) the error concerns
    std::string command;  // name of the refused request's command, e.g. "CANCEL"; empty if unknown
    // payload_too_large only: the broker's --max-payload, which the producer adopts.
    std::optional<std::uint64_t> max_payload_bytes = std::nullopt;
    // too_many_in_flight only: the broker's --max-in-flight, which the producer keeps its window under.
    std::optional<std::uint64_t> max_in_flight = std::nullopt;
};

struct Cancel {
    static constexpr Command kCommand = Command::cancel;
    std::string id;
};

// Exactly one of id (one dead job) or queue (its whole dead set).
struct Retry {
    static constexpr Command kCommand = Command::retry;
    std::string id;
    std::string queue;
};

// A queue's dead set, or one job in it when id is given.
struct Purge {
    static constexpr Command kCommand = Command::purge;
    std::string queue;
    std::string id;
};

struct DeadRequest {
    static constexpr Command kCommand = Command::dead;
    std::string queue;
    std::uint32_t limit = 100;  // most jobs listed, 1..kMaxDeadListed, newest first
};

struct DeadJob {
    std::string id;
    std::uint32_t attempts = 0;
    std::uint64_t died_ms_ago = 0;
    std::uint64_t payload_bytes = 0;
    std::int32_t priority = 0;
    std::vector<AttemptError> errors;
    std::optional<std::uint64_t> died_ms = std::nullopt;  // Unix ms (absent from older brokers)
};

struct DeadReply {
    static constexpr Command kCommand = Command::dead_reply;
    std::string queue;
    std::uint64_t total = 0;    // jobs in the dead set; `jobs` may list fewer
    std::vector<DeadJob> jobs;  // in the body frame
};

// QUEUE request: the fields to change (absent = unchanged); the queue must exist unless
// should_create. Reply: every field, as now set, and whether this request created the queue.
struct QueueSettings {
    static constexpr Command kCommand = Command::queue;
    std::string queue;
    std::optional<bool> is_paused;
    std::optional<std::uint64_t> max_length;  // pending + delayed; 0 = no limit
    RetryPolicy retry;
    std::optional<std::uint64_t> timeout_ms;      // 0 = none
    std::optional<std::uint64_t> dead_max_count;  // 0 = no limit (dead_max_age still applies)
    std::optional<std::uint64_t> dead_max_age_ms;
    bool should_create = false;  // request: create the queue if it does not exist
    bool was_created = false;    // reply: this request created it
};

// Which jobs of a queue LIST lists, and in which order: pending in the order they will run,
// delayed soonest ready first, running oldest lease first, failed (the dead set) newest first.
enum class ListedState : std::uint8_t { pending, delayed, running, failed };

inline constexpr std::string_view to_string(ListedState state) noexcept {
    switch (state) {
        case ListedState::pending: return "pending";
        case ListedState::delayed: return "delayed";
        case ListedState::running: return "running";
        case ListedState::failed: return "failed";
    }
    return "pending";
}
inline std::optional<ListedState> parse_listed_state(std::string_view text) noexcept {
    for (auto state : {ListedState::pending, ListedState::delayed, ListedState::running, ListedState::failed}) {
        if (to_string(state) == text) return state;
    }
    return std::nullopt;
}

// One page of a queue's jobs in one state. `after` is the previous reply's `next` (empty: from
// the start).
struct ListRequest {
    static constexpr Command kCommand = Command::list;
    std::string queue;
    ListedState state = ListedState::pending;
    std::string after;
    std::uint32_t limit = 100;  // 1..kMaxListed
};

// One listed job. Times are Unix ms; absent fields do not apply to the job's state.
struct ListedJob {
    std::string id;
    std::uint32_t attempt = 0;  // attempts started so far: the last lease's number
    // Attempts charged against max_attempts (protocol.md §1); absent: equal to `attempt`.
    std::optional<std::uint32_t> counted_attempts;
    std::uint32_t max_attempts = 0;
    std::int32_t priority = 0;
    std::uint64_t payload_bytes = 0;
    std::optional<std::uint64_t> created_ms;
    std::optional<std::uint64_t> ready_at_ms;  // delayed: when it becomes pending
    std::optional<std::uint64_t> started_ms;   // running: when the attempt started
    std::string worker;                        // running: the lease holder's name
    // Running, but its worker holds it ready behind the jobs it runs, not started (as STATUS_REPLY).
    bool is_held_ready = false;
    std::optional<std::uint64_t> died_ms;  // failed: when it entered the dead set
    std::string error;                         // the last attempt's error, at most kMaxHistoryErrorBytes
};

struct ListReply {
    static constexpr Command kCommand = Command::list_reply;
    std::string queue;
    ListedState state = ListedState::pending;
    std::uint64_t total = 0;      // jobs of the queue in that state now
    std::string next;             // `after` for the next page; empty when this page is the last
    std::vector<ListedJob> jobs;  // in the body frame
};

// Removes a queue's waiting jobs (not running ones, not the dead set); each ends cancelled.
struct Clear {
    static constexpr Command kCommand = Command::clear;
    std::string queue;
    bool includes_pending = true;
    bool includes_delayed = false;
};

// Deletes a queue: its settings and, with is_forced, its jobs. Without is_forced a queue that
// holds any job is refused (wrong_state).
struct DeleteQueue {
    static constexpr Command kCommand = Command::delete_queue;
    std::string queue;
    bool is_forced = false;
};

// The answer to CANCEL, RETRY, PURGE, CLEAR and DELETE_QUEUE.
struct Ok {
    static constexpr Command kCommand = Command::ok;
    std::string command;      // the request answered, e.g. "RETRY"
    std::string id;           // the job id or queue the request named
    std::uint64_t count = 0;  // jobs affected
};

// One lease a worker holds, as READY's `holding` names it.
struct HeldLease {
    std::string id;
    std::uint32_t attempt = 0;
};

struct Ready {
    static constexpr Command kCommand = Command::ready;
    std::vector<std::string> queues;
    std::uint32_t capacity = 1;
    std::string name;  // shown in stats: host:pid unless the operator names it
    // Most jobs this worker takes in one JOBS message; 0: one JOB per message. Non-zero also
    // says the worker may send DONES once the broker's HEARTBEAT carries `batch`.
    std::uint32_t batch = 0;
    // This worker process, drawn at random when it starts (0: not told). The same name and
    // instance on a new connection is the same worker reconnecting (protocol.md §5.9).
    std::uint64_t instance = 0;
    // The leases this worker still holds: running, or ended with a result not yet delivered.
    // Absent (an older worker): nothing is re-adopted or abandoned (protocol.md §10).
    std::optional<std::vector<HeldLease>> holding{};
    // Jobs the broker may lease beyond `capacity`, held ready to start the moment a running one
    // ends; the broker takes one back with RECALL when another worker is idle (protocol.md §11).
    // 0 (an older worker): never more than `capacity`.
    std::uint32_t prefetch = 0;
    // This worker heartbeats every HEARTBEAT `idle_interval_ms` while it holds no lease, and
    // expects the broker to do the same (protocol.md §9). False (an older worker): every interval.
    bool idle_heartbeat = false;
    // This worker decodes a JOBS whose payloads travel packed in one frame (protocol.md §3.1).
    bool reads_packed = false;
};

struct Job {
    static constexpr Command kCommand = Command::job;
    std::string id;
    std::string queue;
    std::uint32_t attempt = 1;  // with id, the lease's fencing token
    zmq::message_t payload;
};

struct Done {
    static constexpr Command kCommand = Command::done;
    std::string id;
    std::uint32_t attempt = 0;
    zmq::message_t payload;  // the result
};

struct Fail {
    static constexpr Command kCommand = Command::fail;
    std::string id;
    std::uint32_t attempt = 0;
    std::string error;
    bool is_permanent = false;  // retrying cannot help: skip the remaining attempts
    // The command or handler could not be started (exec failed, no process left): the worker's
    // fault, not the job's. The broker puts the job back without counting the attempt.
    bool is_not_started = false;
};

struct Heartbeat {
    static constexpr Command kCommand = Command::heartbeat;
    // Sent by the broker so workers adopt its rate; absent from a worker's heartbeats.
    std::optional<std::uint32_t> interval_ms;
    std::optional<std::uint32_t> liveness;
    // Sent by the broker: the most entries it takes in one DONES (absent: send single DONEs).
    std::optional<std::uint32_t> batch = std::nullopt;
    // Sent by the broker: its --max-payload, the largest result it takes (absent: the default).
    std::optional<std::uint64_t> max_payload_bytes = std::nullopt;
    // Sent by the broker: the interval while the worker holds no lease, for a worker whose READY
    // said `idle_heartbeat` (absent: a broker before it; heartbeat every interval).
    std::optional<std::uint32_t> idle_interval_ms = std::nullopt;
    // Sent by the broker: it decodes a DONES whose payloads travel packed (protocol.md §3.1).
    bool reads_packed = false;
};

// A batch's payloads travel as a frame each, or with `is_packed` in one frame (protocol.md
// §3.1): set by a sender whose peer said it reads packed batches, and by the decoder on a packed
// batch. The encoder packs only a batch that fits kMaxPackedFrameBytes, and clears it otherwise.

// Several JOBs to one worker, in order; each carries its payload frame as a JOB does.
struct Jobs {
    static constexpr Command kCommand = Command::jobs;
    std::vector<Job> jobs;
    bool is_packed = false;
};

// Several DONEs from one worker, in order.
struct Dones {
    static constexpr Command kCommand = Command::dones;
    std::vector<Done> done;
    bool is_packed = false;
};

// Several RESULTs to one producer connection, in the order the jobs ended.
struct Results {
    static constexpr Command kCommand = Command::results;
    std::vector<JobResult> results;
    bool is_packed = false;
};

struct Drain {
    static constexpr Command kCommand = Command::drain;
};

struct Disconnect {
    static constexpr Command kCommand = Command::disconnect;
    std::string reason;
};

struct Progress {
    static constexpr Command kCommand = Command::progress;
    std::string id;
    std::uint32_t attempt = 0;
    std::uint32_t percent = 0;  // 0..100
    std::string message;        // at most kMaxProgressMessageBytes
};

struct Abandon {
    static constexpr Command kCommand = Command::abandon;
    std::string id;
    std::uint32_t attempt = 0;
    std::string reason;  // "timeout", "cancelled" or "unknown_lease"
};

// Asks for a job held ready but not started back (protocol.md §5.32): the worker answers with a
// FAIL `not_started` if it has not started it, and otherwise lets the attempt end as it would.
struct Recall {
    static constexpr Command kCommand = Command::recall;
    std::string id;
    std::uint32_t attempt = 0;
};

// One job of a SUBMITS: its own id and payload; every other field is the batch's.
struct SubmitsEntry {
    std::string id;
    zmq::message_t payload;
};

// Several SUBMITs of one queue that differ only in id and payload, in order (protocol.md §5.33).
// `shared` holds the fields they have in common; its id, payload and unique_key stay empty.
struct Submits {
    static constexpr Command kCommand = Command::submits;
    Submit shared;
    std::vector<SubmitsEntry> entries;
    bool is_packed = false;
};

// Entry `i` of `batch` as the SUBMIT it stands for, with the batch's shared fields; moves the
// entry's id and payload out.
inline Submit take_submit(Submits& batch, std::size_t i) {
    const Submit& shared = batch.shared;
    Submit m;
    m.id = std::move(batch.entries[i].id);
    m.queue = shared.queue;
    m.wants_result = shared.wants_result;
    m.payload = std::move(batch.entries[i].payload);
    m.priority = shared.priority;
    m.retry = shared.retry;
    m.timeout_ms = shared.timeout_ms;
    m.delay_ms = shared.delay_ms;
    m.run_at_ms = shared.run_at_ms;
    m.accept_within_ms = shared.accept_within_ms;
    m.results_batch = shared.results_batch;
    m.reads_packed = shared.reads_packed;
    return m;
}

// One alternative per row of kCommands, in the same order, so a message's index() is its row.
using Message = std::variant<Submit, Accepted, JobResult, StatusRequest, StatusReply, StatsRequest, StatsReply, Error,
                             Cancel, Retry, Purge, DeadRequest, DeadReply, QueueSettings, Ok, Ready, Job, Done, Fail,
                             Heartbeat, Drain, Disconnect, Progress, Abandon, Jobs, Dones, Results, ListRequest,
                             ListReply, Clear, DeleteQueue, Recall, Submits>;

namespace detail {
template <std::size_t... Row>
constexpr bool alternatives_follow_table(std::index_sequence<Row...>) noexcept {
    return ((std::variant_alternative_t<Row, Message>::kCommand == kCommands[Row].command) && ...);
}
}  // namespace detail
static_assert(std::variant_size_v<Message> == kCommandCount, "one Message alternative per row of kCommands");
static_assert(detail::alternatives_follow_table(std::make_index_sequence<kCommandCount>()),
              "Message's alternatives are in kCommands order, each with its row's command");

// The command code of a message type, and of a message.
template <class T>
inline constexpr Command kCommandOf = T::kCommand;

inline Command command_of(const Message& message) noexcept { return kCommands[message.index()].command; }

}  // namespace corsair::protocol
