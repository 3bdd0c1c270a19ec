// The journal's records: one struct per change to a job or queue that must survive a crash, and
// their framing on disk. Pure values and functions, usable on any thread.
//
// A record on disk (all integers little-endian):
//
//   u32 body_bytes   length of `body` (not counting type)
//   u32 crc          CRC-32C (crc32c.hpp) of the type byte followed by the body
//   u8  type         a JournalRecordType; 0 is never used, so zero-filled space never passes
//   body             one msgpack map with string keys, as named in the structs below
//
// Bodies are written and read with the wire's msgpack map writer and reader
// (corsair/protocol/msgpack_map.hpp), so map sizes are computed and key rules are the wire's.
// Keys are whole names so the file is self-describing. Versioning (the header's format version,
// journal_file.hpp): a reader ignores keys it does not know, so adding an optional key keeps
// the version. A new record type, a new required key, or a key whose meaning changes bumps the
// version; a broker refuses a journal whose version it does not know. Every key the encoder
// writes unconditionally is required by the decoder; std::optional fields are written only when
// set. Times are Unix milliseconds (wall clock), because steady-clock values die with the process.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "corsair/protocol/messages.hpp"
#include "corsair/protocol/result.hpp"

namespace corsair::broker {

enum class JournalRecordType : std::uint8_t {
    submitted = 1,
    dispatched = 2,
    done = 3,
    attempt_failed = 4,
    dead = 5,
    cancelled = 6,
    retried = 7,
    purged = 8,
    queue_settings = 9,
    released = 10,
    job = 11,            // since version 3
    queue_deleted = 12,  // since version 4
};

std::string_view to_string(JournalRecordType type) noexcept;

// A job accepted by SUBMIT. Whether the producer wanted a RESULT is not kept: connections do
// not survive a restart.
struct JournalSubmitted {
    std::string id;
    std::string queue;
    std::string payload;  // msgpack bin
    std::int32_t priority = 0;
    protocol::RetryPolicy retry;  // absent fields follow the queue's settings
    std::optional<std::uint64_t> timeout_ms;
    std::uint64_t ready_at_ms = 0;  // Unix ms at which it becomes pending; 0 = at once
    std::string unique_key;         // empty = none
    std::uint64_t sequence = 0;     // submission order (JobRecord::sequence)
    std::optional<std::uint64_t> created_ms;  // Unix ms it was accepted (absent before brokers kept it)
};

// An attempt leased to a worker.
struct JournalDispatched {
    std::string id;
    std::uint32_t attempt = 0;
};

struct JournalDone {
    std::string id;
    std::uint32_t attempt = 0;
    std::string result;  // msgpack bin
    std::uint64_t ended_at_ms = 0;
    std::optional<std::uint64_t> started_ms{};  // Unix ms the attempt started (optional key)
    std::string worker{};                       // the worker that ran it (optional key "worker")
};

// FAIL, timeout or worker death. retry_at_ms is when the job becomes pending again after its
// backoff (0 = no retry: a dead record follows, or the job was requeued at once).
struct JournalAttemptFailed {
    std::string id;
    std::uint32_t attempt = 0;
    std::string error;
    bool is_permanent = false;  // key "permanent", as on the wire
    std::uint64_t retry_at_ms = 0;
};

// Moved into its queue's dead set.
struct JournalDead {
    std::string id;
    std::uint64_t died_at_ms = 0;
};

struct JournalCancelled {
    std::string id;
    std::uint64_t ended_at_ms = 0;
};

// Taken from the dead set by RETRY: a new round of attempts.
struct JournalRetried {
    std::string id;
};

// Forgotten: purged from the dead set, evicted from it by count or age, or its result expired.
struct JournalPurged {
    std::string id;
};

// Handed back by a worker that left cleanly (drain timeout): pending again, and the attempt it
// held does not count against the job's attempts.
struct JournalReleased {
    std::string id;
};

// A job's whole state as one record: what a snapshot (compaction) writes for each job it keeps,
// live or ended, instead of a history that replays to that state. Since version 3. Keys: id,
// queue, state, payload, priority, the retry keys, timeout_ms, unique_key, sequence, attempt,
// uncounted_attempts, errors (as STATUS_REPLY's), last_error, at_ms, result.
struct JournalJob {
    enum class State : std::uint8_t { pending, delayed, running, dead, done, cancelled, purged };
    std::string id;
    std::string queue;
    State state = State::pending;  // written as its name; running means running when the snapshot was taken
    std::string payload;           // msgpack bin; empty for an ended job
    std::int32_t priority = 0;
    protocol::RetryPolicy retry;   // for an ended job, max_attempts is what it had
    std::optional<std::uint64_t> timeout_ms;
    std::string unique_key;
    std::uint64_t sequence = 0;
    std::uint32_t attempt = 0;
    std::uint32_t uncounted_attempts = 0;  // attempts not counted against max_attempts (JobRecord)
    std::vector<protocol::AttemptError> errors;
    std::string last_error;
    std::uint64_t at_ms = 0;  // Unix ms: delayed, when it is ready; dead, when it died; ended, when
    std::string result;       // msgpack bin: a done job's result
    // Optional keys: when it was accepted; for an ended job when its last attempt started and
    // the worker that ran it.
    std::optional<std::uint64_t> created_ms;
    std::optional<std::uint64_t> started_ms;
    std::string worker;
};
std::string_view to_string(JournalJob::State state) noexcept;

// A queue's settings after a QUEUE request: every field, absent ones meaning "the default".
// Keys as on the wire: queue, paused, max_length, max_attempts, backoff_ms, backoff_max_ms,
// backoff_jitter_pct, timeout_ms, dead_max_count, dead_max_age_ms.
struct JournalQueueSettings {
    protocol::QueueSettings settings;
};

// A queue deleted by DELETE_QUEUE: its settings are forgotten (its jobs were ended by records
// before this one). Since version 4. Key: queue.
struct JournalQueueDeleted {
    std::string queue;
};

// Alternatives in JournalRecordType order: index() + 1 is the type byte.
using JournalRecord = std::variant<JournalSubmitted, JournalDispatched, JournalDone, JournalAttemptFailed, JournalDead,
                                   JournalCancelled, JournalRetried, JournalPurged, JournalQueueSettings,
                                   JournalReleased, JournalJob, JournalQueueDeleted>;

inline JournalRecordType type_of(const JournalRecord& record) noexcept {
    return static_cast<JournalRecordType>(record.index() + 1);
}

// u32 body_bytes + u32 crc + u8 type.
inline constexpr std::size_t kJournalFrameHeaderBytes = 9;
// Larger than any body the broker writes (payloads are capped at max_payload_bytes); a larger
// length field marks damage rather than a record.
inline constexpr std::uint32_t kMaxJournalBodyBytes = 1U << 30;

// Appends the framed record to `out`. Throws std::length_error if the body would exceed
// kMaxJournalBodyBytes (a programmer error: the broker's payload limit is far below it).
void encode(const JournalRecord& record, std::string& out);

// What lies at the start of some bytes, judged without decoding the body.
struct JournalFrame {
    enum class Status {
        intact,     // the whole frame is present and its checksum matches
        truncated,  // the frame claims more bytes than there are: a write cut short, or damage
        damaged,    // a bad length, type, body start or checksum
    };
    Status status = Status::damaged;
    JournalRecordType type{};
    std::string_view body;
    std::size_t frame_bytes = 0;  // header + body, when intact
    const char* reason = "";      // why it is not intact, for messages
};

JournalFrame check_frame(std::string_view bytes) noexcept;

// Decodes the body of an intact frame. Never throws; the error names the problem and the key.
protocol::Result<JournalRecord, std::string> decode_body(JournalRecordType type, std::string_view body);

// The first offset at or after `from` where an intact frame with a decodable body starts, or
// nullopt. This is how readers resynchronise after damage: each offset's length, type and first
// body byte (a msgpack map marker) are checked before the CRC is computed, so scanning costs
// little more than reading, and a random false match needs a 32-bit CRC collision on top.
// Caveat: a payload whose bytes hold a whole valid frame would match when a scan passes through
// it. Scans only cover damaged bytes, so the reader then reports corruption instead of a torn
// tail (it refuses rather than truncates), while salvage would keep the embedded record.
std::optional<std::size_t> find_next_record(std::string_view bytes, std::size_t from);

}  // namespace corsair::broker
