#include "corsair/broker/journal_record.hpp"

#include <cstring>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>

#include <msgpack.hpp>

#include "corsair/protocol/message_fields.hpp"
#include "corsair/protocol/msgpack_map.hpp"
#include "crc32c.hpp"

namespace corsair::broker {

namespace {

constexpr std::uint8_t kLastType = static_cast<std::uint8_t>(JournalRecordType::queue_deleted);

void put_le32(char* out, std::uint32_t value) noexcept {
    for (int i = 0; i < 4; ++i) out[i] = static_cast<char>((value >> (8 * i)) & 0xFFu);
}

std::uint32_t get_le32(const char* in) noexcept {
    std::uint32_t value = 0;
    for (int i = 0; i < 4; ++i) value |= static_cast<std::uint32_t>(static_cast<unsigned char>(in[i])) << (8 * i);
    return value;
}

// fixmap, map16, map32: the only bytes a body may start with.
bool is_map_marker(char byte) noexcept {
    const auto b = static_cast<unsigned char>(byte);
    return (b >= 0x80 && b <= 0x8F) || b == 0xDE || b == 0xDF;
}

using protocol::MapReader;
using protocol::MapWriter;
using protocol::Presence;

// The retry keys and QUEUE's settings are written as on the wire (protocol::detail::write); they
// are read back with the journal's own readers below, which take any value the broker wrote
// without the wire's bounds.

void write_body(MapWriter& w, const JournalSubmitted& r) {
    w.field("id", r.id);
    w.field("queue", r.queue);
    w.bytes_field("payload", r.payload);
    w.field("priority", r.priority);
    protocol::detail::write(w, r.retry);
    w.optional_field("timeout_ms", r.timeout_ms);
    w.field("ready_at_ms", r.ready_at_ms);
    w.field("unique_key", r.unique_key);
    w.field("sequence", r.sequence);
    w.optional_field("created_ms", r.created_ms);
}
void write_body(MapWriter& w, const JournalDispatched& r) {
    w.field("id", r.id);
    w.field("attempt", r.attempt);
}
void write_body(MapWriter& w, const JournalDone& r) {
    w.field("id", r.id);
    w.field("attempt", r.attempt);
    w.bytes_field("result", r.result);
    w.field("ended_at_ms", r.ended_at_ms);
    w.optional_field("started_ms", r.started_ms);
    if (!r.worker.empty()) w.field("worker", r.worker);
}
void write_body(MapWriter& w, const JournalAttemptFailed& r) {
    w.field("id", r.id);
    w.field("attempt", r.attempt);
    w.field("error", r.error);
    w.field("permanent", r.is_permanent);
    w.field("retry_at_ms", r.retry_at_ms);
}
void write_body(MapWriter& w, const JournalDead& r) {
    w.field("id", r.id);
    w.field("died_at_ms", r.died_at_ms);
}
void write_body(MapWriter& w, const JournalCancelled& r) {
    w.field("id", r.id);
    w.field("ended_at_ms", r.ended_at_ms);
}
void write_body(MapWriter& w, const JournalRetried& r) { w.field("id", r.id); }
void write_body(MapWriter& w, const JournalReleased& r) { w.field("id", r.id); }
void write_body(MapWriter& w, const JournalPurged& r) { w.field("id", r.id); }
void write_body(MapWriter& w, const JournalJob& r) {
    w.field("id", r.id);
    w.field("queue", r.queue);
    w.field("state", to_string(r.state));
    w.bytes_field("payload", r.payload);
    w.field("priority", r.priority);
    protocol::detail::write(w, r.retry);
    w.optional_field("timeout_ms", r.timeout_ms);
    w.field("unique_key", r.unique_key);
    w.field("sequence", r.sequence);
    w.field("attempt", r.attempt);
    w.field("uncounted_attempts", r.uncounted_attempts);
    protocol::detail::write_errors(w, r.errors);
    w.field("last_error", r.last_error);
    w.field("at_ms", r.at_ms);
    w.bytes_field("result", r.result);
    w.optional_field("created_ms", r.created_ms);
    w.optional_field("started_ms", r.started_ms);
    if (!r.worker.empty()) w.field("worker", r.worker);
}
void write_body(MapWriter& w, const JournalQueueDeleted& r) { w.field("queue", r.queue); }
void write_body(MapWriter& w, const JournalQueueSettings& r) { protocol::detail::write(w, r.settings); }

// Every key of a record is required (any value of its type) unless it is an std::optional.
std::string text(const MapReader& r, std::string_view key) {
    return r.string(key, std::numeric_limits<std::size_t>::max(), Presence::required);
}
std::string bytes(const MapReader& r, std::string_view key) { return r.bytes(key, Presence::required); }
template <class Integer>
Integer integer(const MapReader& r, std::string_view key) {
    using Limits = std::numeric_limits<Integer>;
    if constexpr (std::is_signed_v<Integer>) {
        return r.signed_integer<Integer>(key, Limits::min(), Limits::max(), std::nullopt);
    } else {
        return r.unsigned_integer<Integer>(key, 0, Limits::max(), std::nullopt);
    }
}
template <class Integer>
std::optional<Integer> optional_integer(const MapReader& r, std::string_view key) {
    static_assert(std::is_unsigned_v<Integer>);
    return r.optional_unsigned<Integer>(key, 0, std::numeric_limits<Integer>::max());
}
protocol::RetryPolicy read_retry(const MapReader& r) {
    protocol::RetryPolicy retry;
    retry.max_attempts = optional_integer<std::uint32_t>(r, "max_attempts");
    retry.backoff_ms = optional_integer<std::uint64_t>(r, "backoff_ms");
    retry.backoff_max_ms = optional_integer<std::uint64_t>(r, "backoff_max_ms");
    retry.backoff_jitter_pct = optional_integer<std::uint32_t>(r, "backoff_jitter_pct");
    return retry;
}

JournalJob::State job_state(const MapReader& r) {
    const std::string name = text(r, "state");
    for (auto state : {JournalJob::State::pending, JournalJob::State::delayed, JournalJob::State::running,
                       JournalJob::State::dead, JournalJob::State::done, JournalJob::State::cancelled,
                       JournalJob::State::purged}) {
        if (name == to_string(state)) return state;
    }
    r.fail(protocol::ErrorCode::bad_field_value, "state", "unknown job state");
    return JournalJob::State::pending;
}

JournalJob read_job(const MapReader& r) {
    JournalJob m;
    m.id = text(r, "id");
    m.queue = text(r, "queue");
    m.state = job_state(r);
    m.payload = bytes(r, "payload");
    m.priority = integer<std::int32_t>(r, "priority");
    m.retry = read_retry(r);
    m.timeout_ms = optional_integer<std::uint64_t>(r, "timeout_ms");
    m.unique_key = text(r, "unique_key");
    m.sequence = integer<std::uint64_t>(r, "sequence");
    m.attempt = integer<std::uint32_t>(r, "attempt");
    m.uncounted_attempts = integer<std::uint32_t>(r, "uncounted_attempts");
    m.errors = protocol::detail::read_errors(r);
    m.last_error = text(r, "last_error");
    m.at_ms = integer<std::uint64_t>(r, "at_ms");
    m.result = bytes(r, "result");
    m.created_ms = optional_integer<std::uint64_t>(r, "created_ms");
    m.started_ms = optional_integer<std::uint64_t>(r, "started_ms");
    m.worker = r.string("worker", std::numeric_limits<std::size_t>::max(), Presence::optional);
    return m;
}

JournalQueueSettings read_queue_settings(const MapReader& r) {
    JournalQueueSettings m;
    auto& s = m.settings;
    s.queue = text(r, "queue");
    s.is_paused = r.optional_boolean("paused");
    s.max_length = optional_integer<std::uint64_t>(r, "max_length");
    s.retry = read_retry(r);
    s.timeout_ms = optional_integer<std::uint64_t>(r, "timeout_ms");
    s.dead_max_count = optional_integer<std::uint64_t>(r, "dead_max_count");
    s.dead_max_age_ms = optional_integer<std::uint64_t>(r, "dead_max_age_ms");
    return m;
}

JournalRecord read_record(JournalRecordType type, const MapReader& r) {
    switch (type) {
        case JournalRecordType::submitted: {
            JournalSubmitted m;
            m.id = text(r, "id");
            m.queue = text(r, "queue");
            m.payload = bytes(r, "payload");
            m.priority = integer<std::int32_t>(r, "priority");
            m.retry = read_retry(r);
            m.timeout_ms = optional_integer<std::uint64_t>(r, "timeout_ms");
            m.ready_at_ms = integer<std::uint64_t>(r, "ready_at_ms");
            m.unique_key = text(r, "unique_key");
            m.sequence = integer<std::uint64_t>(r, "sequence");
            m.created_ms = optional_integer<std::uint64_t>(r, "created_ms");
            return m;
        }
        case JournalRecordType::dispatched:
            return JournalDispatched{text(r, "id"), integer<std::uint32_t>(r, "attempt")};
        case JournalRecordType::done: {
            JournalDone m;
            m.id = text(r, "id");
            m.attempt = integer<std::uint32_t>(r, "attempt");
            m.result = bytes(r, "result");
            m.ended_at_ms = integer<std::uint64_t>(r, "ended_at_ms");
            m.started_ms = optional_integer<std::uint64_t>(r, "started_ms");
            m.worker = r.string("worker", std::numeric_limits<std::size_t>::max(), Presence::optional);
            return m;
        }
        case JournalRecordType::attempt_failed: {
            JournalAttemptFailed m;
            m.id = text(r, "id");
            m.attempt = integer<std::uint32_t>(r, "attempt");
            m.error = text(r, "error");
            m.is_permanent = r.boolean("permanent", std::nullopt);
            m.retry_at_ms = integer<std::uint64_t>(r, "retry_at_ms");
            return m;
        }
        case JournalRecordType::dead:
            return JournalDead{text(r, "id"), integer<std::uint64_t>(r, "died_at_ms")};
        case JournalRecordType::cancelled:
            return JournalCancelled{text(r, "id"), integer<std::uint64_t>(r, "ended_at_ms")};
        case JournalRecordType::retried:
            return JournalRetried{text(r, "id")};
        case JournalRecordType::purged:
            return JournalPurged{text(r, "id")};
        case JournalRecordType::released:
            return JournalReleased{text(r, "id")};
        case JournalRecordType::job:
            return read_job(r);
        case JournalRecordType::queue_settings:
            return read_queue_settings(r);
        case JournalRecordType::queue_deleted:
            return JournalQueueDeleted{text(r, "queue")};
    }
    return JournalPurged{};  // unreachable: check_frame accepts known types only
}

}  // namespace

std::string_view to_string(JournalRecordType type) noexcept {
    switch (type) {
        case JournalRecordType::submitted:
            return "submitted";
        case JournalRecordType::dispatched:
            return "dispatched";
        case JournalRecordType::done:
            return "done";
        case JournalRecordType::attempt_failed:
            return "attempt_failed";
        case JournalRecordType::dead:
            return "dead";
        case JournalRecordType::cancelled:
            return "cancelled";
        case JournalRecordType::retried:
            return "retried";
        case JournalRecordType::purged:
            return "purged";
        case JournalRecordType::queue_settings:
            return "queue_settings";
        case JournalRecordType::released:
            return "released";
        case JournalRecordType::job:
            return "job";
        case JournalRecordType::queue_deleted:
            return "queue_deleted";
    }
    return "unknown";
}

std::string_view to_string(JournalJob::State state) noexcept {
    switch (state) {
        case JournalJob::State::pending:
            return "pending";
        case JournalJob::State::delayed:
            return "delayed";
        case JournalJob::State::running:
            return "running";
        case JournalJob::State::dead:
            return "dead";
        case JournalJob::State::done:
            return "done";
        case JournalJob::State::cancelled:
            return "cancelled";
        case JournalJob::State::purged:
            return "purged";
    }
    return "unknown";
}

void encode(const JournalRecord& record, std::string& out) {
    const std::size_t start = out.size();
    out.append(kJournalFrameHeaderBytes, '\0');
    out[start + 8] = static_cast<char>(type_of(record));
    protocol::MapWriter writer(out);
    writer.begin_map();
    std::visit([&writer](const auto& fields) { write_body(writer, fields); }, record);
    writer.end();
    const std::size_t body_bytes = out.size() - start - kJournalFrameHeaderBytes;
    if (body_bytes > kMaxJournalBodyBytes) {
        out.resize(start);
        throw std::length_error("journal record body exceeds kMaxJournalBodyBytes");
    }
    put_le32(&out[start], static_cast<std::uint32_t>(body_bytes));
    put_le32(&out[start + 4], crc32c(out.data() + start + 8, body_bytes + 1));
}

JournalFrame check_frame(std::string_view bytes) noexcept {
    using Status = JournalFrame::Status;
    JournalFrame frame;
    if (bytes.size() < 4) return frame.status = Status::truncated, frame.reason = "incomplete record header", frame;
    const std::uint32_t body_bytes = get_le32(bytes.data());
    if (body_bytes == 0 || body_bytes > kMaxJournalBodyBytes) return frame.reason = "bad body length", frame;
    if (bytes.size() < kJournalFrameHeaderBytes) {
        return frame.status = Status::truncated, frame.reason = "incomplete record header", frame;
    }
    const auto type_byte = static_cast<std::uint8_t>(bytes[8]);
    if (type_byte == 0 || type_byte > kLastType) return frame.reason = "unknown record type", frame;
    if (bytes.size() > kJournalFrameHeaderBytes && !is_map_marker(bytes[kJournalFrameHeaderBytes])) {
        return frame.reason = "body is not a map", frame;
    }
    if (bytes.size() - kJournalFrameHeaderBytes < body_bytes) {
        return frame.status = Status::truncated, frame.reason = "incomplete record", frame;
    }
    if (crc32c(bytes.data() + 8, std::size_t{body_bytes} + 1) != get_le32(bytes.data() + 4)) {
        return frame.reason = "checksum mismatch", frame;
    }
    frame.status = Status::intact;
    frame.type = static_cast<JournalRecordType>(type_byte);
    frame.body = bytes.substr(kJournalFrameHeaderBytes, body_bytes);
    frame.frame_bytes = kJournalFrameHeaderBytes + body_bytes;
    frame.reason = "";
    return frame;
}

protocol::Result<JournalRecord, std::string> decode_body(JournalRecordType type, std::string_view body) {
    try {
        std::size_t offset = 0;
        const msgpack::object_handle handle = msgpack::unpack(body.data(), body.size(), offset);
        if (offset != body.size()) return protocol::unexpected(std::string("bytes after the body map"));
        const msgpack::object& map = handle.get();
        if (map.type != msgpack::type::MAP) return protocol::unexpected(std::string("body is not a map"));
        protocol::ReadStatus status;
        JournalRecord record = read_record(type, protocol::MapReader(map, status));
        if (status.failed()) return protocol::unexpected(status.describe());
        return record;
    } catch (const std::exception& error) {
        // msgpack's unpack_error and size_overflow families, type_error, bad_alloc on a hostile size.
        return protocol::unexpected(std::string("malformed msgpack: ") + error.what());
    }
}

std::optional<std::size_t> find_next_record(std::string_view bytes, std::size_t from) {
    for (std::size_t offset = from; offset + kJournalFrameHeaderBytes < bytes.size(); ++offset) {
        const JournalFrame frame = check_frame(bytes.substr(offset));
        if (frame.status == JournalFrame::Status::intact && decode_body(frame.type, frame.body).has_value()) {
            return offset;
        }
    }
    return std::nullopt;
}

}  // namespace corsair::broker
