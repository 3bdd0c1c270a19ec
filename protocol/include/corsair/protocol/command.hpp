// The command table: each command's code (frame 1 of every message), name, who may send it and
// which frames follow its header. Every question about a command is answered from kCommands, and
// messages.hpp checks the Message variant against it at compile time. Constant data, any thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string_view>

namespace corsair::protocol {

// A command's code on the wire; kCommands holds one row per enumerator.
enum class Command : std::uint8_t {
    submit = 0x01,
    accepted = 0x02,
    result = 0x03,
    status = 0x04,
    status_reply = 0x05,
    stats = 0x06,
    stats_reply = 0x07,
    error = 0x08,
    cancel = 0x09,
    retry = 0x0A,
    purge = 0x0B,
    dead = 0x0C,
    dead_reply = 0x0D,
    queue = 0x0E,
    ok = 0x0F,
    ready = 0x10,
    job = 0x11,
    done = 0x12,
    fail = 0x13,
    heartbeat = 0x14,
    drain = 0x15,
    disconnect = 0x16,
    progress = 0x17,
    abandon = 0x18,
    jobs = 0x19,
    dones = 0x1A,
    results = 0x1B,
    list = 0x1C,
    list_reply = 0x1D,
    clear = 0x1E,
    delete_queue = 0x1F,
    recall = 0x20,
    submits = 0x21,
};

// One way a command travels. Some travel several ways (HEARTBEAT both between broker and worker).
enum class Direction : std::uint8_t {
    producer_to_broker = 1U << 0,
    broker_to_producer = 1U << 1,
    worker_to_broker = 1U << 2,
    broker_to_worker = 1U << 3,
};

// A set of Directions, written `Direction::a | Direction::b`.
class Directions {
public:
    constexpr Directions(Direction direction) noexcept : bits_(static_cast<std::uint8_t>(direction)) {}
    constexpr Directions operator|(Directions other) const noexcept { return Directions(bits_ | other.bits_); }
    constexpr bool contains(Direction direction) const noexcept {
        return (bits_ & static_cast<std::uint8_t>(direction)) != 0;
    }

private:
    constexpr explicit Directions(unsigned bits) noexcept : bits_(static_cast<std::uint8_t>(bits)) {}

