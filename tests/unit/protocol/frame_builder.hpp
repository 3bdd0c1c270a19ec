// Test-only builders for hand-made frames and msgpack headers, so malformed messages can be
// written as data. Never used outside tests/unit/protocol.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <msgpack.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "corsair/protocol/protocol.hpp"

namespace corsair::protocol::test {

// The raw msgpack writer of hand-made headers: counts are given by hand here on purpose, so a
// test can write any map, even one whose count lies.
using Packer = msgpack::packer<msgpack::sbuffer>;

inline void pack_string(Packer& packer, std::string_view text) {
    packer.pack_str(static_cast<std::uint32_t>(text.size()));
    packer.pack_str_body(text.data(), static_cast<std::uint32_t>(text.size()));
}

// Bytes from a list of octets, for headers written by hand ({0x81, 0xa2, 'i', 'd', ...}).
inline std::string octets(std::initializer_list<int> list) {
    std::string text;
    for (int value : list) text.push_back(static_cast<char>(value));
    return text;
}

inline std::string text_of(const zmq::message_t& frame) { return std::string(view_of(frame)); }

template <class Write>
std::string msgpack_bytes(Write&& write) {
    msgpack::sbuffer buffer;
    Packer packer(buffer);
    write(packer);
    return std::string(buffer.data(), buffer.size());
}

// One key/value of a header map; the value is written by a small function.
struct Field {
    std::string key;
    std::function<void(Packer&)> write_value;
};

inline Field str(std::string key, std::string value) {
    return {std::move(key), [value = std::move(value)](Packer& p) { pack_string(p, value); }};
}
inline Field uint(std::string key, std::uint64_t value) {
    return {std::move(key), [value](Packer& p) { p.pack_uint64(value); }};
}
inline Field sint(std::string key, std::int64_t value) {
    return {std::move(key), [value](Packer& p) { p.pack_int64(value); }};
}
inline Field boolean(std::string key, bool value) {
    return {std::move(key), [value](Packer& p) { p.pack(value); }};
}
inline Field nil(std::string key) {
    return {std::move(key), [](Packer& p) { p.pack_nil(); }};
}
inline Field strings(std::string key, std::vector<std::string> values) {
    return {std::move(key), [values = std::move(values)](Packer& p) {
                p.pack_array(static_cast<std::uint32_t>(values.size()));
                for (const auto& v : values) pack_string(p, v);
            }};
}
inline Field raw(std::string key, std::function<void(Packer&)> write) { return {std::move(key), std::move(write)}; }

using Fields = std::vector<Field>;

inline std::string map_of(const Fields& fields) {
    return msgpack_bytes([&](Packer& p) {
        p.pack_map(static_cast<std::uint32_t>(fields.size()));
        for (const auto& field : fields) {
            pack_string(p, field.key);
            field.write_value(p);
        }
    });
}

// `fields` without the entry named `key`.
inline Fields without(Fields fields, std::string_view key) {
    Fields kept;
    for (auto& field : fields) {
        if (field.key != key) kept.push_back(std::move(field));
    }
    return kept;
}

// `fields` with the entry named `field.key` replaced (or appended when absent).
inline Fields with(Fields fields, Field field) {
    for (auto& existing : fields) {
        if (existing.key == field.key) {
            existing = std::move(field);
            return fields;
        }
    }
    fields.push_back(std::move(field));
    return fields;
}

inline std::string signature_bytes(std::uint8_t version = kVersion) {
    return std::string{'C', 'S', 'R', static_cast<char>(version)};
}
inline std::string command_bytes(Command command) { return std::string(1, static_cast<char>(command)); }

inline Frames frames_of(const std::vector<std::string>& parts) {
    Frames frames;
    for (const auto& part : parts) frames.emplace_back(part.data(), part.size());
    return frames;
}

// A message with a correct signature and command frame, the given header bytes, and a payload
// frame exactly when the command carries one.
inline Frames message_with_header(Command command, const std::string& header, const std::string& payload = "p") {
    std::vector<std::string> parts{signature_bytes(), command_bytes(command), header};
    if (carries_payload(command) || is_batch(command)) parts.push_back(payload);  // a batch: one entry
    return frames_of(parts);
}

// STATS_REPLY, DEAD_REPLY and LIST_REPLY carry lists in a body frame (frame 3), not the header.
inline bool is_body_field(Command command, std::string_view key) {
    if (command == Command::stats_reply) {
        return key == "queues" || key == "workers" || key == "journal_fsync" || key == "journal_records_per_fsync";
    }
    if (command == Command::dead_reply || command == Command::list_reply) return key == "jobs";
    return false;
}

// A message from header fields; for STATS_REPLY, DEAD_REPLY and LIST_REPLY the lists go in the body.
inline Frames message_with_fields(Command command, const Fields& fields) {
    if (command != Command::stats_reply && command != Command::dead_reply && command != Command::list_reply) {
        return message_with_header(command, map_of(fields));
    }
    Fields header;
    Fields body;
    for (const auto& field : fields) (is_body_field(command, field.key) ? body : header).push_back(field);
    return message_with_header(command, map_of(header), map_of(body));
}

// An array of `count` attempt errors ({"attempt": n, "error": "e<n>"}), as in a job's history.
inline std::function<void(Packer&)> attempt_errors(std::size_t count) {
    return [count](Packer& p) {
        p.pack_array(static_cast<std::uint32_t>(count));
        for (std::size_t i = 1; i <= count; ++i) {
            p.pack_map(2);
            pack_string(p, "attempt");
            p.pack_uint64(i);
            pack_string(p, "error");
            pack_string(p, "e" + std::to_string(i));
        }
    };
}

// A DEAD_REPLY (or LIST_REPLY) `jobs` array holding one entry made of `fields`.
inline Field dead_jobs(Fields fields) {
    return {"jobs", [fields = std::move(fields)](Packer& p) {
                p.pack_array(1);
                p.pack_map(static_cast<std::uint32_t>(fields.size()));
                for (const auto& field : fields) {
                    pack_string(p, field.key);
                    field.write_value(p);
                }
            }};
}

inline Fields valid_dead_job() {
    return {str("id", "j1"),       uint("attempts", 3), uint("died_ms_ago", 5000), uint("payload_bytes", 2),
            sint("priority", -5), raw("errors", attempt_errors(3))};
}

inline Fields valid_listed_job() {
    return {str("id", "j1"),          uint("attempt", 1),        uint("max_attempts", 3),
            sint("priority", 2),      uint("payload_bytes", 5),  uint("created_ms", 1'700'000'000'000),
            uint("started_ms", 1'700'000'000'500), str("worker", "w1")};
}

// A complete, valid header for each command, as a peer in another language would write it.
inline Fields valid_fields(Command command) {
    switch (command) {
        case Command::submit:
            return {str("id", "j1"), str("queue", "q"), boolean("wants_result", true)};
        case Command::accepted:
            return {str("id", "j1"), boolean("existed", false), str("job_id", "j1")};
        case Command::result:
            return {str("id", "j1"), str("state", "done"), uint("attempt", 1), str("error", "")};
        case Command::status:
            return {str("id", "j1")};
        case Command::status_reply:
            return {str("id", "j1"),         str("queue", "q"),
                    str("state", "running"), uint("attempt", 2),
                    str("worker", "w"),      str("error", ""),
                    sint("priority", 0),     uint("max_attempts", 3),
                    uint("progress", 50),    str("progress_message", "half"),
                    uint("ready_in_ms", 0),  raw("errors", attempt_errors(1))};
        case Command::stats:
            return {};
        case Command::stats_reply:
            return {raw("queues", [](Packer& p) { p.pack_array(0); }),
                    raw("workers", [](Packer& p) { p.pack_array(0); }),
                    raw("counters", [](Packer& p) { p.pack_map(0); })};
        case Command::error:
            return {str("code", "unknown_job"), str("message", "no such job"), str("id", "j1"),
                    str("command", "STATUS")};
        case Command::cancel:
            return {str("id", "j1")};
        case Command::retry:
            return {str("id", "j1")};
        case Command::purge:
            return {str("queue", "q"), str("id", "j1")};
        case Command::dead:
            return {str("queue", "q"), uint("limit", 100)};
        case Command::dead_reply:
            return {str("queue", "q"), uint("total", 1), dead_jobs(valid_dead_job())};
        case Command::queue:
            return {str("queue", "q"), boolean("paused", false), uint("max_attempts", 5)};
        case Command::ok:
            return {str("command", "CANCEL"), str("id", "j1"), uint("count", 1)};
        case Command::ready:
            return {strings("queues", {"q"}), uint("capacity", 4), str("name", "w1")};
        case Command::job:
            return {str("id", "j1"), str("queue", "q"), uint("attempt", 1)};
        case Command::done:
            return {str("id", "j1"), uint("attempt", 1)};
        case Command::fail:
            return {str("id", "j1"), uint("attempt", 1), str("error", "boom"), boolean("permanent", false)};
        case Command::heartbeat:
            return {uint("interval_ms", 1000), uint("liveness", 3)};
        case Command::drain:
            return {};
        case Command::disconnect:
            return {str("reason", "bye")};
        case Command::progress:
            return {str("id", "j1"), uint("attempt", 1), uint("percent", 50), str("message", "half")};
        case Command::abandon:
            return {str("id", "j1"), uint("attempt", 1), str("reason", "timeout")};
        case Command::recall:
            return {str("id", "j1"), uint("attempt", 1)};
        case Command::jobs:  // one entry: messages built from it carry one payload frame
            return {raw("jobs", [](Packer& p) {
                p.pack_array(1);
                p.pack_array(3);
                pack_string(p, "j1");
                pack_string(p, "q");
                p.pack(1);
            })};
        case Command::dones:
            return {raw("done", [](Packer& p) {
                p.pack_array(1);
                p.pack_array(2);
                pack_string(p, "j1");
                p.pack(1);
            })};
        case Command::results:
            return {raw("results", [](Packer& p) {
                p.pack_array(1);
                p.pack_array(4);
                pack_string(p, "j1");
                pack_string(p, "done");
                p.pack(1);
                pack_string(p, "");
            })};
        case Command::list:
            return {str("queue", "q"), str("state", "pending"), str("after", "j0"), uint("limit", 100)};
        case Command::list_reply:
            return {str("queue", "q"), str("state", "running"), uint("total", 1), str("next", ""),
                    dead_jobs(valid_listed_job())};
        case Command::clear:
            return {str("queue", "q"), boolean("pending", true), boolean("delayed", true)};
        case Command::delete_queue:
            return {str("queue", "q"), boolean("force", true)};
        case Command::submits:  // one entry: messages built from it carry one payload frame
            return {str("queue", "q"), boolean("wants_result", true), strings("ids", {"j1"})};
    }
    return {};
}

// Every command in the table (docs/protocol.md §4), in code order.
inline constexpr auto kAllCommands = [] {
    std::array<Command, kCommandCount> all{};
    for (std::size_t i = 0; i < kCommandCount; ++i) all[i] = kCommands[i].command;
    return all;
}();

// Messages built member by member: the structs have optional members without default
// initialisers, so a positional aggregate initialiser would leave them unnamed
// (-Wmissing-field-initializers), and these tests build as C++17, without designated initialisers.
inline StatusReply status_reply_of(std::string id, std::string queue, JobState state, std::uint32_t attempt,
                                   std::string worker, std::string error, zmq::message_t payload) {
    StatusReply m;
    m.id = std::move(id);
    m.queue = std::move(queue);
    m.state = state;
    m.attempt = attempt;
    m.worker = std::move(worker);
    m.error = std::move(error);
    m.payload = std::move(payload);
    return m;
}

inline Error error_of(ErrorCode code, std::string message, std::string id, std::string command = "") {
    Error m;
    m.code = code;
    m.message = std::move(message);
    m.id = std::move(id);
    m.command = std::move(command);
    return m;
}

}  // namespace corsair::protocol::test
