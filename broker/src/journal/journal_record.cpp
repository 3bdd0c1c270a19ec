#include "corsair/broker/journal_record.hpp"
#include "corsair/protocol/header_map.hpp"

#include <cstring>
#include <limits>
#include <msgpack.hpp>
#include <stdexcept>
#include <type_traits>

#include "crc32c.hpp"

namespace corsair::broker {

namespace {

constexpr std::uint8_t kLastType = static_cast<std::uint8_t>(JournalRecordType::released);

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

// msgpack::packer's stream: appends straight to the caller's buffer.
struct StringSink {
    std::string& out;
    void write(const char* data, std::size_t size) { out.append(data, size); }
};

class BodyWriter {
public:
    explicit BodyWriter(std::string& out) : sink_{out}, packer_(sink_) {}

    void begin(std::uint32_t keys) { packer_.pack_map(keys); }
    void text(std::string_view key, std::string_view value) {
        pack_key(key);
        packer_.pack_str(static_cast<std::uint32_t>(value.size()));
        packer_.pack_str_body(value.data(), static_cast<std::uint32_t>(value.size()));
    }
    void bytes(std::string_view key, std::string_view value) {
        pack_key(key);
        packer_.pack_bin(static_cast<std::uint32_t>(value.size()));
        packer_.pack_bin_body(value.data(), static_cast<std::uint32_t>(value.size()));
    }
    template <class Number>
    void number(std::string_view key, Number value) {
        pack_key(key);
        packer_.pack(value);
    }
    template <class Number>
    void optional(std::string_view key, const std::optional<Number>& value) {
        if (value) number(key, *value);
    }

private:
    void pack_key(std::string_view key) {
        packer_.pack_str(static_cast<std::uint32_t>(key.size()));
        packer_.pack_str_body(key.data(), static_cast<std::uint32_t>(key.size()));
    }

    StringSink sink_;
    msgpack::packer<StringSink> packer_;
};

template <class T>
std::uint32_t count(const std::optional<T>& value) {
    return value ? 1 : 0;
}

std::uint32_t count(const protocol::RetryPolicy& retry) {
    return count(retry.max_attempts) + count(retry.backoff_ms) + count(retry.backoff_max_ms) +
           count(retry.backoff_jitter_pct);
}

void write_retry(BodyWriter& w, const protocol::RetryPolicy& retry) {
    w.optional("max_attempts", retry.max_attempts);
    w.optional("backoff_ms", retry.backoff_ms);
    w.optional("backoff_max_ms", retry.backoff_max_ms);
    w.optional("backoff_jitter_pct", retry.backoff_jitter_pct);
}

void write_body(BodyWriter& w, const JournalSubmitted& r) {
    w.begin(7 + count(r.retry) + count(r.timeout_ms));
    w.text("id", r.id);
    w.text("queue", r.queue);
    w.bytes("payload", r.payload);
    w.number("priority", r.priority);
    write_retry(w, r.retry);
    w.optional("timeout_ms", r.timeout_ms);
    w.number("ready_at_ms", r.ready_at_ms);
    w.text("unique_key", r.unique_key);
    w.number("sequence", r.sequence);
}
void write_body(BodyWriter& w, const JournalDispatched& r) {
    w.begin(2);
    w.text("id", r.id);
    w.number("attempt", r.attempt);
}
void write_body(BodyWriter& w, const JournalDone& r) {
    w.begin(4);
    w.text("id", r.id);
    w.number("attempt", r.attempt);
    w.bytes("result", r.result);
    w.number("ended_at_ms", r.ended_at_ms);
}
void write_body(BodyWriter& w, const JournalAttemptFailed& r) {
    w.begin(5);
    w.text("id", r.id);
    w.number("attempt", r.attempt);
    w.text("error", r.error);
    w.number("permanent", r.is_permanent);
    w.number("retry_at_ms", r.retry_at_ms);
}
void write_body(BodyWriter& w, const JournalDead& r) {
    w.begin(2);
    w.text("id", r.id);
    w.number("died_at_ms", r.died_at_ms);
}
void write_body(BodyWriter& w, const JournalCancelled& r) {
    w.begin(2);
    w.text("id", r.id);
    w.number("ended_at_ms", r.ended_at_ms);
}
void write_body(BodyWriter& w, const JournalRetried& r) {
    w.begin(1);
    w.text("id", r.id);
}
void write_body(BodyWriter& w, const JournalReleased& r) {
    w.begin(1);
    w.text("id", r.id);
}
void write_body(BodyWriter& w, const JournalPurged& r) {
    w.begin(1);
    w.text("id", r.id);
}
void write_body(BodyWriter& w, const JournalQueueSettings& r) {
    const auto& s = r.settings;
    w.begin(1 + count(s.is_paused) + count(s.max_length) + count(s.retry) + count(s.timeout_ms) +
            count(s.dead_max_count) + count(s.dead_max_age_ms));
    w.text("queue", s.queue);
    w.optional("paused", s.is_paused);
    w.optional("max_length", s.max_length);
    write_retry(w, s.retry);
    w.optional("timeout_ms", s.timeout_ms);
    w.optional("dead_max_count", s.dead_max_count);
    w.optional("dead_max_age_ms", s.dead_max_age_ms);
}

// Typed access to one body map. The first problem is kept and later reads return defaults, so
// a decoder reads every field straight through and checks error() once at the end.
class BodyReader {
public:
    explicit BodyReader(const msgpack::object& map) : map_(map) {}

