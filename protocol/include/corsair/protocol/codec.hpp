// encode() turns a Message into frames; decode() validates frames and returns a Message or a
// typed DecodeError. decode() never throws: every msgpack failure becomes an error code.
//
// Frames (docs/protocol.md §Framing):
//   0  signature  4 bytes: 'C' 'S' 'R' version
//   1  command    1 byte, a Command code
//   2  header     one msgpack map with string keys
//   3  payload    raw bytes; present exactly for commands where carries_payload() is true
//                 (for STATS_REPLY and DEAD_REPLY it is a msgpack body with their lists)
#pragma once

#include <algorithm>
#include <cstring>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include <msgpack.hpp>
#include <zmq.hpp>

#include "corsair/protocol/command.hpp"
#include "corsair/protocol/error_code.hpp"
#include "corsair/protocol/header_map.hpp"
#include "corsair/protocol/limits.hpp"
#include "corsair/protocol/messages.hpp"
#include "corsair/protocol/result.hpp"

namespace corsair::protocol {

using Frames = std::vector<zmq::message_t>;

struct DecodeLimits {
    std::size_t max_payload_bytes = kDefaultMaxPayloadBytes;
};

namespace detail {

inline std::uint32_t field_count(const RetryPolicy& r) {
    return (r.max_attempts ? 1 : 0) + (r.backoff_ms ? 1 : 0) + (r.backoff_max_ms ? 1 : 0) +
           (r.backoff_jitter_pct ? 1 : 0);
}
inline void write_fields(Packer& p, const RetryPolicy& r) {
    if (r.max_attempts) pack_key(p, "max_attempts"), p.pack(*r.max_attempts);
    if (r.backoff_ms) pack_key(p, "backoff_ms"), p.pack(*r.backoff_ms);
    if (r.backoff_max_ms) pack_key(p, "backoff_max_ms"), p.pack(*r.backoff_max_ms);
    if (r.backoff_jitter_pct) pack_key(p, "backoff_jitter_pct"), p.pack(*r.backoff_jitter_pct);
}
inline void write_errors(Packer& p, const std::vector<AttemptError>& errors) {
    p.pack_array(static_cast<std::uint32_t>(errors.size()));
    for (const auto& e : errors) {
        p.pack_map(2);
        pack_key(p, "attempt"), p.pack(e.attempt);
        pack_key(p, "error"), pack_string(p, e.error);
    }
}

// Optional SUBMIT fields are written only when set, so a plain job stays a small header.
inline void write_header(Packer& p, const Submit& m) {
    p.pack_map(3 + (m.priority != 0 ? 1 : 0) + field_count(m.retry) + (m.timeout_ms ? 1 : 0) +
               (m.delay_ms != 0 ? 1 : 0) + (m.run_at_ms ? 1 : 0) + (m.unique_key.empty() ? 0 : 1) +
               (m.accept_within_ms != 0 ? 1 : 0) + (m.results_batch != 0 ? 1 : 0));
    pack_key(p, "id"), pack_string(p, m.id);
    pack_key(p, "queue"), pack_string(p, m.queue);
    pack_key(p, "wants_result"), p.pack(m.wants_result);
    if (m.priority != 0) pack_key(p, "priority"), p.pack(m.priority);
    write_fields(p, m.retry);
    if (m.timeout_ms) pack_key(p, "timeout_ms"), p.pack(*m.timeout_ms);
    if (m.delay_ms != 0) pack_key(p, "delay_ms"), p.pack(m.delay_ms);
    if (m.run_at_ms) pack_key(p, "run_at_ms"), p.pack(*m.run_at_ms);
    if (!m.unique_key.empty()) pack_key(p, "unique_key"), pack_string(p, m.unique_key);
    if (m.accept_within_ms != 0) pack_key(p, "accept_within_ms"), p.pack(m.accept_within_ms);
    if (m.results_batch != 0) pack_key(p, "results_batch"), p.pack(m.results_batch);
}
inline void write_header(Packer& p, const Accepted& m) {
    p.pack_map(m.broker_instance != 0 ? 4 : 3);
    pack_key(p, "id"), pack_string(p, m.id);
    pack_key(p, "existed"), p.pack(m.existed);
    pack_key(p, "job_id"), pack_string(p, m.job_id.empty() ? m.id : m.job_id);
    if (m.broker_instance != 0) pack_key(p, "broker_instance"), p.pack(m.broker_instance);
}
inline void write_header(Packer& p, const JobResult& m) {
    p.pack_map(4);
    pack_key(p, "id"), pack_string(p, m.id);
    pack_key(p, "state"), pack_string(p, to_string(m.state));
    pack_key(p, "attempt"), p.pack(m.attempt);
    pack_key(p, "error"), pack_string(p, m.error);
}
inline void write_header(Packer& p, const StatusRequest& m) {
    p.pack_map(1);
    pack_key(p, "id"), pack_string(p, m.id);
}
inline void write_header(Packer& p, const StatusReply& m) {
    p.pack_map(10 + (m.progress ? 2 : 0) + (m.broker_instance != 0 ? 1 : 0));
    pack_key(p, "id"), pack_string(p, m.id);
    pack_key(p, "queue"), pack_string(p, m.queue);
    pack_key(p, "state"), pack_string(p, to_string(m.state));
    pack_key(p, "attempt"), p.pack(m.attempt);
    pack_key(p, "worker"), pack_string(p, m.worker);
    pack_key(p, "error"), pack_string(p, m.error);
    pack_key(p, "priority"), p.pack(m.priority);
    pack_key(p, "max_attempts"), p.pack(m.max_attempts);
    if (m.progress) {
        pack_key(p, "progress"), p.pack(*m.progress);
        pack_key(p, "progress_message"), pack_string(p, m.progress_message);
    }
    pack_key(p, "ready_in_ms"), p.pack(m.ready_in_ms);
    pack_key(p, "errors"), write_errors(p, m.errors);
    if (m.broker_instance != 0) pack_key(p, "broker_instance"), p.pack(m.broker_instance);
}
inline void write_header(Packer& p, const StatsRequest&) { p.pack_map(0); }
// STATS_REPLY keeps its header small (the counters) and puts the queue and worker lists in a
// body frame, which is bounded by the payload limit rather than the 64 KiB header limit.
inline void write_header(Packer& p, const StatsReply& m) {
    p.pack_map(1);
    pack_key(p, "counters");
    p.pack_map(static_cast<std::uint32_t>(m.counters.size()));
    for (const auto& [name, value] : m.counters) {
        pack_string(p, name);
        p.pack(value);
    }
}
inline zmq::message_t stats_body(const StatsReply& m) {
    msgpack::sbuffer buffer(256 + 96 * (m.queues.size() + m.workers.size()));
    Packer p(buffer);
    p.pack_map(2);
    pack_key(p, "queues");
    p.pack_array(static_cast<std::uint32_t>(m.queues.size()));
    for (const auto& q : m.queues) {
        p.pack_map(8);
        pack_key(p, "name"), pack_string(p, q.name);
        pack_key(p, "pending"), p.pack(q.pending);
        pack_key(p, "in_flight"), p.pack(q.in_flight);
        pack_key(p, "done"), p.pack(q.done);
        pack_key(p, "failed"), p.pack(q.failed);
        pack_key(p, "delayed"), p.pack(q.delayed);
        pack_key(p, "dead"), p.pack(q.dead);
        pack_key(p, "paused"), p.pack(q.is_paused);
    }
    pack_key(p, "workers");
    p.pack_array(static_cast<std::uint32_t>(m.workers.size()));
    for (const auto& w : m.workers) {
        p.pack_map(8);
        pack_key(p, "name"), pack_string(p, w.name);
        pack_key(p, "queues");
        p.pack_array(static_cast<std::uint32_t>(w.queues.size()));
        for (const auto& q : w.queues) pack_string(p, q);
        pack_key(p, "capacity"), p.pack(w.capacity);
        pack_key(p, "in_flight"), p.pack(w.in_flight);
        pack_key(p, "last_heartbeat_ms"), p.pack(w.last_heartbeat_ms);
        pack_key(p, "draining"), p.pack(w.is_draining);
        pack_key(p, "done"), p.pack(w.done);
        pack_key(p, "failed"), p.pack(w.failed);
    }
    return zmq::message_t(buffer.data(), buffer.size());
}
inline void write_header(Packer& p, const Error& m) {
    p.pack_map(4);
    pack_key(p, "code"), pack_string(p, to_string(m.code));
    pack_key(p, "message"), pack_string(p, m.message);
    pack_key(p, "id"), pack_string(p, m.id);
    pack_key(p, "command"), pack_string(p, m.command);
}
inline void write_header(Packer& p, const Cancel& m) {
    p.pack_map(1);
    pack_key(p, "id"), pack_string(p, m.id);
}
inline void write_header(Packer& p, const Retry& m) {
    p.pack_map((m.id.empty() ? 0 : 1) + (m.queue.empty() ? 0 : 1));
    if (!m.id.empty()) pack_key(p, "id"), pack_string(p, m.id);
    if (!m.queue.empty()) pack_key(p, "queue"), pack_string(p, m.queue);
}
inline void write_header(Packer& p, const Purge& m) {
    p.pack_map(m.id.empty() ? 1 : 2);
    pack_key(p, "queue"), pack_string(p, m.queue);
    if (!m.id.empty()) pack_key(p, "id"), pack_string(p, m.id);
}
inline void write_header(Packer& p, const DeadRequest& m) {
    p.pack_map(2);
    pack_key(p, "queue"), pack_string(p, m.queue);
    pack_key(p, "limit"), p.pack(m.limit);
}
inline void write_header(Packer& p, const DeadReply& m) {
    p.pack_map(2);
    pack_key(p, "queue"), pack_string(p, m.queue);
    pack_key(p, "total"), p.pack(m.total);
}
inline zmq::message_t dead_body(const DeadReply& m) {
    msgpack::sbuffer buffer(128 + 256 * m.jobs.size());
    Packer p(buffer);
    p.pack_map(1);
    pack_key(p, "jobs");
    p.pack_array(static_cast<std::uint32_t>(m.jobs.size()));
    for (const auto& job : m.jobs) {
        p.pack_map(6);
        pack_key(p, "id"), pack_string(p, job.id);
        pack_key(p, "attempts"), p.pack(job.attempts);
        pack_key(p, "died_ms_ago"), p.pack(job.died_ms_ago);
        pack_key(p, "payload_bytes"), p.pack(job.payload_bytes);
        pack_key(p, "priority"), p.pack(job.priority);
        pack_key(p, "errors"), write_errors(p, job.errors);
    }
    return zmq::message_t(buffer.data(), buffer.size());
}
inline void write_header(Packer& p, const QueueSettings& m) {
    p.pack_map(1 + (m.is_paused ? 1 : 0) + (m.max_length ? 1 : 0) + field_count(m.retry) + (m.timeout_ms ? 1 : 0) +
               (m.dead_max_count ? 1 : 0) + (m.dead_max_age_ms ? 1 : 0));
    pack_key(p, "queue"), pack_string(p, m.queue);
    if (m.is_paused) pack_key(p, "paused"), p.pack(*m.is_paused);
    if (m.max_length) pack_key(p, "max_length"), p.pack(*m.max_length);
    write_fields(p, m.retry);
    if (m.timeout_ms) pack_key(p, "timeout_ms"), p.pack(*m.timeout_ms);
    if (m.dead_max_count) pack_key(p, "dead_max_count"), p.pack(*m.dead_max_count);
    if (m.dead_max_age_ms) pack_key(p, "dead_max_age_ms"), p.pack(*m.dead_max_age_ms);
}
inline void write_header(Packer& p, const Ok& m) {
    p.pack_map(3);
    pack_key(p, "command"), pack_string(p, m.command);
    pack_key(p, "id"), pack_string(p, m.id);
    pack_key(p, "count"), p.pack(m.count);
}
inline void write_header(Packer& p, const Progress& m) {
    p.pack_map(4);
    pack_key(p, "id"), pack_string(p, m.id);
    pack_key(p, "attempt"), p.pack(m.attempt);
    pack_key(p, "percent"), p.pack(m.percent);
    pack_key(p, "message"), pack_string(p, m.message);
}
inline void write_header(Packer& p, const Abandon& m) {
    p.pack_map(3);
    pack_key(p, "id"), pack_string(p, m.id);
    pack_key(p, "attempt"), p.pack(m.attempt);
    pack_key(p, "reason"), pack_string(p, m.reason);
}
inline void write_header(Packer& p, const Ready& m) {
    p.pack_map(m.batch != 0 ? 4 : 3);
    pack_key(p, "queues");
    p.pack_array(static_cast<std::uint32_t>(m.queues.size()));
    for (const auto& q : m.queues) pack_string(p, q);
    pack_key(p, "capacity"), p.pack(m.capacity);
    pack_key(p, "name"), pack_string(p, m.name);
    if (m.batch != 0) pack_key(p, "batch"), p.pack(m.batch);
}
inline void write_header(Packer& p, const Job& m) {
    p.pack_map(3);
    pack_key(p, "id"), pack_string(p, m.id);
    pack_key(p, "queue"), pack_string(p, m.queue);
    pack_key(p, "attempt"), p.pack(m.attempt);
}
inline void write_header(Packer& p, const Done& m) {
    p.pack_map(2);
    pack_key(p, "id"), pack_string(p, m.id);
    pack_key(p, "attempt"), p.pack(m.attempt);
}
inline void write_header(Packer& p, const Fail& m) {
    p.pack_map(m.is_permanent ? 4 : 3);
    pack_key(p, "id"), pack_string(p, m.id);
    pack_key(p, "attempt"), p.pack(m.attempt);
    pack_key(p, "error"), pack_string(p, m.error);
    if (m.is_permanent) pack_key(p, "permanent"), p.pack(true);
}
inline void write_header(Packer& p, const Heartbeat& m) {
    p.pack_map((m.interval_ms ? 1 : 0) + (m.liveness ? 1 : 0) + (m.batch ? 1 : 0));
    if (m.interval_ms) pack_key(p, "interval_ms"), p.pack(*m.interval_ms);
    if (m.liveness) pack_key(p, "liveness"), p.pack(*m.liveness);
    if (m.batch) pack_key(p, "batch"), p.pack(*m.batch);
}
inline void write_header(Packer& p, const Jobs& m) {
    p.pack_map(1);
    pack_key(p, "jobs");
    p.pack_array(static_cast<std::uint32_t>(m.jobs.size()));
    for (const auto& job : m.jobs) {
        p.pack_array(3);
        pack_string(p, job.id);
        pack_string(p, job.queue);
        p.pack(job.attempt);
    }
}
inline void write_header(Packer& p, const Results& m) {
    p.pack_map(1);
    pack_key(p, "results");
    p.pack_array(static_cast<std::uint32_t>(m.results.size()));
    for (const auto& result : m.results) {
        p.pack_array(4);
        pack_string(p, result.id);
        pack_string(p, to_string(result.state));
        p.pack(result.attempt);
        pack_string(p, result.error);
    }
}
inline void write_header(Packer& p, const Dones& m) {
    p.pack_map(1);
    pack_key(p, "done");
    p.pack_array(static_cast<std::uint32_t>(m.done.size()));
    for (const auto& done : m.done) {
        p.pack_array(2);
        pack_string(p, done.id);
        p.pack(done.attempt);
    }
}
inline void write_header(Packer& p, const Drain&) { p.pack_map(0); }
inline void write_header(Packer& p, const Disconnect& m) {
    p.pack_map(1);
    pack_key(p, "reason"), pack_string(p, m.reason);
}

template <class T>
zmq::message_t* payload_of(T&) noexcept {
    return nullptr;
}
inline zmq::message_t* payload_of(Submit& m) noexcept { return &m.payload; }
inline zmq::message_t* payload_of(JobResult& m) noexcept { return &m.payload; }
inline zmq::message_t* payload_of(StatusReply& m) noexcept { return &m.payload; }
inline zmq::message_t* payload_of(Job& m) noexcept { return &m.payload; }
inline zmq::message_t* payload_of(Done& m) noexcept { return &m.payload; }

}  // namespace detail

inline zmq::message_t signature_frame() {
    const char bytes[4] = {kSignature[0], kSignature[1], kSignature[2], static_cast<char>(kVersion)};
    return zmq::message_t(bytes, sizeof bytes);
}

// Appends the frames of `message` to `frames`, moving its payload (no copy of the bytes).
template <class T>
void encode_into(T&& message, Frames& frames) {
    using Plain = std::decay_t<T>;
    static_assert(!std::is_same_v<Plain, Message>, "use encode_into(Message)");
    constexpr Command command = kCommandOf<Plain>;
    frames.push_back(signature_frame());
    const auto code = static_cast<std::uint8_t>(command);
    frames.emplace_back(&code, 1);
    // One buffer per thread, reused: a header is copied into its frame anyway, and a fresh buffer
    // per message was one malloc and free per message on the broker's hot path.
    thread_local msgpack::sbuffer buffer(256);
    buffer.clear();
    detail::Packer packer(buffer);
    detail::write_header(packer, message);
    frames.emplace_back(buffer.data(), buffer.size());
    if constexpr (std::is_same_v<Plain, StatsReply>) {
        frames.push_back(detail::stats_body(message));
    } else if constexpr (std::is_same_v<Plain, DeadReply>) {
        frames.push_back(detail::dead_body(message));
    } else if constexpr (std::is_same_v<Plain, Jobs>) {
        for (auto& job : message.jobs) frames.push_back(std::move(job.payload));
    } else if constexpr (std::is_same_v<Plain, Dones>) {
        for (auto& done : message.done) frames.push_back(std::move(done.payload));
    } else if constexpr (std::is_same_v<Plain, Results>) {
        for (auto& result : message.results) frames.push_back(std::move(result.payload));
    } else if (auto* payload = detail::payload_of(message)) {
        frames.push_back(std::move(*payload));
    }
}

inline void encode_into(Message&& message, Frames& frames) {
    std::visit([&](auto&& m) { encode_into(std::move(m), frames); }, std::move(message));
}

template <class T>
Frames encode(T&& message) {
    Frames frames;
    frames.reserve(4);
    encode_into(std::forward<T>(message), frames);
    return frames;
}

namespace detail {

#define CORSAIR_DECODE_FIELD(var, expr) \
    auto var##_result = (expr);         \
    if (!var##_result) return unexpected(var##_result.error());

using DecodeResult = Result<Message, DecodeError>;

inline Result<std::vector<std::string>, DecodeError> string_array(const HeaderView& h, std::string_view key,
                                                                  std::size_t max_items, std::size_t max_bytes) {
    const auto* value = h.find(key);
    if (value == nullptr) return unexpected(DecodeError{ErrorCode::missing_field, std::string(key)});
    if (value->type != msgpack::type::ARRAY) return unexpected(DecodeError{ErrorCode::bad_field_type, std::string(key)});
    if (value->via.array.size > max_items) return unexpected(DecodeError{ErrorCode::bad_field_value, std::string(key)});
    std::vector<std::string> items;
    items.reserve(value->via.array.size);
    for (std::uint32_t i = 0; i < value->via.array.size; ++i) {
        auto item = HeaderView::as_string(value->via.array.ptr[i], key, max_bytes);
        if (!item) return unexpected(item.error());
        items.push_back(std::move(item.value()));
    }
    return items;
}

inline Result<JobState, DecodeError> job_state(const HeaderView& h, std::string_view key) {
    CORSAIR_DECODE_FIELD(text, h.string(key, 16, true));
    auto state = parse_job_state(text_result.value());
    if (!state) return unexpected(DecodeError{ErrorCode::bad_field_value, std::string(key)});
    return *state;
}

inline Result<std::string, DecodeError> job_id(const HeaderView& h) { return h.string("id", kMaxJobIdBytes, true); }
inline Result<std::string, DecodeError> queue_name(const HeaderView& h) {
    return h.string("queue", kMaxQueueNameBytes, true);
}
inline Result<std::uint32_t, DecodeError> attempt(const HeaderView& h, std::uint64_t min) {
    auto value = h.unsigned_integer("attempt", min, std::numeric_limits<std::uint32_t>::max(), std::nullopt);
    if (!value) return unexpected(value.error());
    return static_cast<std::uint32_t>(value.value());
}

// The most queues or workers one STATS_REPLY body may list (docs/protocol.md §5.7).
inline constexpr std::size_t kMaxStatsEntries = 1'000'000;

inline Result<QueueStats, DecodeError> queue_stats(const msgpack::object& entry) {
    if (entry.type != msgpack::type::MAP) return unexpected(DecodeError{ErrorCode::bad_field_type, "queues"});
    HeaderView q(entry);
    CORSAIR_DECODE_FIELD(name, q.string("name", kMaxQueueNameBytes, true));
    CORSAIR_DECODE_FIELD(pending, q.unsigned_integer("pending", 0, UINT64_MAX, 0));
    CORSAIR_DECODE_FIELD(in_flight, q.unsigned_integer("in_flight", 0, UINT64_MAX, 0));
    CORSAIR_DECODE_FIELD(done, q.unsigned_integer("done", 0, UINT64_MAX, 0));
    CORSAIR_DECODE_FIELD(failed, q.unsigned_integer("failed", 0, UINT64_MAX, 0));
    CORSAIR_DECODE_FIELD(delayed, q.unsigned_integer("delayed", 0, UINT64_MAX, 0));
    CORSAIR_DECODE_FIELD(dead, q.unsigned_integer("dead", 0, UINT64_MAX, 0));
    CORSAIR_DECODE_FIELD(paused, q.boolean("paused", false));
    return QueueStats{std::move(name_result.value()), pending_result.value(), in_flight_result.value(),
                      done_result.value(),           failed_result.value(),  delayed_result.value(),
                      dead_result.value(),           paused_result.value()};
}

inline Result<WorkerStats, DecodeError> worker_stats(const msgpack::object& entry) {
    if (entry.type != msgpack::type::MAP) return unexpected(DecodeError{ErrorCode::bad_field_type, "workers"});
    HeaderView w(entry);
    CORSAIR_DECODE_FIELD(name, w.string("name", kMaxWorkerNameBytes, false));
    CORSAIR_DECODE_FIELD(served, string_array(w, "queues", kMaxQueuesPerWorker, kMaxQueueNameBytes));
    CORSAIR_DECODE_FIELD(capacity, w.unsigned_integer("capacity", 0, kMaxCapacity, 0));
    CORSAIR_DECODE_FIELD(in_flight, w.unsigned_integer("in_flight", 0, UINT32_MAX, 0));
    CORSAIR_DECODE_FIELD(last, w.unsigned_integer("last_heartbeat_ms", 0, UINT64_MAX, 0));
    CORSAIR_DECODE_FIELD(draining, w.boolean("draining", false));
    CORSAIR_DECODE_FIELD(done, w.unsigned_integer("done", 0, UINT64_MAX, 0));
    CORSAIR_DECODE_FIELD(failed, w.unsigned_integer("failed", 0, UINT64_MAX, 0));
    WorkerStats stats;
    stats.name = std::move(name_result.value());
    stats.queues = std::move(served_result.value());
    stats.capacity = static_cast<std::uint32_t>(capacity_result.value());
    stats.in_flight = static_cast<std::uint32_t>(in_flight_result.value());
    stats.last_heartbeat_ms = last_result.value();
    stats.is_draining = draining_result.value();
    stats.done = done_result.value();
    stats.failed = failed_result.value();
    return stats;
}

// Unpacks a body frame (STATS_REPLY, DEAD_REPLY): one msgpack map, header bounds except that
// arrays may hold up to kMaxStatsEntries, and never more entries than the frame has bytes.
// Throws msgpack's errors, which decode() turns into bad_header.
inline msgpack::object_handle unpack_body(const zmq::message_t& body) {
    const std::size_t most = std::min(body.size(), kMaxStatsEntries);
    const msgpack::unpack_limit bounds(/*array=*/most, /*map=*/1024, /*str=*/kMaxHeaderBytes, /*bin=*/kMaxHeaderBytes,
                                       /*ext=*/kMaxHeaderBytes, /*depth=*/8);
    std::size_t offset = 0;
    msgpack::object_handle handle =
        msgpack::unpack(static_cast<const char*>(body.data()), body.size(), offset, nullptr, nullptr, bounds);
    if (offset != body.size()) throw msgpack::unpack_error("trailing bytes in body");
    if (handle.get().type != msgpack::type::MAP) throw msgpack::unpack_error("body not a map");
    return handle;
}

inline Result<std::vector<AttemptError>, DecodeError> attempt_errors(const HeaderView& h) {
    std::vector<AttemptError> errors;
    const auto* value = h.find("errors");
    if (value == nullptr) return errors;
    if (value->type != msgpack::type::ARRAY) return unexpected(DecodeError{ErrorCode::bad_field_type, "errors"});
    if (value->via.array.size > kMaxAttemptsLimit) return unexpected(DecodeError{ErrorCode::bad_field_value, "errors"});
    for (std::uint32_t i = 0; i < value->via.array.size; ++i) {
        const auto& entry = value->via.array.ptr[i];
        if (entry.type != msgpack::type::MAP) return unexpected(DecodeError{ErrorCode::bad_field_type, "errors"});
        HeaderView e(entry);
        CORSAIR_DECODE_FIELD(att, e.unsigned_integer("attempt", 0, UINT32_MAX, std::nullopt));
        CORSAIR_DECODE_FIELD(text, e.string("error", kMaxHistoryErrorBytes, false));
        errors.push_back({static_cast<std::uint32_t>(att_result.value()), std::move(text_result.value())});
    }
    return errors;
}

inline Result<RetryPolicy, DecodeError> retry_policy(const HeaderView& h) {
    RetryPolicy r;
    CORSAIR_DECODE_FIELD(attempts, h.optional_unsigned("max_attempts", 1, kMaxAttemptsLimit));
    CORSAIR_DECODE_FIELD(backoff, h.optional_unsigned("backoff_ms", 1, kMaxBackoffMs));
    CORSAIR_DECODE_FIELD(backoff_max, h.optional_unsigned("backoff_max_ms", 1, kMaxBackoffMs));
    CORSAIR_DECODE_FIELD(jitter, h.optional_unsigned("backoff_jitter_pct", 0, 100));
    if (attempts_result.value()) r.max_attempts = static_cast<std::uint32_t>(*attempts_result.value());
    r.backoff_ms = backoff_result.value();
    r.backoff_max_ms = backoff_max_result.value();
    if (jitter_result.value()) r.backoff_jitter_pct = static_cast<std::uint32_t>(*jitter_result.value());
    return r;
}

inline DecodeResult decode_submit(const HeaderView& h, zmq::message_t* payload) {
    Submit m;
    CORSAIR_DECODE_FIELD(id, job_id(h));
    CORSAIR_DECODE_FIELD(queue, queue_name(h));
    CORSAIR_DECODE_FIELD(wants, h.boolean("wants_result", false));
    CORSAIR_DECODE_FIELD(priority, h.signed_integer("priority", kMinPriority, kMaxPriority, 0));
    CORSAIR_DECODE_FIELD(retry, retry_policy(h));
    CORSAIR_DECODE_FIELD(timeout, h.optional_unsigned("timeout_ms", 0, kMaxTimeoutMs));
    CORSAIR_DECODE_FIELD(delay, h.unsigned_integer("delay_ms", 0, kMaxDelayMs, 0));
    CORSAIR_DECODE_FIELD(run_at, h.optional_unsigned("run_at_ms", 0, UINT64_MAX));
    CORSAIR_DECODE_FIELD(unique, h.string("unique_key", kMaxUniqueKeyBytes, false));
    CORSAIR_DECODE_FIELD(accept_within, h.unsigned_integer("accept_within_ms", 0, kMaxAcceptWithinMs, 0));
    CORSAIR_DECODE_FIELD(results_batch, h.unsigned_integer("results_batch", 0, kMaxBatchEntries, 0));
    // A job is ready after a delay or at a time, never both.
    if (delay_result.value() != 0 && run_at_result.value()) {
        return unexpected(DecodeError{ErrorCode::bad_field_value, "run_at_ms"});
    }
    m.id = std::move(id_result.value());
    m.queue = std::move(queue_result.value());
    m.wants_result = wants_result.value();
    m.payload = std::move(*payload);
    m.priority = static_cast<std::int32_t>(priority_result.value());
    m.retry = retry_result.value();
    m.timeout_ms = timeout_result.value();
    m.delay_ms = delay_result.value();
    m.run_at_ms = run_at_result.value();
    m.unique_key = std::move(unique_result.value());
    m.accept_within_ms = accept_within_result.value();
    m.results_batch = static_cast<std::uint32_t>(results_batch_result.value());
    return Message(std::move(m));
}

inline DecodeResult decode_status_reply(const HeaderView& h, zmq::message_t* payload) {
    StatusReply m;
    CORSAIR_DECODE_FIELD(id, job_id(h));
    CORSAIR_DECODE_FIELD(queue, h.string("queue", kMaxQueueNameBytes, false));
    CORSAIR_DECODE_FIELD(state, job_state(h, "state"));
    CORSAIR_DECODE_FIELD(att, attempt(h, 0));
    CORSAIR_DECODE_FIELD(worker, h.string("worker", kMaxWorkerNameBytes, false));
    CORSAIR_DECODE_FIELD(error, h.string("error", kMaxErrorTextBytes, false));
    CORSAIR_DECODE_FIELD(priority, h.signed_integer("priority", kMinPriority, kMaxPriority, 0));
    CORSAIR_DECODE_FIELD(max_attempts, h.unsigned_integer("max_attempts", 0, kMaxAttemptsLimit, 0));
    CORSAIR_DECODE_FIELD(progress, h.optional_unsigned("progress", 0, 100));
    CORSAIR_DECODE_FIELD(progress_message, h.string("progress_message", kMaxProgressMessageBytes, false));
    CORSAIR_DECODE_FIELD(ready_in, h.unsigned_integer("ready_in_ms", 0, UINT64_MAX, 0));
    CORSAIR_DECODE_FIELD(errors, attempt_errors(h));
    CORSAIR_DECODE_FIELD(instance, h.unsigned_integer("broker_instance", 0, UINT64_MAX, 0));
    m.broker_instance = instance_result.value();
    m.id = std::move(id_result.value());
    m.queue = std::move(queue_result.value());
    m.state = state_result.value();
    m.attempt = att_result.value();
    m.worker = std::move(worker_result.value());
    m.error = std::move(error_result.value());
    m.payload = std::move(*payload);
    m.priority = static_cast<std::int32_t>(priority_result.value());
    m.max_attempts = static_cast<std::uint32_t>(max_attempts_result.value());
    if (progress_result.value()) m.progress = static_cast<std::uint32_t>(*progress_result.value());
    m.progress_message = std::move(progress_message_result.value());
    m.ready_in_ms = ready_in_result.value();
    m.errors = std::move(errors_result.value());
    return Message(std::move(m));
}

inline DecodeResult decode_dead_reply(const HeaderView& h, const zmq::message_t& body) {
    DeadReply m;
    CORSAIR_DECODE_FIELD(queue, queue_name(h));
    CORSAIR_DECODE_FIELD(total, h.unsigned_integer("total", 0, UINT64_MAX, 0));
    m.queue = std::move(queue_result.value());
    m.total = total_result.value();
    msgpack::object_handle handle = unpack_body(body);
    HeaderView lists(handle.get());
    const auto* jobs = lists.find("jobs");
    if (jobs == nullptr) return unexpected(DecodeError{ErrorCode::missing_field, "jobs"});
    if (jobs->type != msgpack::type::ARRAY) return unexpected(DecodeError{ErrorCode::bad_field_type, "jobs"});
    for (std::uint32_t i = 0; i < jobs->via.array.size; ++i) {
        const auto& entry = jobs->via.array.ptr[i];
        if (entry.type != msgpack::type::MAP) return unexpected(DecodeError{ErrorCode::bad_field_type, "jobs"});
        HeaderView j(entry);
        DeadJob job;
        CORSAIR_DECODE_FIELD(id, job_id(j));
        CORSAIR_DECODE_FIELD(attempts, j.unsigned_integer("attempts", 0, UINT32_MAX, 0));
        CORSAIR_DECODE_FIELD(died, j.unsigned_integer("died_ms_ago", 0, UINT64_MAX, 0));
        CORSAIR_DECODE_FIELD(bytes, j.unsigned_integer("payload_bytes", 0, UINT64_MAX, 0));
        CORSAIR_DECODE_FIELD(priority, j.signed_integer("priority", kMinPriority, kMaxPriority, 0));
        CORSAIR_DECODE_FIELD(errors, attempt_errors(j));
        job.id = std::move(id_result.value());
        job.attempts = static_cast<std::uint32_t>(attempts_result.value());
        job.died_ms_ago = died_result.value();
        job.payload_bytes = bytes_result.value();
        job.priority = static_cast<std::int32_t>(priority_result.value());
        job.errors = std::move(errors_result.value());
        m.jobs.push_back(std::move(job));
    }
    return Message(std::move(m));
}

inline DecodeResult decode_queue_settings(const HeaderView& h) {
    QueueSettings m;
    CORSAIR_DECODE_FIELD(queue, queue_name(h));
    CORSAIR_DECODE_FIELD(paused, h.optional_boolean("paused"));
    CORSAIR_DECODE_FIELD(max_length, h.optional_unsigned("max_length", 0, UINT64_MAX));
    CORSAIR_DECODE_FIELD(retry, retry_policy(h));
    CORSAIR_DECODE_FIELD(timeout, h.optional_unsigned("timeout_ms", 0, kMaxTimeoutMs));
    CORSAIR_DECODE_FIELD(dead_count, h.optional_unsigned("dead_max_count", 0, UINT64_MAX));
    CORSAIR_DECODE_FIELD(dead_age, h.optional_unsigned("dead_max_age_ms", 1, kMaxDeadAgeMs));
    m.queue = std::move(queue_result.value());
    m.is_paused = paused_result.value();
    m.max_length = max_length_result.value();
    m.retry = retry_result.value();
    m.timeout_ms = timeout_result.value();
    m.dead_max_count = dead_count_result.value();
    m.dead_max_age_ms = dead_age_result.value();
    return Message(std::move(m));
}

// `body` is frame 3: a msgpack map with the `queues` and `workers` arrays.
inline DecodeResult decode_stats_reply(const HeaderView& h, const zmq::message_t& body) {
    StatsReply reply;
    if (const auto* counters = h.find("counters")) {
        if (counters->type != msgpack::type::MAP) return unexpected(DecodeError{ErrorCode::bad_field_type, "counters"});
        for (std::uint32_t i = 0; i < counters->via.map.size; ++i) {
            const auto& entry = counters->via.map.ptr[i];
            CORSAIR_DECODE_FIELD(key, HeaderView::as_string(entry.key, "counters", 64));
            CORSAIR_DECODE_FIELD(value, HeaderView::as_unsigned(entry.val, "counters"));
            reply.counters[key_result.value()] = value_result.value();
        }
    }
    msgpack::object_handle handle = unpack_body(body);
    HeaderView lists(handle.get());
    const auto* queues = lists.find("queues");
    const auto* workers = lists.find("workers");
    if (queues == nullptr) return unexpected(DecodeError{ErrorCode::missing_field, "queues"});
    if (workers == nullptr) return unexpected(DecodeError{ErrorCode::missing_field, "workers"});
    if (queues->type != msgpack::type::ARRAY) return unexpected(DecodeError{ErrorCode::bad_field_type, "queues"});
    if (workers->type != msgpack::type::ARRAY) return unexpected(DecodeError{ErrorCode::bad_field_type, "workers"});
    reply.queues.reserve(queues->via.array.size);
    for (std::uint32_t i = 0; i < queues->via.array.size; ++i) {
        CORSAIR_DECODE_FIELD(stats, queue_stats(queues->via.array.ptr[i]));
        reply.queues.push_back(std::move(stats_result.value()));
    }
    reply.workers.reserve(workers->via.array.size);
    for (std::uint32_t i = 0; i < workers->via.array.size; ++i) {
        CORSAIR_DECODE_FIELD(stats, worker_stats(workers->via.array.ptr[i]));
        reply.workers.push_back(std::move(stats_result.value()));
    }
    return Message(std::move(reply));
}

// Decodes the header of `command`; `payload` is moved into messages that carry one.
inline DecodeResult decode_header(Command command, const HeaderView& h, zmq::message_t* payload) {
    switch (command) {
        case Command::submit: return decode_submit(h, payload);
        case Command::accepted: {
            CORSAIR_DECODE_FIELD(id, job_id(h));
            CORSAIR_DECODE_FIELD(existed, h.boolean("existed", false));
            CORSAIR_DECODE_FIELD(job, h.string("job_id", kMaxJobIdBytes, false));
            CORSAIR_DECODE_FIELD(instance, h.unsigned_integer("broker_instance", 0, UINT64_MAX, 0));
            std::string job_id_value = job_result.value().empty() ? id_result.value() : std::move(job_result.value());
            return Message(Accepted{std::move(id_result.value()), existed_result.value(), std::move(job_id_value),
                                    instance_result.value()});
        }
        case Command::result: {
            CORSAIR_DECODE_FIELD(id, job_id(h));
            CORSAIR_DECODE_FIELD(state, job_state(h, "state"));
            CORSAIR_DECODE_FIELD(att, attempt(h, 0));
            CORSAIR_DECODE_FIELD(error, h.string("error", kMaxErrorTextBytes, false));
            if (!is_final(state_result.value())) {
                return unexpected(DecodeError{ErrorCode::bad_field_value, "state"});
            }
            return Message(JobResult{std::move(id_result.value()), state_result.value(), att_result.value(),
                                     std::move(error_result.value()), std::move(*payload)});
        }
        case Command::status: {
            CORSAIR_DECODE_FIELD(id, job_id(h));
            return Message(StatusRequest{std::move(id_result.value())});
        }
        case Command::status_reply: return decode_status_reply(h, payload);
        case Command::stats: return Message(StatsRequest{});
        case Command::stats_reply: return decode_stats_reply(h, *payload);
        case Command::error: {
            CORSAIR_DECODE_FIELD(code_text, h.string("code", 64, true));
            CORSAIR_DECODE_FIELD(message, h.string("message", kMaxErrorTextBytes, false));
            CORSAIR_DECODE_FIELD(id, h.string("id", std::max(kMaxJobIdBytes, kMaxQueueNameBytes), false));
            CORSAIR_DECODE_FIELD(command, h.string("command", 32, false));
            auto code = parse_error_code(code_text_result.value());
            // An unknown code from a newer broker is still an error: report it as internal.
            return Message(Error{code.value_or(ErrorCode::internal), std::move(message_result.value()),
                                 std::move(id_result.value()), std::move(command_result.value())});
        }
        case Command::cancel: {
            CORSAIR_DECODE_FIELD(id, job_id(h));
            return Message(Cancel{std::move(id_result.value())});
        }
        case Command::retry: {
            CORSAIR_DECODE_FIELD(id, h.string("id", kMaxJobIdBytes, false));
            CORSAIR_DECODE_FIELD(queue, h.string("queue", kMaxQueueNameBytes, false));
            // Exactly one: a job, or a queue's whole dead set.
            if (id_result.value().empty() == queue_result.value().empty()) {
                return unexpected(DecodeError{id_result.value().empty() ? ErrorCode::missing_field
                                                                        : ErrorCode::bad_field_value,
                                              "id"});
            }
            return Message(Retry{std::move(id_result.value()), std::move(queue_result.value())});
        }
        case Command::purge: {
            CORSAIR_DECODE_FIELD(queue, queue_name(h));
            CORSAIR_DECODE_FIELD(id, h.string("id", kMaxJobIdBytes, false));
            return Message(Purge{std::move(queue_result.value()), std::move(id_result.value())});
        }
        case Command::dead: {
            CORSAIR_DECODE_FIELD(queue, queue_name(h));
            CORSAIR_DECODE_FIELD(limit, h.unsigned_integer("limit", 1, kMaxDeadListed, 100));
            return Message(DeadRequest{std::move(queue_result.value()), static_cast<std::uint32_t>(limit_result.value())});
        }
        case Command::dead_reply: return decode_dead_reply(h, *payload);
        case Command::queue: return decode_queue_settings(h);
        case Command::ok: {
            CORSAIR_DECODE_FIELD(command, h.string("command", 32, true));
            CORSAIR_DECODE_FIELD(id, h.string("id", std::max(kMaxJobIdBytes, kMaxQueueNameBytes), false));
            CORSAIR_DECODE_FIELD(count, h.unsigned_integer("count", 0, UINT64_MAX, 0));
            return Message(Ok{std::move(command_result.value()), std::move(id_result.value()), count_result.value()});
        }
        case Command::progress: {
            CORSAIR_DECODE_FIELD(id, job_id(h));
            CORSAIR_DECODE_FIELD(att, attempt(h, 1));
            CORSAIR_DECODE_FIELD(percent, h.unsigned_integer("percent", 0, 100, std::nullopt));
            CORSAIR_DECODE_FIELD(message, h.string("message", kMaxProgressMessageBytes, false));
            return Message(Progress{std::move(id_result.value()), att_result.value(),
                                    static_cast<std::uint32_t>(percent_result.value()),
                                    std::move(message_result.value())});
        }
        case Command::abandon: {
            CORSAIR_DECODE_FIELD(id, job_id(h));
            CORSAIR_DECODE_FIELD(att, attempt(h, 1));
            CORSAIR_DECODE_FIELD(reason, h.string("reason", kMaxErrorTextBytes, false));
            return Message(Abandon{std::move(id_result.value()), att_result.value(), std::move(reason_result.value())});
        }
        case Command::ready: {
            CORSAIR_DECODE_FIELD(queues, string_array(h, "queues", kMaxQueuesPerWorker, kMaxQueueNameBytes));
            CORSAIR_DECODE_FIELD(capacity, h.unsigned_integer("capacity", 1, kMaxCapacity, std::nullopt));
            CORSAIR_DECODE_FIELD(name, h.string("name", kMaxWorkerNameBytes, false));
            if (queues_result.value().empty()) return unexpected(DecodeError{ErrorCode::bad_field_value, "queues"});
            for (const auto& queue : queues_result.value()) {
                if (queue.empty()) return unexpected(DecodeError{ErrorCode::bad_field_value, "queues"});
            }
            CORSAIR_DECODE_FIELD(batch, h.unsigned_integer("batch", 0, kMaxBatchEntries, 0));
            return Message(Ready{std::move(queues_result.value()), static_cast<std::uint32_t>(capacity_result.value()),
                                 std::move(name_result.value()), static_cast<std::uint32_t>(batch_result.value())});
        }
        case Command::job: {
            CORSAIR_DECODE_FIELD(id, job_id(h));
            CORSAIR_DECODE_FIELD(queue, queue_name(h));
            CORSAIR_DECODE_FIELD(att, attempt(h, 1));
            return Message(Job{std::move(id_result.value()), std::move(queue_result.value()), att_result.value(),
                               std::move(*payload)});
        }
        case Command::done: {
            CORSAIR_DECODE_FIELD(id, job_id(h));
            CORSAIR_DECODE_FIELD(att, attempt(h, 1));
            return Message(Done{std::move(id_result.value()), att_result.value(), std::move(*payload)});
        }
        case Command::fail: {
            CORSAIR_DECODE_FIELD(id, job_id(h));
            CORSAIR_DECODE_FIELD(att, attempt(h, 1));
            CORSAIR_DECODE_FIELD(error, h.string("error", kMaxErrorTextBytes, false));
            CORSAIR_DECODE_FIELD(permanent, h.boolean("permanent", false));
            return Message(Fail{std::move(id_result.value()), att_result.value(), std::move(error_result.value()),
                                permanent_result.value()});
        }
        case Command::heartbeat: {
            Heartbeat heartbeat;
            if (h.find("interval_ms") != nullptr) {
                CORSAIR_DECODE_FIELD(interval, h.unsigned_integer("interval_ms", kMinHeartbeatInterval.count(),
                                                                  kMaxHeartbeatInterval.count(), std::nullopt));
                heartbeat.interval_ms = static_cast<std::uint32_t>(interval_result.value());
            }
            if (h.find("liveness") != nullptr) {
                CORSAIR_DECODE_FIELD(liveness, h.unsigned_integer("liveness", 1, 100, std::nullopt));
                heartbeat.liveness = static_cast<std::uint32_t>(liveness_result.value());
            }
            if (h.find("batch") != nullptr) {
                CORSAIR_DECODE_FIELD(batch, h.unsigned_integer("batch", 1, kMaxBatchEntries, std::nullopt));
                heartbeat.batch = static_cast<std::uint32_t>(batch_result.value());
            }
            return Message(heartbeat);
        }
        case Command::drain: return Message(Drain{});
        case Command::jobs:
        case Command::dones:
        case Command::results: break;  // decode_batch
        case Command::disconnect: {
            CORSAIR_DECODE_FIELD(reason, h.string("reason", kMaxErrorTextBytes, false));
            return Message(Disconnect{std::move(reason_result.value())});
        }
    }
    return unexpected(DecodeError{ErrorCode::unknown_command, "command"});
}

// JOBS, DONES and RESULTS: the header's array (`jobs`, `done` or `results`) has one entry per
// payload frame, which starts at frames[first_payload]. protocol.md §5.25 to §5.27.
inline DecodeResult decode_batch(Command command, const HeaderView& h, Frames& frames, std::size_t first_payload) {
    const std::string key = command == Command::jobs ? "jobs" : command == Command::dones ? "done" : "results";
    const std::size_t fields = command == Command::jobs ? 3 : command == Command::dones ? 2 : 4;
    const msgpack::object* list = h.find(key);
    if (list == nullptr) return unexpected(DecodeError{ErrorCode::missing_field, key});
    if (list->type != msgpack::type::ARRAY) return unexpected(DecodeError{ErrorCode::bad_field_type, key});
    const std::size_t count = list->via.array.size;
    if (count == 0 || count > kMaxBatchEntries) return unexpected(DecodeError{ErrorCode::bad_field_value, key});
    Jobs jobs;
    Dones dones;
    Results results;
    for (std::size_t i = 0; i < count; ++i) {
        const msgpack::object& entry = list->via.array.ptr[i];
        if (entry.type != msgpack::type::ARRAY || entry.via.array.size != fields) {
            return unexpected(DecodeError{ErrorCode::bad_field_type, key});
        }
        const msgpack::object* field = entry.via.array.ptr;
        CORSAIR_DECODE_FIELD(id, HeaderView::as_string(field[0], key, kMaxJobIdBytes));
        if (id_result.value().empty()) return unexpected(DecodeError{ErrorCode::bad_field_value, key});
        if (command == Command::jobs) {
            CORSAIR_DECODE_FIELD(queue, HeaderView::as_string(field[1], key, kMaxQueueNameBytes));
            if (queue_result.value().empty()) return unexpected(DecodeError{ErrorCode::bad_field_value, key});
            CORSAIR_DECODE_FIELD(att, HeaderView::as_unsigned(field[2], key, 1, UINT32_MAX));
            jobs.jobs.push_back(Job{std::move(id_result.value()), std::move(queue_result.value()),
                                    static_cast<std::uint32_t>(att_result.value()), {}});
        } else if (command == Command::dones) {
            CORSAIR_DECODE_FIELD(att, HeaderView::as_unsigned(field[1], key, 1, UINT32_MAX));
            dones.done.push_back(Done{std::move(id_result.value()), static_cast<std::uint32_t>(att_result.value()), {}});
        } else {
            CORSAIR_DECODE_FIELD(state_text, HeaderView::as_string(field[1], key, 16));
            const auto state = parse_job_state(state_text_result.value());
            if (!state || !is_final(*state)) return unexpected(DecodeError{ErrorCode::bad_field_value, key});
            CORSAIR_DECODE_FIELD(att, HeaderView::as_unsigned(field[2], key, 0, UINT32_MAX));
            CORSAIR_DECODE_FIELD(error, HeaderView::as_string(field[3], key, kMaxErrorTextBytes));
            results.results.push_back(JobResult{std::move(id_result.value()), *state,
                                                static_cast<std::uint32_t>(att_result.value()),
                                                std::move(error_result.value()), {}});
        }
    }
    // After the fields: the header says how many payload frames there must be.
    if (frames.size() - first_payload != count) {
        return unexpected(DecodeError{ErrorCode::bad_frame_count, std::string(to_string(command))});
    }
    for (std::size_t i = 0; i < count; ++i) {
        zmq::message_t& payload = command == Command::jobs    ? jobs.jobs[i].payload
                                  : command == Command::dones ? dones.done[i].payload
                                                              : results.results[i].payload;
        payload = std::move(frames[first_payload + i]);
    }
    if (command == Command::jobs) return Message(std::move(jobs));
    if (command == Command::dones) return Message(std::move(dones));
    return Message(std::move(results));
}

#undef CORSAIR_DECODE_FIELD

}  // namespace detail

// Validates frames[first..] (first skips routing frames on a ROUTER) and decodes one message.
// The payload frame, if any, is moved out of `frames`. Never throws.
inline Result<Message, DecodeError> decode(Frames& frames, std::size_t first = 0, DecodeLimits limits = {}) noexcept {
    try {
        if (frames.size() < first + 3) return unexpected(DecodeError{ErrorCode::bad_frame_count, "too few frames"});
        const auto& signature = frames[first];
        if (signature.size() != 4 || std::memcmp(signature.data(), kSignature, 3) != 0) {
            return unexpected(DecodeError{ErrorCode::bad_signature, "frame 0"});
        }
        if (static_cast<const std::uint8_t*>(signature.data())[3] != kVersion) {
            return unexpected(DecodeError{ErrorCode::unsupported_version, "frame 0"});
        }
        const auto& command_frame = frames[first + 1];
        if (command_frame.size() != 1) return unexpected(DecodeError{ErrorCode::unknown_command, "frame 1"});
        const auto code = *static_cast<const std::uint8_t*>(command_frame.data());
        if (!is_known_command(code)) return unexpected(DecodeError{ErrorCode::unknown_command, "frame 1"});
        const auto command = static_cast<Command>(code);
        const bool is_batch_command = is_batch(command);
        const std::size_t expected_frames = carries_payload(command) ? 4 : 3;
        // A batch has at least one entry; its exact frame count is checked against the header.
        if (is_batch_command ? frames.size() - first < 4 : frames.size() - first != expected_frames) {
            return unexpected(DecodeError{ErrorCode::bad_frame_count, std::string(to_string(command))});
        }
        const auto& header = frames[first + 2];
        if (header.size() > kMaxHeaderBytes) return unexpected(DecodeError{ErrorCode::bad_header, "header too large"});
        if (is_batch_command) {
            for (std::size_t i = first + 3; i < frames.size(); ++i) {
                if (frames[i].size() > limits.max_payload_bytes) {
                    return unexpected(DecodeError{ErrorCode::payload_too_large, "payload"});
                }
            }
        }
        zmq::message_t* payload = nullptr;
        if (!is_batch_command && expected_frames == 4) {
            payload = &frames[first + 3];
            if (payload->size() > limits.max_payload_bytes) {
                return unexpected(DecodeError{ErrorCode::payload_too_large, "payload"});
            }
        }
        // Bounds on container sizes stop a 10-byte header from claiming a 4-billion-entry array.
        const msgpack::unpack_limit bounds(/*array=*/1024, /*map=*/1024, /*str=*/kMaxHeaderBytes, /*bin=*/kMaxHeaderBytes,
                                           /*ext=*/kMaxHeaderBytes, /*depth=*/8);
        // One zone per thread, cleared and reused: msgpack::unpack without a zone allocates a new
        // one with an 8 KiB chunk for every message. decode_header copies everything it keeps
        // out of the zone, so nothing refers to it once this returns.
        thread_local msgpack::zone zone;
        zone.clear();
        std::size_t offset = 0;
        const msgpack::object header_object = msgpack::unpack(zone, static_cast<const char*>(header.data()),
                                                              header.size(), offset, nullptr, nullptr, bounds);
        if (offset != header.size()) return unexpected(DecodeError{ErrorCode::bad_header, "trailing bytes"});
        if (header_object.type != msgpack::type::MAP) return unexpected(DecodeError{ErrorCode::bad_header, "not a map"});
        if (is_batch_command) return detail::decode_batch(command, detail::HeaderView(header_object), frames, first + 3);
        return detail::decode_header(command, detail::HeaderView(header_object), payload);
    } catch (const msgpack::unpack_error& e) {
        return unexpected(DecodeError{ErrorCode::bad_header, e.what()});
    } catch (const msgpack::type_error&) {
        return unexpected(DecodeError{ErrorCode::bad_header, "msgpack type error"});
    } catch (const std::bad_alloc&) {
        return unexpected(DecodeError{ErrorCode::bad_header, "header too large to decode"});
    } catch (const std::exception& e) {
        return unexpected(DecodeError{ErrorCode::bad_header, e.what()});
    }
}

}  // namespace corsair::protocol
