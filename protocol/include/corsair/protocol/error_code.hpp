// Typed errors: what a decoder reports and what the broker's ERROR message carries.
// On the wire an error code travels as its snake_case name (docs/protocol.md §6).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace corsair::protocol {

enum class ErrorCode : std::uint8_t {
    bad_frame_count,      // too few or too many frames for the command
    bad_signature,        // frame 0 is not "CSR" + version
    unsupported_version,  // signature right, version unknown
    unknown_command,      // command byte not in the table
    bad_header,           // header frame is not one msgpack map, or too large
    missing_field,        // a required header field is absent
    bad_field_type,       // a header field has the wrong msgpack type
    bad_field_value,      // a header field is out of range, empty or too long
    payload_too_large,    // payload frame over the broker's limit
    unexpected_command,   // a valid command sent to the wrong side (e.g. JOB to the broker)
    unknown_job,          // no job with that id is known
    unknown_worker,       // a worker message from a peer that has not sent READY
    shutting_down,        // the broker is stopping and takes no new work
    queue_full,           // the queue is at its max length; nothing was queued
    wrong_state,          // the job is not in a state the request applies to
    too_many_queues,      // the request would create a queue beyond the broker's --max-queues
    unknown_queue,        // an admin request names a queue that does not exist (nothing was created)
    id_conflict,          // SUBMIT reuses a known job id with a different queue or payload
    storage_unavailable,  // the journal cannot be written (e.g. disk full); nothing was queued
    wrong_endpoint,       // a worker command on the producer endpoint or the reverse; message says where to go
    forbidden,            // the peer's CURVE key (its role) may not send this command; nothing was done
    too_many_in_flight,   // the connection has --max-in-flight SUBMITs unacknowledged; nothing was queued
    too_many_workers,     // READY past the broker's --max-workers connected workers
    internal,             // the broker failed; the request may be retried
};

inline constexpr std::string_view to_string(ErrorCode code) noexcept {
    switch (code) {
        case ErrorCode::bad_frame_count: return "bad_frame_count";
        case ErrorCode::bad_signature: return "bad_signature";
        case ErrorCode::unsupported_version: return "unsupported_version";
        case ErrorCode::unknown_command: return "unknown_command";
        case ErrorCode::bad_header: return "bad_header";
        case ErrorCode::missing_field: return "missing_field";
        case ErrorCode::bad_field_type: return "bad_field_type";
        case ErrorCode::bad_field_value: return "bad_field_value";
        case ErrorCode::payload_too_large: return "payload_too_large";
        case ErrorCode::unexpected_command: return "unexpected_command";
        case ErrorCode::unknown_job: return "unknown_job";
        case ErrorCode::unknown_worker: return "unknown_worker";
        case ErrorCode::shutting_down: return "shutting_down";
        case ErrorCode::queue_full: return "queue_full";
        case ErrorCode::wrong_state: return "wrong_state";
        case ErrorCode::too_many_queues: return "too_many_queues";
        case ErrorCode::unknown_queue: return "unknown_queue";
        case ErrorCode::id_conflict: return "id_conflict";
        case ErrorCode::storage_unavailable: return "storage_unavailable";
        case ErrorCode::wrong_endpoint: return "wrong_endpoint";
        case ErrorCode::forbidden: return "forbidden";
        case ErrorCode::too_many_in_flight: return "too_many_in_flight";
        case ErrorCode::too_many_workers: return "too_many_workers";
        case ErrorCode::internal: return "internal";
    }
    return "internal";
}

inline std::optional<ErrorCode> parse_error_code(std::string_view text) noexcept {
    for (int i = 0; i <= static_cast<int>(ErrorCode::internal); ++i) {
        auto code = static_cast<ErrorCode>(i);
        if (to_string(code) == text) return code;
    }
    return std::nullopt;
}

// What decode() returns when a message is rejected: the code and the field or frame at fault.
struct DecodeError {
    ErrorCode code;
    std::string detail;
};

}  // namespace corsair::protocol