    const std::string& error() const noexcept { return error_; }

    std::string text(std::string_view key) {
        const auto* value = require(key);
        if (value == nullptr) return {};
        if (value->type != msgpack::type::STR) return fail("not a string", key), std::string();
        return std::string(value->via.str.ptr, value->via.str.size);
    }
    std::string bytes(std::string_view key) {
        const auto* value = require(key);
        if (value == nullptr) return {};
        if (value->type != msgpack::type::BIN) return fail("not bytes", key), std::string();
        return std::string(value->via.bin.ptr, value->via.bin.size);
    }
    bool boolean(std::string_view key) {
        const auto* value = require(key);
        if (value == nullptr) return false;
        if (value->type != msgpack::type::BOOLEAN) return fail("not a boolean", key), false;
        return value->via.boolean;
    }
    std::optional<bool> optional_boolean(std::string_view key) {
        if (find(key) == nullptr) return std::nullopt;
        return boolean(key);
    }
    template <class Integer>
    Integer integer(std::string_view key) {
        const auto* value = require(key);
        if (value == nullptr) return Integer{};
        return as<Integer>(*value, key);
    }
    template <class Integer>
    std::optional<Integer> optional_integer(std::string_view key) {
        const auto* value = find(key);
        if (value == nullptr) return std::nullopt;
        return as<Integer>(*value, key);
    }
    protocol::RetryPolicy retry() {
        protocol::RetryPolicy retry;
        retry.max_attempts = optional_integer<std::uint32_t>("max_attempts");
        retry.backoff_ms = optional_integer<std::uint64_t>("backoff_ms");
        retry.backoff_max_ms = optional_integer<std::uint64_t>("backoff_max_ms");
        retry.backoff_jitter_pct = optional_integer<std::uint32_t>("backoff_jitter_pct");
        return retry;
    }

private:
    // Same key rules as the wire's headers (protocol.md §3).
    const msgpack::object* find(std::string_view key) const noexcept {
        return protocol::detail::HeaderView(map_).find(key);
    }
    const msgpack::object* require(std::string_view key) {
        const auto* value = find(key);
        if (value == nullptr) fail("missing", key);
        return value;
    }
    template <class Integer>
    Integer as(const msgpack::object& value, std::string_view key) {
        using Limits = std::numeric_limits<Integer>;
        if (value.type == msgpack::type::POSITIVE_INTEGER) {
            if (value.via.u64 > static_cast<std::uint64_t>(Limits::max())) return fail("out of range", key), Integer{};
            return static_cast<Integer>(value.via.u64);
        }
        if (value.type == msgpack::type::NEGATIVE_INTEGER) {
            if constexpr (std::is_signed_v<Integer>) {
                if (value.via.i64 < static_cast<std::int64_t>(Limits::min())) {
                    return fail("out of range", key), Integer{};
                }
                return static_cast<Integer>(value.via.i64);
            }
            return fail("negative", key), Integer{};
        }
        return fail("not an integer", key), Integer{};
    }
    void fail(const char* problem, std::string_view key) {
        if (error_.empty()) error_ = std::string(problem) + " key=" + std::string(key);
    }

