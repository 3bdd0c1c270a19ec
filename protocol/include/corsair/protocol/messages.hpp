// One struct per message. Header fields are named as on the wire (docs/protocol.md §Messages);
// payloads stay zmq::message_t so the broker forwards them without copying.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <type_traits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <zmq.hpp>

#include "corsair/protocol/command.hpp"
#include "corsair/protocol/error_code.hpp"

namespace corsair::protocol {

// A job's state as the broker reports it.
enum class JobState : std::uint8_t { pending, running, done, failed };

inline constexpr std::string_view to_string(JobState state) noexcept {
    switch (state) {
        case JobState::pending: return "pending";
        case JobState::running: return "running";
        case JobState::done: return "done";
        case JobState::failed: return "failed";
    }
    return "pending";
}

inline std::optional<JobState> parse_job_state(std::string_view text) noexcept {
    if (text == "pending") return JobState::pending;
    if (text == "running") return JobState::running;
    if (text == "done") return JobState::done;
    if (text == "failed") return JobState::failed;
    return std::nullopt;
}

// zmq::message_t is move-only; these helpers keep payload handling short at call sites.
inline zmq::message_t make_payload(std::string_view bytes) { return zmq::message_t(bytes.data(), bytes.size()); }
inline std::string_view view_of(const zmq::message_t& payload) noexcept {
    return {static_cast<const char*>(payload.data()), payload.size()};
}

struct Submit {
    std::string id;  // chosen by the producer; resubmitting the same id never makes a second job
    std::string queue;
    bool wants_result = false;  // push RESULT to this connection when the job ends
    zmq::message_t payload;
};

struct Accepted {
    std::string id;
    bool existed = false;  // the id was already known: nothing new was queued
};

struct JobResult {
    std::string id;
    JobState state = JobState::done;  // done or failed
    std::uint32_t attempt = 0;
    std::string error;       // failed only
    zmq::message_t payload;  // done only: the result bytes
};

struct StatusRequest {
    std::string id;
};

struct StatusReply {
    std::string id;
    std::string queue;
    JobState state = JobState::pending;
    std::uint32_t attempt = 0;  // 0 while the job has never been dispatched
    std::string worker;         // name of the lease holder while running
    std::string error;          // failed only
    zmq::message_t payload;     // done only: the result bytes
};

struct StatsRequest {};

struct QueueStats {
    std::string name;
    std::uint64_t pending = 0;
    std::uint64_t in_flight = 0;
    std::uint64_t done = 0;
    std::uint64_t failed = 0;
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
};

struct StatsReply {
    std::vector<QueueStats> queues;
    std::vector<WorkerStats> workers;
    std::map<std::string, std::uint64_t> counters;  // broker-wide counters, names in docs/protocol.md
};

struct Error {
    ErrorCode code = ErrorCode::internal;
    std::string message;
    std::string id;  // the job id the error concerns, if any
};

struct Ready {
    std::vector<std::string> queues;
    std::uint32_t capacity = 1;
    std::string name;  // shown in stats: host:pid unless the operator names it
};

struct Job {
    std::string id;
    std::string queue;
    std::uint32_t attempt = 1;  // with id, the lease's fencing token
    zmq::message_t payload;
};

struct Done {
    std::string id;
    std::uint32_t attempt = 0;
    zmq::message_t payload;  // the result
};

struct Fail {
    std::string id;
    std::uint32_t attempt = 0;
    std::string error;
};

struct Heartbeat {
    // Sent by the broker so workers adopt its rate; absent from a worker's heartbeats.
    std::optional<std::uint32_t> interval_ms;
    std::optional<std::uint32_t> liveness;
};

struct Drain {};

struct Disconnect {
    std::string reason;
};

using Message = std::variant<Submit, Accepted, JobResult, StatusRequest, StatusReply, StatsRequest, StatsReply,
                             Error, Ready, Job, Done, Fail, Heartbeat, Drain, Disconnect>;

namespace detail {
template <class T, class Variant>
struct IndexIn;
template <class T, class... Ts>
struct IndexIn<T, std::variant<Ts...>> {
    static constexpr std::size_t value = [] {
        constexpr bool matches[] = {std::is_same_v<T, Ts>...};
        for (std::size_t i = 0; i < sizeof...(Ts); ++i) {
            if (matches[i]) return i;
        }
        return sizeof...(Ts);
    }();
};
inline constexpr Command kCommandByIndex[] = {
    Command::submit, Command::accepted, Command::result,    Command::status, Command::status_reply,
    Command::stats,  Command::stats_reply, Command::error,  Command::ready,  Command::job,
    Command::done,   Command::fail,     Command::heartbeat, Command::drain,  Command::disconnect,
};
static_assert(std::size(kCommandByIndex) == std::variant_size_v<Message>);
}  // namespace detail

// The command code of a message type, and of a message.
template <class T>
inline constexpr Command kCommandOf = detail::kCommandByIndex[detail::IndexIn<T, Message>::value];

inline Command command_of(const Message& message) noexcept { return detail::kCommandByIndex[message.index()]; }

}  // namespace corsair::protocol
