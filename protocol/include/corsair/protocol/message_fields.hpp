// The header fields of each message, as one write/read pair per message struct, side by side
// and in the order of the tables in docs/protocol.md §5 (encoders write in that order, and
// decoders report the first bad field in it). codec.hpp frames them; callers use encode() and
// decode(). write() appends the fields to an open map; read() reads them, recording the first
// problem in the reader's status and checking across fields last. Pure functions, any thread.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "corsair/protocol/limits.hpp"
#include "corsair/protocol/messages.hpp"
#include "corsair/protocol/msgpack_map.hpp"
#include "corsair/protocol/text.hpp"

namespace corsair::protocol::detail {

inline constexpr std::uint64_t kMaxU32 = std::numeric_limits<std::uint32_t>::max();
inline constexpr std::uint64_t kMaxU64 = std::numeric_limits<std::uint64_t>::max();
// The most queues or workers one STATS_REPLY body may list (docs/protocol.md §5.7).
inline constexpr std::size_t kMaxStatsEntries = 1'000'000;

// ---- fields several messages share ----------------------------------------------------

inline std::string job_id(const MapReader& r) { return r.string("id", kMaxJobIdBytes, Presence::non_empty); }
// A queue name in a request about a queue that must already exist, or in a message from the
// broker: any text up to the length limit, so that queues named before the grammar (an old
// journal) can still be inspected, purged and deleted.
inline std::string queue_name(const MapReader& r) { return r.string("queue", kMaxQueueNameBytes, Presence::non_empty); }
// A queue name that may create a queue (SUBMIT, READY, QUEUE with create) follows the grammar
// (text.hpp queue_name_problem, docs/protocol.md §3); the error's detail names the reason.
inline void check_new_queue_name(const MapReader& r, std::string_view name, std::string_view key) {
    if (r.failed()) return;
    if (const auto problem = queue_name_problem(name)) {
        r.fail(ErrorCode::bad_field_value, std::string(key) + ": the queue name " + std::string(*problem),
               problem->data());
    }
}
inline std::string new_queue_name(const MapReader& r) {
    std::string name = queue_name(r);
    check_new_queue_name(r, name, "queue");
    return name;
}
inline std::uint32_t attempt(const MapReader& r, std::uint64_t min) {
    return r.unsigned_integer<std::uint32_t>("attempt", min, kMaxU32, std::nullopt);
}

inline JobState job_state(const MapReader& r, std::string_view key) {
    const auto state = parse_job_state(r.string(key, 16, Presence::non_empty));
    if (!state) r.fail(ErrorCode::bad_field_value, key);
    return state.value_or(JobState::pending);
}

inline std::vector<std::string> strings(const MapReader& r, std::string_view key, std::size_t max_items,
                                        std::size_t max_bytes) {
    std::vector<std::string> items;
    const auto* list = r.array(key, max_items, Presence::required);
    if (list == nullptr) return items;
    items.reserve(list->size);
    for (std::uint32_t i = 0; i < list->size && !r.failed(); ++i) {
        items.push_back(r.string_value(list->ptr[i], key, max_bytes));
    }
    return items;
}
inline void write_strings(MapWriter& w, std::string_view key, const std::vector<std::string>& items) {
    w.key(key);
    w.begin_array(items.size());
    for (const auto& item : items) w.value(item);
    w.end();
}

// READY's `holding`: an array of [id, attempt] entries, like a JOBS entry without the queue.
inline void write_held_leases(MapWriter& w, const std::vector<HeldLease>& leases) {
    w.key("holding");
    w.begin_array(leases.size());
    for (const auto& lease : leases) {
        w.begin_array(2);
        w.value(lease.id);
        w.value(lease.attempt);
        w.end();
    }
    w.end();
}
inline std::optional<std::vector<HeldLease>> read_held_leases(const MapReader& r) {
    const auto* list = r.array("holding", kMaxHeldLeases, Presence::optional);
    if (list == nullptr) return std::nullopt;
    std::vector<HeldLease> leases;
    leases.reserve(list->size);
    for (std::uint32_t i = 0; i < list->size && !r.failed(); ++i) {
        const auto& entry = list->ptr[i];
        if (entry.type != msgpack::type::ARRAY || entry.via.array.size != 2) {
            r.fail(ErrorCode::bad_field_type, "holding");
            break;
        }
        HeldLease lease;
        lease.id = r.string_value(entry.via.array.ptr[0], "holding", kMaxJobIdBytes);
        if (lease.id.empty() && !r.failed()) r.fail(ErrorCode::bad_field_value, "holding");
        lease.attempt = static_cast<std::uint32_t>(r.unsigned_value(entry.via.array.ptr[1], "holding", 1, kMaxU32));
        leases.push_back(std::move(lease));
    }
    return leases;
}

// RetryPolicy's fields sit in the map of SUBMIT and QUEUE, each written only when set.
inline void write(MapWriter& w, const RetryPolicy& m) {
    w.optional_field("max_attempts", m.max_attempts);
    w.optional_field("backoff_ms", m.backoff_ms);
    w.optional_field("backoff_max_ms", m.backoff_max_ms);
    w.optional_field("backoff_jitter_pct", m.backoff_jitter_pct);
}
inline void read(const MapReader& r, RetryPolicy& m) {
    m.max_attempts = r.optional_unsigned<std::uint32_t>("max_attempts", 1, kMaxAttemptsLimit);
    m.backoff_ms = r.optional_unsigned("backoff_ms", 1, kMaxBackoffMs);
    m.backoff_max_ms = r.optional_unsigned("backoff_max_ms", 1, kMaxBackoffMs);
    m.backoff_jitter_pct = r.optional_unsigned<std::uint32_t>("backoff_jitter_pct", 0, 100);
}

// A job's history: an array of {attempt, error} maps under "errors".
inline void write_errors(MapWriter& w, const std::vector<AttemptError>& errors) {
    w.key("errors");
    w.begin_array(errors.size());
    for (const auto& e : errors) {
        w.begin_map();
        w.field("attempt", e.attempt);
        w.field("error", e.error);
        w.end();
    }
    w.end();
}
inline std::vector<AttemptError> read_errors(const MapReader& r) {
    std::vector<AttemptError> errors;
    const auto* list = r.array("errors", kMaxAttemptsLimit, Presence::optional);
    if (list == nullptr) return errors;
    for (std::uint32_t i = 0; i < list->size && !r.failed(); ++i) {
        const auto e = r.nested(list->ptr[i], "errors");
        if (!e) break;
        AttemptError entry;
        entry.attempt = e->unsigned_integer<std::uint32_t>("attempt", 0, kMaxU32, std::nullopt);
        entry.error = e->string("error", kMaxHistoryErrorBytes, Presence::optional);
        errors.push_back(std::move(entry));
    }
    return errors;
}

// ---- producer <-> broker ----------------------------------------------------------------

// Optional SUBMIT fields are written only when set, so a plain job stays a small header. SUBMITS
// shares every field but `id` and `unique_key` (protocol.md §5.33), hence the pieces.
inline void write_job_fields(MapWriter& w, const Submit& m) {
    w.field("queue", m.queue);
    w.field("wants_result", m.wants_result);
    if (m.priority != 0) w.field("priority", m.priority);
    write(w, m.retry);
    w.optional_field("timeout_ms", m.timeout_ms);
    if (m.delay_ms != 0) w.field("delay_ms", m.delay_ms);
    w.optional_field("run_at_ms", m.run_at_ms);
}
inline void write_answer_fields(MapWriter& w, const Submit& m) {
    if (m.accept_within_ms != 0) w.field("accept_within_ms", m.accept_within_ms);
    if (m.results_batch != 0) w.field("results_batch", m.results_batch);
    if (m.reads_packed) w.field("reads_packed", true);
}
inline void read_job_fields(const MapReader& r, Submit& m) {
    m.queue = new_queue_name(r);
    m.wants_result = r.boolean("wants_result", false);
    m.priority = r.signed_integer<std::int32_t>("priority", kMinPriority, kMaxPriority, 0);
    read(r, m.retry);
    m.timeout_ms = r.optional_unsigned("timeout_ms", 0, kMaxTimeoutMs);
    m.delay_ms = r.unsigned_integer("delay_ms", 0, kMaxDelayMs, 0);
    m.run_at_ms = r.optional_unsigned("run_at_ms", 0, kMaxU64);
}
inline void read_answer_fields(const MapReader& r, Submit& m) {
    m.accept_within_ms = r.unsigned_integer("accept_within_ms", 0, kMaxAcceptWithinMs, 0);
    m.results_batch = r.unsigned_integer<std::uint32_t>("results_batch", 0, kMaxBatchEntries, 0);
    m.reads_packed = r.boolean("reads_packed", false);
}
// A job is ready after a delay or at a time, never both.
inline void check_ready_time(const MapReader& r, const Submit& m) {
    if (m.delay_ms != 0 && m.run_at_ms) r.fail(ErrorCode::bad_field_value, "run_at_ms");
}

inline void write(MapWriter& w, const Submit& m) {
    w.field("id", m.id);
    write_job_fields(w, m);
    if (!m.unique_key.empty()) w.field("unique_key", m.unique_key);
    write_answer_fields(w, m);
}
inline void read(const MapReader& r, Submit& m) {
    m.id = job_id(r);
    read_job_fields(r, m);
    m.unique_key = r.string("unique_key", kMaxUniqueKeyBytes, Presence::optional);
    read_answer_fields(r, m);
    check_ready_time(r, m);
}

inline void write(MapWriter& w, const Accepted& m) {
    w.field("id", m.id);
    w.field("existed", m.existed);
    w.field("job_id", m.job_id.empty() ? m.id : m.job_id);
    if (m.broker_instance != 0) w.field("broker_instance", m.broker_instance);
    if (m.reads_packed) w.field("reads_packed", true);
}
inline void read(const MapReader& r, Accepted& m) {
    m.id = job_id(r);
    m.existed = r.boolean("existed", false);
    m.job_id = r.string("job_id", kMaxJobIdBytes, Presence::optional);
    m.broker_instance = r.unsigned_integer("broker_instance", 0, kMaxU64, 0);
    m.reads_packed = r.boolean("reads_packed", false);
    if (m.job_id.empty()) m.job_id = m.id;
}

inline void write(MapWriter& w, const JobResult& m) {
    w.field("id", m.id);
    w.field("state", to_string(m.state));
    w.field("attempt", m.attempt);
    w.field("error", m.error);
}
inline void read(const MapReader& r, JobResult& m) {
    m.id = job_id(r);
    m.state = job_state(r, "state");
    m.attempt = attempt(r, 0);
    m.error = r.string("error", kMaxErrorTextBytes, Presence::optional);
    if (!is_final(m.state)) r.fail(ErrorCode::bad_field_value, "state");
}

inline void write(MapWriter& w, const StatusRequest& m) {
    w.field("id", m.id);
    if (m.wants_payload) w.field("payload", true);
}
inline void read(const MapReader& r, StatusRequest& m) {
    m.id = job_id(r);
    m.wants_payload = r.boolean("payload", false);
}

inline void write(MapWriter& w, const StatusReply& m) {
    w.field("id", m.id);
    w.field("queue", m.queue);
    w.field("state", to_string(m.state));
    w.field("attempt", m.attempt);
    if (m.counted_attempts && *m.counted_attempts != m.attempt) w.field("counted_attempts", *m.counted_attempts);
    w.field("worker", m.worker);
    w.field("error", m.error);
    w.field("priority", m.priority);
    w.field("max_attempts", m.max_attempts);
    if (m.progress) {
        w.field("progress", *m.progress);
        w.field("progress_message", m.progress_message);
    }
    w.field("ready_in_ms", m.ready_in_ms);
    write_errors(w, m.errors);
    if (m.broker_instance != 0) w.field("broker_instance", m.broker_instance);
    w.optional_field("created_ms", m.created_ms);
    w.optional_field("started_ms", m.started_ms);
    w.optional_field("finished_ms", m.finished_ms);
    if (m.holds_job_payload) w.field("job_payload", true);
    if (m.is_held_ready) w.field("held_ready", true);
}
inline void read(const MapReader& r, StatusReply& m) {
    m.id = job_id(r);
    m.queue = r.string("queue", kMaxQueueNameBytes, Presence::optional);
    m.state = job_state(r, "state");
    m.attempt = attempt(r, 0);
    m.counted_attempts = r.optional_unsigned<std::uint32_t>("counted_attempts", 0, kMaxU32);
    m.worker = r.string("worker", kMaxWorkerNameBytes, Presence::optional);
    m.error = r.string("error", kMaxErrorTextBytes, Presence::optional);
    m.priority = r.signed_integer<std::int32_t>("priority", kMinPriority, kMaxPriority, 0);
    m.max_attempts = r.unsigned_integer<std::uint32_t>("max_attempts", 0, kMaxAttemptsLimit, 0);
    m.progress = r.optional_unsigned<std::uint32_t>("progress", 0, 100);
    m.progress_message = r.string("progress_message", kMaxProgressMessageBytes, Presence::optional);
    m.ready_in_ms = r.unsigned_integer("ready_in_ms", 0, kMaxU64, 0);
    m.errors = read_errors(r);
    m.broker_instance = r.unsigned_integer("broker_instance", 0, kMaxU64, 0);
    m.created_ms = r.optional_unsigned("created_ms", 0, kMaxU64);
    m.started_ms = r.optional_unsigned("started_ms", 0, kMaxU64);
    m.finished_ms = r.optional_unsigned("finished_ms", 0, kMaxU64);
    m.holds_job_payload = r.boolean("job_payload", false);
    m.is_held_ready = r.boolean("held_ready", false);
}

inline void write(MapWriter&, const StatsRequest&) {}
inline void read(const MapReader&, StatsRequest&) {}

// A Histogram as a map {bounds, counts, sum} (docs/protocol.md §5.7), written only when set.
inline void write_histogram(MapWriter& w, std::string_view key, const std::optional<Histogram>& h) {
    if (!h) return;
    w.key(key);
    w.begin_map(3);
    w.key("bounds");
    w.begin_array(h->bounds.size());
    for (const std::uint64_t bound : h->bounds) w.value(bound);
    w.end();
    w.key("counts");
    w.begin_array(h->counts.size());
    for (const std::uint64_t count : h->counts) w.value(count);
    w.end();
    w.field("sum", h->sum);
    w.end();
}
// Problems inside are reported as "<key>.bounds", "<key>.counts" or "<key>.sum".
inline std::vector<std::uint64_t> read_histogram_array(const MapReader& h, std::string_view key, std::string_view inner,
                                                      std::size_t max_items) {
    const std::string name = std::string(key) + "." + std::string(inner);
    std::vector<std::uint64_t> values;
    const auto* value = h.find(inner);
    if (value == nullptr) return h.fail(ErrorCode::missing_field, name, "missing"), values;
    if (value->type != msgpack::type::ARRAY) return h.fail(ErrorCode::bad_field_type, name, "not an array"), values;
    if (value->via.array.size > max_items) return h.fail(ErrorCode::bad_field_value, name, "too many"), values;
    values.reserve(value->via.array.size);
    for (std::uint32_t i = 0; i < value->via.array.size && !h.failed(); ++i) {
        values.push_back(h.unsigned_value(value->via.array.ptr[i], name));
    }
    return values;
}
inline std::optional<Histogram> read_histogram(const MapReader& r, std::string_view key) {
    const auto* value = r.find(key);
    if (value == nullptr) return std::nullopt;
    const auto h = r.nested(*value, key);
    if (!h) return std::nullopt;
    Histogram histogram;
    histogram.bounds = read_histogram_array(*h, key, "bounds", kMaxHistogramBounds);
    histogram.counts = read_histogram_array(*h, key, "counts", kMaxHistogramBounds + 1);
    const std::string sum = std::string(key) + ".sum";
    if (const auto* total = h->find("sum")) histogram.sum = h->unsigned_value(*total, sum);
    if (r.failed()) return std::nullopt;
    for (std::size_t i = 1; i < histogram.bounds.size(); ++i) {
        if (histogram.bounds[i] <= histogram.bounds[i - 1]) {
            return r.fail(ErrorCode::bad_field_value, std::string(key) + ".bounds", "not increasing"), std::nullopt;
        }
    }
    if (histogram.counts.size() != histogram.bounds.size() + 1) {
        return r.fail(ErrorCode::bad_field_value, std::string(key) + ".counts", "not one more than bounds"), std::nullopt;
    }
    return histogram;
}

// STATS_REPLY keeps its header small (the counters) and puts the queue and worker lists in a
// body frame, which is bounded by the payload limit rather than the 64 KiB header limit.
inline void write(MapWriter& w, const StatsReply& m) {
    w.key("counters");
    w.begin_map(m.counters.size());
    for (const auto& [name, value] : m.counters) w.field(name, value);
    w.end();
    w.optional_field("max_payload_bytes", m.max_payload_bytes);
    if (m.uptime_ms != 0) w.field("uptime_ms", m.uptime_ms);
    if (!m.version.empty()) w.field("version", m.version);
    if (m.broker_instance != 0) w.field("broker_instance", m.broker_instance);
    w.optional_field("last_job_ended_at_ms", m.last_job_ended_at_ms);
}
inline void read(const MapReader& r, StatsReply& m) {
    // Any size: a newer broker may allow more than this one's kMaxPayloadLimitBytes.
    m.max_payload_bytes = r.optional_unsigned("max_payload_bytes", 1, kMaxU64);
    m.uptime_ms = r.unsigned_integer("uptime_ms", 0, kMaxU64, 0);
    m.version = r.string("version", 64, Presence::optional);
    m.broker_instance = r.unsigned_integer("broker_instance", 0, kMaxU64, 0);
    m.last_job_ended_at_ms = r.optional_unsigned("last_job_ended_at_ms", 0, kMaxU64);
    const auto* counters = r.find("counters");
    if (counters == nullptr) return;
    if (counters->type != msgpack::type::MAP) return r.fail(ErrorCode::bad_field_type, "counters");
    for (std::uint32_t i = 0; i < counters->via.map.size && !r.failed(); ++i) {
        const auto& entry = counters->via.map.ptr[i];
        std::string name = r.string_value(entry.key, "counters", 64);
        const std::uint64_t value = r.unsigned_value(entry.val, "counters");
        if (!r.failed()) m.counters[std::move(name)] = value;
    }
}
inline void write_body(MapWriter& w, const StatsReply& m) {
    w.key("queues");
    w.begin_array(m.queues.size());
    for (const auto& q : m.queues) {
        w.begin_map();
        w.field("name", q.name);
        w.field("pending", q.pending);
        w.field("in_flight", q.in_flight);
        w.field("done", q.done);
        w.field("failed", q.failed);
        w.field("delayed", q.delayed);
        w.field("dead", q.dead);
        w.field("paused", q.is_paused);
        w.optional_field("oldest_pending_ms", q.oldest_pending_ms);
        // The event counters only when not 0: an idle queue's entry stays as small as before.
        if (q.submitted != 0) w.field("submitted", q.submitted);
        if (q.retried != 0) w.field("retried", q.retried);
        if (q.requeued != 0) w.field("requeued", q.requeued);
        if (q.timed_out != 0) w.field("timed_out", q.timed_out);
        if (q.cancelled != 0) w.field("cancelled", q.cancelled);
        write_histogram(w, "wait", q.wait);
        write_histogram(w, "run", q.run);
        w.end();
    }
    w.end();
    w.key("workers");
    w.begin_array(m.workers.size());
    for (const auto& worker : m.workers) {
        w.begin_map();
        w.field("name", worker.name);
        write_strings(w, "queues", worker.queues);
        w.field("capacity", worker.capacity);
        w.field("in_flight", worker.in_flight);
        w.field("last_heartbeat_ms", worker.last_heartbeat_ms);
        w.field("draining", worker.is_draining);
        w.field("done", worker.done);
        w.field("failed", worker.failed);
        if (!worker.address.empty()) w.field("address", worker.address);
        if (!worker.key.empty()) w.field("key", worker.key);
        if (worker.prefetch != 0) w.field("prefetch", worker.prefetch);
        if (worker.prefetch != 0) w.field("ready_depth", worker.ready_depth);
        w.end();
    }
    w.end();
    write_histogram(w, "journal_fsync", m.journal_fsync);
    write_histogram(w, "journal_records_per_fsync", m.journal_records_per_fsync);
}
inline QueueStats read_queue_stats(const MapReader& q) {
    QueueStats stats;
    stats.name = q.string("name", kMaxQueueNameBytes, Presence::non_empty);
    stats.pending = q.unsigned_integer("pending", 0, kMaxU64, 0);
    stats.in_flight = q.unsigned_integer("in_flight", 0, kMaxU64, 0);
    stats.done = q.unsigned_integer("done", 0, kMaxU64, 0);
    stats.failed = q.unsigned_integer("failed", 0, kMaxU64, 0);
    stats.delayed = q.unsigned_integer("delayed", 0, kMaxU64, 0);
    stats.dead = q.unsigned_integer("dead", 0, kMaxU64, 0);
    stats.is_paused = q.boolean("paused", false);
    stats.oldest_pending_ms = q.optional_unsigned("oldest_pending_ms", 0, kMaxU64);
    stats.submitted = q.unsigned_integer("submitted", 0, kMaxU64, 0);
    stats.retried = q.unsigned_integer("retried", 0, kMaxU64, 0);
    stats.requeued = q.unsigned_integer("requeued", 0, kMaxU64, 0);
    stats.timed_out = q.unsigned_integer("timed_out", 0, kMaxU64, 0);
    stats.cancelled = q.unsigned_integer("cancelled", 0, kMaxU64, 0);
    stats.wait = read_histogram(q, "wait");
    stats.run = read_histogram(q, "run");
    return stats;
}
inline WorkerStats read_worker_stats(const MapReader& w) {
    WorkerStats stats;
    stats.name = w.string("name", kMaxWorkerNameBytes, Presence::optional);
    stats.queues = strings(w, "queues", kMaxQueuesPerWorker, kMaxQueueNameBytes);
    stats.capacity = w.unsigned_integer<std::uint32_t>("capacity", 0, kMaxCapacity, 0);
    stats.in_flight = w.unsigned_integer<std::uint32_t>("in_flight", 0, kMaxU32, 0);
    stats.last_heartbeat_ms = w.unsigned_integer("last_heartbeat_ms", 0, kMaxU64, 0);
    stats.is_draining = w.boolean("draining", false);
    stats.done = w.unsigned_integer("done", 0, kMaxU64, 0);
    stats.failed = w.unsigned_integer("failed", 0, kMaxU64, 0);
    stats.address = w.string("address", kMaxWorkerNameBytes, Presence::optional);
    stats.key = w.string("key", kMaxKeyNameBytes, Presence::optional);
    stats.prefetch = w.unsigned_integer<std::uint32_t>("prefetch", 0, kMaxPrefetch, 0);
    stats.ready_depth = w.unsigned_integer<std::uint32_t>("ready_depth", 0, kMaxPrefetch, 0);
    return stats;
}
inline void read_body(const MapReader& r, StatsReply& m) {
    const auto* queues = r.find("queues");
    const auto* workers = r.find("workers");
    if (queues == nullptr) return r.fail(ErrorCode::missing_field, "queues", "missing");
    if (workers == nullptr) return r.fail(ErrorCode::missing_field, "workers", "missing");
    if (queues->type != msgpack::type::ARRAY) return r.fail(ErrorCode::bad_field_type, "queues");
    if (workers->type != msgpack::type::ARRAY) return r.fail(ErrorCode::bad_field_type, "workers");
    m.queues.reserve(queues->via.array.size);
    for (std::uint32_t i = 0; i < queues->via.array.size && !r.failed(); ++i) {
        if (const auto q = r.nested(queues->via.array.ptr[i], "queues")) m.queues.push_back(read_queue_stats(*q));
    }
    m.workers.reserve(workers->via.array.size);
    for (std::uint32_t i = 0; i < workers->via.array.size && !r.failed(); ++i) {
        if (const auto w = r.nested(workers->via.array.ptr[i], "workers")) m.workers.push_back(read_worker_stats(*w));
    }
    m.journal_fsync = read_histogram(r, "journal_fsync");
    m.journal_records_per_fsync = read_histogram(r, "journal_records_per_fsync");
}

inline void write(MapWriter& w, const Error& m) {
    w.field("code", to_string(m.code));
    w.field("message", m.message);
    w.field("id", m.id);
    w.field("command", m.command);
    w.optional_field("max_payload_bytes", m.max_payload_bytes);
    w.optional_field("max_in_flight", m.max_in_flight);
}
inline void read(const MapReader& r, Error& m) {
    const std::string code = r.string("code", 64, Presence::non_empty);
    m.message = r.string("message", kMaxErrorTextBytes, Presence::optional);
    m.id = r.string("id", std::max(kMaxJobIdBytes, kMaxQueueNameBytes), Presence::optional);
    m.command = r.string("command", 32, Presence::optional);
    m.max_payload_bytes = r.optional_unsigned("max_payload_bytes", 1, kMaxU64);
    m.max_in_flight = r.optional_unsigned("max_in_flight", 1, kMaxU64);
    // An unknown code from a newer broker is still an error: report it as internal.
    m.code = parse_error_code(code).value_or(ErrorCode::internal);
}

inline void write(MapWriter& w, const Cancel& m) { w.field("id", m.id); }
inline void read(const MapReader& r, Cancel& m) { m.id = job_id(r); }

inline void write(MapWriter& w, const Retry& m) {
    if (!m.id.empty()) w.field("id", m.id);
    if (!m.queue.empty()) w.field("queue", m.queue);
}
inline void read(const MapReader& r, Retry& m) {
    m.id = r.string("id", kMaxJobIdBytes, Presence::optional);
    m.queue = r.string("queue", kMaxQueueNameBytes, Presence::optional);
    // Exactly one: a job, or a queue's whole dead set.
    if (m.id.empty() == m.queue.empty()) {
        r.fail(m.id.empty() ? ErrorCode::missing_field : ErrorCode::bad_field_value, "id");
    }
}

inline void write(MapWriter& w, const Purge& m) {
    w.field("queue", m.queue);
    if (!m.id.empty()) w.field("id", m.id);
}
inline void read(const MapReader& r, Purge& m) {
    m.queue = queue_name(r);
    m.id = r.string("id", kMaxJobIdBytes, Presence::optional);
}

inline void write(MapWriter& w, const DeadRequest& m) {
    w.field("queue", m.queue);
    w.field("limit", m.limit);
}
inline void read(const MapReader& r, DeadRequest& m) {
    m.queue = queue_name(r);
    m.limit = r.unsigned_integer<std::uint32_t>("limit", 1, kMaxDeadListed, 100);
}

// DEAD_REPLY: the count in the header, the jobs in a body frame (as STATS_REPLY).
inline void write(MapWriter& w, const DeadReply& m) {
    w.field("queue", m.queue);
    w.field("total", m.total);
}
inline void read(const MapReader& r, DeadReply& m) {
    m.queue = queue_name(r);
    m.total = r.unsigned_integer("total", 0, kMaxU64, 0);
}
inline void write_body(MapWriter& w, const DeadReply& m) {
    w.key("jobs");
    w.begin_array(m.jobs.size());
    for (const auto& job : m.jobs) {
        w.begin_map();
        w.field("id", job.id);
        w.field("attempts", job.attempts);
        w.field("died_ms_ago", job.died_ms_ago);
        w.optional_field("died_ms", job.died_ms);
        w.field("payload_bytes", job.payload_bytes);
        w.field("priority", job.priority);
        write_errors(w, job.errors);
        w.end();
    }
    w.end();
}
inline void read_body(const MapReader& r, DeadReply& m) {
    const auto* jobs = r.find("jobs");
    if (jobs == nullptr) return r.fail(ErrorCode::missing_field, "jobs", "missing");
    if (jobs->type != msgpack::type::ARRAY) return r.fail(ErrorCode::bad_field_type, "jobs");
    for (std::uint32_t i = 0; i < jobs->via.array.size && !r.failed(); ++i) {
        const auto j = r.nested(jobs->via.array.ptr[i], "jobs");
        if (!j) break;
        DeadJob job;
        job.id = job_id(*j);
        job.attempts = j->unsigned_integer<std::uint32_t>("attempts", 0, kMaxU32, 0);
        job.died_ms_ago = j->unsigned_integer("died_ms_ago", 0, kMaxU64, 0);
        job.died_ms = j->optional_unsigned("died_ms", 0, kMaxU64);
        job.payload_bytes = j->unsigned_integer("payload_bytes", 0, kMaxU64, 0);
        job.priority = j->signed_integer<std::int32_t>("priority", kMinPriority, kMaxPriority, 0);
        job.errors = read_errors(*j);
        m.jobs.push_back(std::move(job));
    }
}

inline void write(MapWriter& w, const QueueSettings& m) {
    w.field("queue", m.queue);
    if (m.should_create) w.field("create", true);
    if (m.was_created) w.field("created", true);
    w.optional_field("paused", m.is_paused);
    w.optional_field("max_length", m.max_length);
    write(w, m.retry);
    w.optional_field("timeout_ms", m.timeout_ms);
    w.optional_field("dead_max_count", m.dead_max_count);
    w.optional_field("dead_max_age_ms", m.dead_max_age_ms);
}
inline void read(const MapReader& r, QueueSettings& m) {
    m.queue = queue_name(r);
    m.should_create = r.boolean("create", false);
    if (m.should_create) check_new_queue_name(r, m.queue, "queue");
    m.was_created = r.boolean("created", false);
    m.is_paused = r.optional_boolean("paused");
    m.max_length = r.optional_unsigned("max_length", 0, kMaxU64);
    read(r, m.retry);
    m.timeout_ms = r.optional_unsigned("timeout_ms", 0, kMaxTimeoutMs);
    m.dead_max_count = r.optional_unsigned("dead_max_count", 0, kMaxU64);
    m.dead_max_age_ms = r.optional_unsigned("dead_max_age_ms", 1, kMaxDeadAgeMs);
}

inline void write(MapWriter& w, const Ok& m) {
    w.field("command", m.command);
    w.field("id", m.id);
    w.field("count", m.count);
}
inline void read(const MapReader& r, Ok& m) {
    m.command = r.string("command", 32, Presence::non_empty);
    m.id = r.string("id", std::max(kMaxJobIdBytes, kMaxQueueNameBytes), Presence::optional);
    m.count = r.unsigned_integer("count", 0, kMaxU64, 0);
}

// ---- producer <-> broker: looking into queues ---------------------------------------------

inline void write(MapWriter& w, const ListRequest& m) {
    w.field("queue", m.queue);
    w.field("state", to_string(m.state));
    if (!m.after.empty()) w.field("after", m.after);
    w.field("limit", m.limit);
}
inline ListedState listed_state(const MapReader& r) {
    const auto state = parse_listed_state(r.string("state", 16, Presence::non_empty));
    if (!state) r.fail(ErrorCode::bad_field_value, "state");
    return state.value_or(ListedState::pending);
}
inline void read(const MapReader& r, ListRequest& m) {
    m.queue = queue_name(r);
    m.state = listed_state(r);
    m.after = r.string("after", kMaxJobIdBytes, Presence::optional);
    m.limit = r.unsigned_integer<std::uint32_t>("limit", 1, kMaxListed, 100);
}

// LIST_REPLY: the page's bounds in the header, the jobs in a body frame (as DEAD_REPLY).
inline void write(MapWriter& w, const ListReply& m) {
    w.field("queue", m.queue);
    w.field("state", to_string(m.state));
    w.field("total", m.total);
    w.field("next", m.next);
}
inline void read(const MapReader& r, ListReply& m) {
    m.queue = queue_name(r);
    m.state = listed_state(r);
    m.total = r.unsigned_integer("total", 0, kMaxU64, 0);
    m.next = r.string("next", kMaxJobIdBytes, Presence::optional);
}
inline void write_body(MapWriter& w, const ListReply& m) {
    w.key("jobs");
    w.begin_array(m.jobs.size());
    for (const auto& job : m.jobs) {
        w.begin_map();
        w.field("id", job.id);
        w.field("attempt", job.attempt);
        if (job.counted_attempts && *job.counted_attempts != job.attempt) {
            w.field("counted_attempts", *job.counted_attempts);
        }
        w.field("max_attempts", job.max_attempts);
        w.field("priority", job.priority);
        w.field("payload_bytes", job.payload_bytes);
        w.optional_field("created_ms", job.created_ms);
        w.optional_field("ready_at_ms", job.ready_at_ms);
        w.optional_field("started_ms", job.started_ms);
        if (!job.worker.empty()) w.field("worker", job.worker);
        if (job.is_held_ready) w.field("held_ready", true);
        w.optional_field("died_ms", job.died_ms);
        if (!job.error.empty()) w.field("error", job.error);
        w.end();
    }
    w.end();
}
inline ListedJob read_listed_job(const MapReader& j) {
    ListedJob job;
    job.id = job_id(j);
    job.attempt = j.unsigned_integer<std::uint32_t>("attempt", 0, kMaxU32, 0);
    job.counted_attempts = j.optional_unsigned<std::uint32_t>("counted_attempts", 0, kMaxU32);
    job.max_attempts = j.unsigned_integer<std::uint32_t>("max_attempts", 0, kMaxAttemptsLimit, 0);
    job.priority = j.signed_integer<std::int32_t>("priority", kMinPriority, kMaxPriority, 0);
    job.payload_bytes = j.unsigned_integer("payload_bytes", 0, kMaxU64, 0);
    job.created_ms = j.optional_unsigned("created_ms", 0, kMaxU64);
    job.ready_at_ms = j.optional_unsigned("ready_at_ms", 0, kMaxU64);
    job.started_ms = j.optional_unsigned("started_ms", 0, kMaxU64);
    job.worker = j.string("worker", kMaxWorkerNameBytes, Presence::optional);
    job.is_held_ready = j.boolean("held_ready", false);
    job.died_ms = j.optional_unsigned("died_ms", 0, kMaxU64);
    job.error = j.string("error", kMaxHistoryErrorBytes, Presence::optional);
    return job;
}
inline void read_body(const MapReader& r, ListReply& m) {
    const auto* jobs = r.find("jobs");
    if (jobs == nullptr) return r.fail(ErrorCode::missing_field, "jobs", "missing");
    if (jobs->type != msgpack::type::ARRAY) return r.fail(ErrorCode::bad_field_type, "jobs");
    m.jobs.reserve(jobs->via.array.size);
    for (std::uint32_t i = 0; i < jobs->via.array.size && !r.failed(); ++i) {
        if (const auto j = r.nested(jobs->via.array.ptr[i], "jobs")) m.jobs.push_back(read_listed_job(*j));
    }
}

inline void write(MapWriter& w, const Clear& m) {
    w.field("queue", m.queue);
    w.field("pending", m.includes_pending);
    w.field("delayed", m.includes_delayed);
}
inline void read(const MapReader& r, Clear& m) {
    m.queue = queue_name(r);
    m.includes_pending = r.boolean("pending", true);
    m.includes_delayed = r.boolean("delayed", false);
    // A request that clears nothing is a mistake, not a no-op.
    if (!m.includes_pending && !m.includes_delayed) r.fail(ErrorCode::bad_field_value, "pending");
}

inline void write(MapWriter& w, const DeleteQueue& m) {
    w.field("queue", m.queue);
    if (m.is_forced) w.field("force", true);
}
inline void read(const MapReader& r, DeleteQueue& m) {
    m.queue = queue_name(r);
    m.is_forced = r.boolean("force", false);
}

// ---- worker <-> broker ------------------------------------------------------------------

inline void write(MapWriter& w, const Ready& m) {
    write_strings(w, "queues", m.queues);
    w.field("capacity", m.capacity);
    w.field("name", m.name);
    if (m.batch != 0) w.field("batch", m.batch);
    if (m.instance != 0) w.field("instance", m.instance);
    if (m.holding) write_held_leases(w, *m.holding);
    if (m.prefetch != 0) w.field("prefetch", m.prefetch);
    if (m.idle_heartbeat) w.field("idle_heartbeat", true);
    if (m.reads_packed) w.field("reads_packed", true);
}
inline void read(const MapReader& r, Ready& m) {
    m.queues = strings(r, "queues", kMaxQueuesPerWorker, kMaxQueueNameBytes);
    for (const auto& queue : m.queues) {
        if (!queue.empty()) check_new_queue_name(r, queue, "queues");
    }
    m.capacity = r.unsigned_integer<std::uint32_t>("capacity", 1, kMaxCapacity, std::nullopt);
    m.name = r.string("name", kMaxWorkerNameBytes, Presence::optional);
    const bool has_empty_queue = std::any_of(m.queues.begin(), m.queues.end(), [](const auto& q) { return q.empty(); });
    if (m.queues.empty() || has_empty_queue) r.fail(ErrorCode::bad_field_value, "queues");
    m.batch = r.unsigned_integer<std::uint32_t>("batch", 0, kMaxBatchEntries, 0);
    m.instance = r.unsigned_integer("instance", 0, kMaxU64, 0);
    m.holding = read_held_leases(r);
    m.prefetch = r.unsigned_integer<std::uint32_t>("prefetch", 0, kMaxPrefetch, 0);
    m.idle_heartbeat = r.boolean("idle_heartbeat", false);
    m.reads_packed = r.boolean("reads_packed", false);
}

inline void write(MapWriter& w, const Job& m) {
    w.field("id", m.id);
    w.field("queue", m.queue);
    w.field("attempt", m.attempt);
}
inline void read(const MapReader& r, Job& m) {
    m.id = job_id(r);
    m.queue = queue_name(r);
    m.attempt = attempt(r, 1);
}

inline void write(MapWriter& w, const Done& m) {
    w.field("id", m.id);
    w.field("attempt", m.attempt);
}
inline void read(const MapReader& r, Done& m) {
    m.id = job_id(r);
    m.attempt = attempt(r, 1);
}

inline void write(MapWriter& w, const Fail& m) {
    w.field("id", m.id);
    w.field("attempt", m.attempt);
    w.field("error", m.error);
    if (m.is_permanent) w.field("permanent", true);
    if (m.is_not_started) w.field("not_started", true);
}
inline void read(const MapReader& r, Fail& m) {
    m.id = job_id(r);
    m.attempt = attempt(r, 1);
    m.error = r.string("error", kMaxErrorTextBytes, Presence::optional);
    m.is_permanent = r.boolean("permanent", false);
    m.is_not_started = r.boolean("not_started", false);
}

inline void write(MapWriter& w, const Heartbeat& m) {
    w.optional_field("interval_ms", m.interval_ms);
    w.optional_field("liveness", m.liveness);
    w.optional_field("batch", m.batch);
    w.optional_field("max_payload_bytes", m.max_payload_bytes);
    w.optional_field("idle_interval_ms", m.idle_interval_ms);
    if (m.reads_packed) w.field("reads_packed", true);
}
inline void read(const MapReader& r, Heartbeat& m) {
    m.interval_ms =
        r.optional_unsigned<std::uint32_t>("interval_ms", kMinHeartbeatInterval.count(), kMaxHeartbeatInterval.count());
    m.liveness = r.optional_unsigned<std::uint32_t>("liveness", 1, 100);
    m.batch = r.optional_unsigned<std::uint32_t>("batch", 1, kMaxBatchEntries);
    m.max_payload_bytes = r.optional_unsigned("max_payload_bytes", 1, kMaxU64);
    m.idle_interval_ms = r.optional_unsigned<std::uint32_t>("idle_interval_ms", kMinHeartbeatInterval.count(),
                                                            kMaxIdleHeartbeatInterval.count());
    m.reads_packed = r.boolean("reads_packed", false);
}

inline void write(MapWriter&, const Drain&) {}
inline void read(const MapReader&, Drain&) {}

inline void write(MapWriter& w, const Disconnect& m) { w.field("reason", m.reason); }
inline void read(const MapReader& r, Disconnect& m) {
    m.reason = r.string("reason", kMaxErrorTextBytes, Presence::optional);
}

inline void write(MapWriter& w, const Recall& m) {
    w.field("id", m.id);
    w.field("attempt", m.attempt);
}
inline void read(const MapReader& r, Recall& m) {
    m.id = job_id(r);
    m.attempt = attempt(r, 1);
}

inline void write(MapWriter& w, const Progress& m) {
    w.field("id", m.id);
    w.field("attempt", m.attempt);
    w.field("percent", m.percent);
    w.field("message", m.message);
}
inline void read(const MapReader& r, Progress& m) {
    m.id = job_id(r);
    m.attempt = attempt(r, 1);
    m.percent = r.unsigned_integer<std::uint32_t>("percent", 0, 100, std::nullopt);
    m.message = r.string("message", kMaxProgressMessageBytes, Presence::optional);
}

inline void write(MapWriter& w, const Abandon& m) {
    w.field("id", m.id);
    w.field("attempt", m.attempt);
    w.field("reason", m.reason);
}
inline void read(const MapReader& r, Abandon& m) {
    m.id = job_id(r);
    m.attempt = attempt(r, 1);
    m.reason = r.string("reason", kMaxErrorTextBytes, Presence::optional);
}

// ---- batches: one array entry per payload frame (docs/protocol.md §5.25 to §5.27) -----------
// Each entry is an array of fixed length; any problem in an entry is reported under the list's
// key. batch_entries() names the entries whose payloads travel as the frames after the header,
// or packed in one frame when the header says `packed` (§3.1; codec.hpp frames them).

// The batch list `key`: present, an array of 1..kMaxBatchEntries entries.
inline const msgpack::object_array* batch_list(const MapReader& r, std::string_view key) {
    const auto* list = r.array(key, kMaxBatchEntries, Presence::required);
    if (list != nullptr && list->size == 0) return r.fail(ErrorCode::bad_field_value, key), nullptr;
    return list;
}
// The fields of entry `i`, which must be an array of `fields` values; nullptr on a problem.
inline const msgpack::object* batch_entry(const MapReader& r, const msgpack::object_array& list, std::uint32_t i,
                                          std::string_view key, std::uint32_t fields) {
    const auto& entry = list.ptr[i];
    if (entry.type != msgpack::type::ARRAY || entry.via.array.size != fields) {
        return r.fail(ErrorCode::bad_field_type, key), nullptr;
    }
    return entry.via.array.ptr;
}
inline std::string batch_text(const MapReader& r, const msgpack::object& value, std::string_view key,
                              std::size_t max_bytes) {
    std::string text = r.string_value(value, key, max_bytes);
    if (text.empty()) r.fail(ErrorCode::bad_field_value, key);
    return text;
}

inline void write(MapWriter& w, const Jobs& m) {
    w.key("jobs");
    w.begin_array(m.jobs.size());
    for (const auto& job : m.jobs) {
        w.begin_array(3);
        w.value(job.id);
        w.value(job.queue);
        w.value(job.attempt);
        w.end();
    }
    w.end();
    if (m.is_packed) w.field("packed", true);
}
inline void read(const MapReader& r, Jobs& m) {
    const auto* list = batch_list(r, "jobs");
    for (std::uint32_t i = 0; list != nullptr && i < list->size && !r.failed(); ++i) {
        const msgpack::object* field = batch_entry(r, *list, i, "jobs", 3);
        if (field == nullptr) break;
        Job job;
        job.id = batch_text(r, field[0], "jobs", kMaxJobIdBytes);
        job.queue = batch_text(r, field[1], "jobs", kMaxQueueNameBytes);
        job.attempt = static_cast<std::uint32_t>(r.unsigned_value(field[2], "jobs", 1, kMaxU32));
        m.jobs.push_back(std::move(job));
    }
    m.is_packed = r.boolean("packed", false);
}
inline std::vector<Job>& batch_entries(Jobs& m) { return m.jobs; }

inline void write(MapWriter& w, const Dones& m) {
    w.key("done");
    w.begin_array(m.done.size());
    for (const auto& done : m.done) {
        w.begin_array(2);
        w.value(done.id);
        w.value(done.attempt);
        w.end();
    }
    w.end();
    if (m.is_packed) w.field("packed", true);
}
inline void read(const MapReader& r, Dones& m) {
    const auto* list = batch_list(r, "done");
    for (std::uint32_t i = 0; list != nullptr && i < list->size && !r.failed(); ++i) {
        const msgpack::object* field = batch_entry(r, *list, i, "done", 2);
        if (field == nullptr) break;
        Done done;
        done.id = batch_text(r, field[0], "done", kMaxJobIdBytes);
        done.attempt = static_cast<std::uint32_t>(r.unsigned_value(field[1], "done", 1, kMaxU32));
        m.done.push_back(std::move(done));
    }
    m.is_packed = r.boolean("packed", false);
}
inline std::vector<Done>& batch_entries(Dones& m) { return m.done; }

inline void write(MapWriter& w, const Results& m) {
    w.key("results");
    w.begin_array(m.results.size());
    for (const auto& result : m.results) {
        w.begin_array(4);
        w.value(result.id);
        w.value(to_string(result.state));
        w.value(result.attempt);
        w.value(result.error);
        w.end();
    }
    w.end();
    if (m.is_packed) w.field("packed", true);
}
inline void read(const MapReader& r, Results& m) {
    const auto* list = batch_list(r, "results");
    for (std::uint32_t i = 0; list != nullptr && i < list->size && !r.failed(); ++i) {
        const msgpack::object* field = batch_entry(r, *list, i, "results", 4);
        if (field == nullptr) break;
        JobResult result;
        result.id = batch_text(r, field[0], "results", kMaxJobIdBytes);
        const auto state = parse_job_state(r.string_value(field[1], "results", 16));
        if (!state || !is_final(*state)) r.fail(ErrorCode::bad_field_value, "results");
        result.state = state.value_or(JobState::done);
        result.attempt = static_cast<std::uint32_t>(r.unsigned_value(field[2], "results", 0, kMaxU32));
        result.error = r.string_value(field[3], "results", kMaxErrorTextBytes);
        m.results.push_back(std::move(result));
    }
    m.is_packed = r.boolean("packed", false);
}
inline std::vector<JobResult>& batch_entries(Results& m) { return m.results; }

inline void write(MapWriter& w, const Submits& m) {
    write_job_fields(w, m.shared);
    write_answer_fields(w, m.shared);
    w.key("ids");
    w.begin_array(m.entries.size());
    for (const auto& entry : m.entries) w.value(entry.id);
    w.end();
    if (m.is_packed) w.field("packed", true);
}
inline void read(const MapReader& r, Submits& m) {
    read_job_fields(r, m.shared);
    // Each entry is a job of its own, and a shared key would make them one job (§12): jobs with
    // a unique_key travel as SUBMIT. Refused rather than ignored, so that it cannot go unnoticed.
    if (!r.failed() && r.find("unique_key") != nullptr) {
        r.fail(ErrorCode::bad_field_value, "unique_key", "a SUBMITS carries no unique_key: send such a job as SUBMIT");
    }
    read_answer_fields(r, m.shared);
    const auto* list = batch_list(r, "ids");
    for (std::uint32_t i = 0; list != nullptr && i < list->size && !r.failed(); ++i) {
        SubmitsEntry entry;
        entry.id = batch_text(r, list->ptr[i], "ids", kMaxJobIdBytes);
        m.entries.push_back(std::move(entry));
    }
    m.is_packed = r.boolean("packed", false);
    check_ready_time(r, m.shared);
}
inline std::vector<SubmitsEntry>& batch_entries(Submits& m) { return m.entries; }

}  // namespace corsair::protocol::detail