    const msgpack::object& map_;
    std::string error_;
};

JournalRecord read_record(JournalRecordType type, BodyReader& r) {
    switch (type) {
        case JournalRecordType::submitted: {
            JournalSubmitted m;
            m.id = r.text("id");
            m.queue = r.text("queue");
            m.payload = r.bytes("payload");
            m.priority = r.integer<std::int32_t>("priority");
            m.retry = r.retry();
            m.timeout_ms = r.optional_integer<std::uint64_t>("timeout_ms");
            m.ready_at_ms = r.integer<std::uint64_t>("ready_at_ms");
            m.unique_key = r.text("unique_key");
            m.sequence = r.integer<std::uint64_t>("sequence");
            return m;
        }
        case JournalRecordType::dispatched:
            return JournalDispatched{r.text("id"), r.integer<std::uint32_t>("attempt")};
        case JournalRecordType::done: {
            JournalDone m;
            m.id = r.text("id");
            m.attempt = r.integer<std::uint32_t>("attempt");
            m.result = r.bytes("result");
            m.ended_at_ms = r.integer<std::uint64_t>("ended_at_ms");
            return m;
        }
        case JournalRecordType::attempt_failed: {
            JournalAttemptFailed m;
            m.id = r.text("id");
            m.attempt = r.integer<std::uint32_t>("attempt");
            m.error = r.text("error");
            m.is_permanent = r.boolean("permanent");
            m.retry_at_ms = r.integer<std::uint64_t>("retry_at_ms");
            return m;
        }
        case JournalRecordType::dead:
            return JournalDead{r.text("id"), r.integer<std::uint64_t>("died_at_ms")};
        case JournalRecordType::cancelled:
            return JournalCancelled{r.text("id"), r.integer<std::uint64_t>("ended_at_ms")};
        case JournalRecordType::retried:
            return JournalRetried{r.text("id")};
        case JournalRecordType::purged:
            return JournalPurged{r.text("id")};
        case JournalRecordType::released:
            return JournalReleased{r.text("id")};
        case JournalRecordType::queue_settings: {
            JournalQueueSettings m;
            auto& s = m.settings;
            s.queue = r.text("queue");
            s.is_paused = r.optional_boolean("paused");
            s.max_length = r.optional_integer<std::uint64_t>("max_length");
            s.retry = r.retry();
            s.timeout_ms = r.optional_integer<std::uint64_t>("timeout_ms");
            s.dead_max_count = r.optional_integer<std::uint64_t>("dead_max_count");
            s.dead_max_age_ms = r.optional_integer<std::uint64_t>("dead_max_age_ms");
            return m;
        }
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
    }
    return "unknown";
}

void encode(const JournalRecord& record, std::string& out) {
    const std::size_t start = out.size();
    out.append(kJournalFrameHeaderBytes, '\0');
    out[start + 8] = static_cast<char>(type_of(record));
    BodyWriter writer(out);
    std::visit([&writer](const auto& fields) { write_body(writer, fields); }, record);
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
        BodyReader reader(map);
        JournalRecord record = read_record(type, reader);
        if (!reader.error().empty()) return protocol::unexpected(reader.error());
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
