// Test-only builders for hand-made frames and msgpack headers, so malformed messages can be
// written as data. Never used outside tests/unit/protocol.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <msgpack.hpp>

#include "corsair/protocol/protocol.hpp"

namespace corsair::protocol::test {

using detail::Packer;

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
    return {std::move(key), [value = std::move(value)](Packer& p) { detail::pack_string(p, value); }};
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
                for (const auto& v : values) detail::pack_string(p, v);
            }};
}
inline Field raw(std::string key, std::function<void(Packer&)> write) { return {std::move(key), std::move(write)}; }

using Fields = std::vector<Field>;

inline std::string map_of(const Fields& fields) {
    return msgpack_bytes([&](Packer& p) {
        p.pack_map(static_cast<std::uint32_t>(fields.size()));
        for (const auto& field : fields) {
            detail::pack_string(p, field.key);
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
    if (carries_payload(command)) parts.push_back(payload);
    return frames_of(parts);
}

// STATS_REPLY keeps only `counters` in its header; its other fields go in the body frame.
inline Frames message_with_fields(Command command, const Fields& fields) {
    if (command != Command::stats_reply) return message_with_header(command, map_of(fields));
    Fields header;
    Fields body;
    for (const auto& field : fields) (field.key == "counters" ? header : body).push_back(field);
    return message_with_header(command, map_of(header), map_of(body));
}

// A complete, valid header for each command, as a peer in another language would write it.
inline Fields valid_fields(Command command) {
    switch (command) {
        case Command::submit: return {str("id", "j1"), str("queue", "q"), boolean("wants_result", true)};
        case Command::accepted: return {str("id", "j1"), boolean("existed", false)};
        case Command::result: return {str("id", "j1"), str("state", "done"), uint("attempt", 1), str("error", "")};
        case Command::status: return {str("id", "j1")};
        case Command::status_reply:
            return {str("id", "j1"), str("queue", "q"),  str("state", "running"),
                    uint("attempt", 2),  str("worker", "w"), str("error", "")};
        case Command::stats: return {};
        case Command::stats_reply:
            return {raw("queues", [](Packer& p) { p.pack_array(0); }), raw("workers", [](Packer& p) { p.pack_array(0); }),
                    raw("counters", [](Packer& p) { p.pack_map(0); })};
        case Command::error: return {str("code", "unknown_job"), str("message", "no such job"), str("id", "j1")};
        case Command::ready: return {strings("queues", {"q"}), uint("capacity", 4), str("name", "w1")};
        case Command::job: return {str("id", "j1"), str("queue", "q"), uint("attempt", 1)};
        case Command::done: return {str("id", "j1"), uint("attempt", 1)};
        case Command::fail: return {str("id", "j1"), uint("attempt", 1), str("error", "boom")};
        case Command::heartbeat: return {uint("interval_ms", 1000), uint("liveness", 3)};
        case Command::drain: return {};
        case Command::disconnect: return {str("reason", "bye")};
    }
    return {};
}

inline constexpr Command kAllCommands[] = {
    Command::submit, Command::accepted, Command::result,    Command::status, Command::status_reply,
    Command::stats,  Command::stats_reply, Command::error,  Command::ready,  Command::job,
    Command::done,   Command::fail,     Command::heartbeat, Command::drain,  Command::disconnect,
};

}  // namespace corsair::protocol::test