    std::uint8_t bits_;
};

constexpr Directions operator|(Direction a, Direction b) noexcept { return Directions(a) | b; }

// The frames after signature, command and header (docs/protocol.md §3).
enum class FrameRule : std::uint8_t {
    header_only,  // none: exactly 3 frames
    payload,      // one: 4 frames; the payload, or for STATS_REPLY, DEAD_REPLY and LIST_REPLY a msgpack body
    batch,        // one per entry of the header's list, at least one: 3 + N frames
};

struct CommandInfo {
    Command command;
    std::string_view name;  // as in docs/protocol.md, and in ERROR's and OK's `command` field
    Directions directions;
    FrameRule frames;
};

// docs/protocol.md §4, row by row, in code order. protocol/README.md says how to add a command.
inline constexpr CommandInfo kCommands[] = {
    // producer <-> broker
    {Command::submit, "SUBMIT", Direction::producer_to_broker, FrameRule::payload},
    {Command::accepted, "ACCEPTED", Direction::broker_to_producer, FrameRule::header_only},
    {Command::result, "RESULT", Direction::broker_to_producer, FrameRule::payload},
    {Command::status, "STATUS", Direction::producer_to_broker, FrameRule::header_only},
    {Command::status_reply, "STATUS_REPLY", Direction::broker_to_producer, FrameRule::payload},
    {Command::stats, "STATS", Direction::producer_to_broker, FrameRule::header_only},
    {Command::stats_reply, "STATS_REPLY", Direction::broker_to_producer, FrameRule::payload},
    {Command::error, "ERROR", Direction::broker_to_producer | Direction::broker_to_worker, FrameRule::header_only},
    {Command::cancel, "CANCEL", Direction::producer_to_broker, FrameRule::header_only},
    {Command::retry, "RETRY", Direction::producer_to_broker, FrameRule::header_only},
    {Command::purge, "PURGE", Direction::producer_to_broker, FrameRule::header_only},
    {Command::dead, "DEAD", Direction::producer_to_broker, FrameRule::header_only},
    {Command::dead_reply, "DEAD_REPLY", Direction::broker_to_producer, FrameRule::payload},
    {Command::queue, "QUEUE", Direction::producer_to_broker | Direction::broker_to_producer, FrameRule::header_only},
    {Command::ok, "OK", Direction::broker_to_producer, FrameRule::header_only},
    // worker <-> broker
    {Command::ready, "READY", Direction::worker_to_broker, FrameRule::header_only},
    {Command::job, "JOB", Direction::broker_to_worker, FrameRule::payload},
    {Command::done, "DONE", Direction::worker_to_broker, FrameRule::payload},
    {Command::fail, "FAIL", Direction::worker_to_broker, FrameRule::header_only},
    {Command::heartbeat, "HEARTBEAT", Direction::worker_to_broker | Direction::broker_to_worker,
     FrameRule::header_only},
    {Command::drain, "DRAIN", Direction::worker_to_broker, FrameRule::header_only},
    {Command::disconnect, "DISCONNECT", Direction::worker_to_broker | Direction::broker_to_worker,
     FrameRule::header_only},
    {Command::progress, "PROGRESS", Direction::worker_to_broker | Direction::broker_to_producer,
     FrameRule::header_only},
    {Command::abandon, "ABANDON", Direction::broker_to_worker, FrameRule::header_only},
    {Command::jobs, "JOBS", Direction::broker_to_worker, FrameRule::batch},
    {Command::dones, "DONES", Direction::worker_to_broker, FrameRule::batch},
    {Command::results, "RESULTS", Direction::broker_to_producer, FrameRule::batch},
    // producer <-> broker: looking into queues (docs/protocol.md §5.28 to §5.31)
    {Command::list, "LIST", Direction::producer_to_broker, FrameRule::header_only},
    {Command::list_reply, "LIST_REPLY", Direction::broker_to_producer, FrameRule::payload},
    {Command::clear, "CLEAR", Direction::producer_to_broker, FrameRule::header_only},
    {Command::delete_queue, "DELETE_QUEUE", Direction::producer_to_broker, FrameRule::header_only},
    // broker -> worker: a job held ready beyond capacity, asked back (docs/protocol.md §5.32)
    {Command::recall, "RECALL", Direction::broker_to_worker, FrameRule::header_only},
    // producer -> broker: several SUBMITs under one header (docs/protocol.md §5.33)
    {Command::submits, "SUBMITS", Direction::producer_to_broker, FrameRule::batch},
};

inline constexpr std::size_t kCommandCount = std::size(kCommands);

namespace detail {

constexpr bool codes_ascend() noexcept {
    for (std::size_t i = 1; i < kCommandCount; ++i) {
        if (static_cast<std::uint8_t>(kCommands[i - 1].command) >= static_cast<std::uint8_t>(kCommands[i].command)) {
            return false;
        }
    }
    return true;
}
static_assert(codes_ascend(), "kCommands is in code order, each code once");
static_assert(static_cast<std::uint8_t>(kCommands[0].command) != 0, "code 0 is never a command");

constexpr bool names_unique() noexcept {
    for (std::size_t i = 0; i < kCommandCount; ++i) {
        for (std::size_t j = i + 1; j < kCommandCount; ++j) {
            if (kCommands[i].name == kCommands[j].name) return false;
        }
    }
    return true;
}
static_assert(names_unique(), "each command has its own name");

// For each code, its row in kCommands plus one; 0 for a code no command has.
inline constexpr auto kRowByCode = [] {
    std::array<std::uint8_t, 256> rows{};
    for (std::size_t i = 0; i < kCommandCount; ++i) {
        rows[static_cast<std::uint8_t>(kCommands[i].command)] = static_cast<std::uint8_t>(i + 1);
    }
    return rows;
}();

}  // namespace detail

// The row of `code` in kCommands, or nullptr if no command has it.
constexpr const CommandInfo* find_command(std::uint8_t code) noexcept {
    const std::uint8_t row = detail::kRowByCode[code];
    return row == 0 ? nullptr : &kCommands[row - 1];
}
constexpr const CommandInfo* find_command(Command command) noexcept {
    return find_command(static_cast<std::uint8_t>(command));
}

// The position of a known command's row in kCommands, which is also its Message alternative.
constexpr std::size_t row_of(Command command) noexcept {
    return static_cast<std::size_t>(detail::kRowByCode[static_cast<std::uint8_t>(command)]) - 1;
}

inline constexpr bool is_known_command(std::uint8_t code) noexcept { return find_command(code) != nullptr; }

// The command's name, or "?" for a value that is not in the table.
inline constexpr std::string_view to_string(Command command) noexcept {
    const CommandInfo* info = find_command(command);
    return info == nullptr ? std::string_view("?") : info->name;
}

inline constexpr bool travels(Command command, Direction direction) noexcept {
    const CommandInfo* info = find_command(command);
    return info != nullptr && info->directions.contains(direction);
}
// What a producer may send the broker, and what a worker may.
inline constexpr bool is_producer_command(Command command) noexcept {
    return travels(command, Direction::producer_to_broker);
}
inline constexpr bool is_worker_command(Command command) noexcept {
    return travels(command, Direction::worker_to_broker);
}

inline constexpr bool has_frame_rule(Command command, FrameRule rule) noexcept {
    const CommandInfo* info = find_command(command);
    return info != nullptr && info->frames == rule;
}
// Exactly one frame after the header: the payload, or a msgpack body (STATS_REPLY, DEAD_REPLY, LIST_REPLY).
inline constexpr bool carries_payload(Command command) noexcept { return has_frame_rule(command, FrameRule::payload); }
// One payload frame per entry of the header's list (JOBS, DONES, RESULTS).
inline constexpr bool is_batch(Command command) noexcept { return has_frame_rule(command, FrameRule::batch); }

}  // namespace corsair::protocol
