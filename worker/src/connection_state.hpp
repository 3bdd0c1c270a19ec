// ConnectionState: the Worker's connection to its broker, as the states of protocol.md §7, and
// the one table of its transitions, row by row against §7's table. Plain data, no I/O: the Worker
// holds the state on its I/O thread and changes it only in Worker::change_state(), which looks
// the next state up here and opens or closes the DEALER to match it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace corsair::worker {

enum class ConnectionState : std::uint8_t {
    not_started,            // §7 (start): run() has not opened a connection yet
    connecting,             // a DEALER is open and READY sent; nothing heard from the broker yet
    waiting_to_reconnect,   // the DEALER is closed; a new one opens once the backoff has passed
    ready,                  // the broker answered; no lease held on this connection
    serving,                // the broker answered; at least one lease held on this connection
    draining,               // DRAIN sent: the jobs still running finish, then DISCONNECT
    draining_disconnected,  // draining, but the broker is lost: no socket and no reconnect
    gone,                   // the socket is closed for good; run() returns
};
inline constexpr std::size_t kConnectionStateCount = static_cast<std::size_t>(ConnectionState::gone) + 1;

enum class ConnectionEvent : std::uint8_t {
    started,           // run() begins
    broker_heard,      // the first message of any kind from the broker on this connection
    broker_lost,       // DISCONNECT from the broker, or nothing heard for liveness x interval
    backoff_elapsed,   // the reconnect backoff has passed
    job_received,      // a JOB (or one entry of JOBS) became a lease held here
    lease_ended,       // a lease held here ended (DONE/FAIL sent, or ABANDON); others are still held
    last_lease_ended,  // as lease_ended, and it was the last one held on this connection
    drain_requested,   // request_drain()
    drain_finished,    // while draining: no job runs any more, or the drain timeout passed
    stop_requested,    // request_stop()
};
inline constexpr std::size_t kConnectionEventCount = static_cast<std::size_t>(ConnectionEvent::stop_requested) + 1;

struct ConnectionTransition {
    ConnectionState from;
    ConnectionEvent event;
    ConnectionState to;
};

// Rows in §7's order. The action of each row is Worker's: this table only says where it leads.
// Events raised where the table has no row are the Worker's bug (peer input never gets there:
// a message from the broker is always first `broker_heard`), so change_state() asserts on them.
inline constexpr std::array kConnectionTransitions{
    // (start): open a DEALER, connect to the worker endpoint, send READY.
    ConnectionTransition{ConnectionState::not_started, ConnectionEvent::started, ConnectionState::connecting},
    // connecting | any message from the broker: adopt interval_ms and liveness, reset the backoff;
    // each lease still held from an earlier connection is then raised as job_received (serving).
    ConnectionTransition{ConnectionState::connecting, ConnectionEvent::broker_heard, ConnectionState::ready},
    // connecting | nothing heard for liveness x interval: close the socket, wait the backoff ...
    ConnectionTransition{ConnectionState::connecting, ConnectionEvent::broker_lost,
                         ConnectionState::waiting_to_reconnect},
    // ... then open a new DEALER and send READY (§7 writes the wait inside the row's action).
    ConnectionTransition{ConnectionState::waiting_to_reconnect, ConnectionEvent::backoff_elapsed,
                         ConnectionState::connecting},
    // ready | JOB: run it.
    ConnectionTransition{ConnectionState::ready, ConnectionEvent::job_received, ConnectionState::serving},
    // serving | JOB: run it (never more than `capacity` at once).
    ConnectionTransition{ConnectionState::serving, ConnectionEvent::job_received, ConnectionState::serving},
    // serving | a job ends: DONE or FAIL; serving, or ready when none is held.
    // serving | ABANDON of a lease held: stop the job, send nothing; likewise.
    ConnectionTransition{ConnectionState::serving, ConnectionEvent::lease_ended, ConnectionState::serving},
    ConnectionTransition{ConnectionState::serving, ConnectionEvent::last_lease_ended, ConnectionState::ready},
    // ready, serving | DISCONNECT from the broker, or nothing heard: close the socket (the leases
    // stay held, for the next READY's `holding`), wait the backoff, double it, then open a new
    // DEALER (backoff_elapsed above). ERROR id_conflict or too_many_workers answering READY is
    // handled the same way.
    ConnectionTransition{ConnectionState::ready, ConnectionEvent::broker_lost, ConnectionState::waiting_to_reconnect},
    ConnectionTransition{ConnectionState::serving, ConnectionEvent::broker_lost, ConnectionState::waiting_to_reconnect},
    // connecting, ready, serving | the operator asks to stop: send DRAIN.
    ConnectionTransition{ConnectionState::connecting, ConnectionEvent::drain_requested, ConnectionState::draining},
    ConnectionTransition{ConnectionState::ready, ConnectionEvent::drain_requested, ConnectionState::draining},
    ConnectionTransition{ConnectionState::serving, ConnectionEvent::drain_requested, ConnectionState::draining},
    // connecting, while waiting the backoff (no socket) | the operator asks to stop: do not
    // reconnect; gone once no job runs locally, or a local drain timeout passes.
    ConnectionTransition{ConnectionState::waiting_to_reconnect, ConnectionEvent::drain_requested,
                         ConnectionState::draining_disconnected},
    // draining | JOB (sent before the broker read the DRAIN): run it.
    ConnectionTransition{ConnectionState::draining, ConnectionEvent::job_received, ConnectionState::draining},
    // draining | a job ends: DONE or FAIL. serving, draining | ABANDON of a lease held: send nothing.
    ConnectionTransition{ConnectionState::draining, ConnectionEvent::lease_ended, ConnectionState::draining},
    ConnectionTransition{ConnectionState::draining, ConnectionEvent::last_lease_ended, ConnectionState::draining},
    // draining | no job held, or a local drain timeout passes: send DISCONNECT, close the socket.
    ConnectionTransition{ConnectionState::draining, ConnectionEvent::drain_finished, ConnectionState::gone},
    ConnectionTransition{ConnectionState::draining_disconnected, ConnectionEvent::drain_finished,
                         ConnectionState::gone},
    // draining | the broker is lost: close the socket; do not reconnect; jobs still running locally
    // may finish until the drain timeout, and nothing is sent for them (drain_finished above).
    ConnectionTransition{ConnectionState::draining, ConnectionEvent::broker_lost,
                         ConnectionState::draining_disconnected},
    // any | the operator stops at once: send DISCONNECT (when a socket is open), close the socket.
    ConnectionTransition{ConnectionState::connecting, ConnectionEvent::stop_requested, ConnectionState::gone},
    ConnectionTransition{ConnectionState::waiting_to_reconnect, ConnectionEvent::stop_requested, ConnectionState::gone},
    ConnectionTransition{ConnectionState::ready, ConnectionEvent::stop_requested, ConnectionState::gone},
    ConnectionTransition{ConnectionState::serving, ConnectionEvent::stop_requested, ConnectionState::gone},
    ConnectionTransition{ConnectionState::draining, ConnectionEvent::stop_requested, ConnectionState::gone},
    ConnectionTransition{ConnectionState::draining_disconnected, ConnectionEvent::stop_requested,
                         ConnectionState::gone},
};
// §7 rows that change no state are handled where their message is, not here: PROGRESS (serving),
// ABANDON for a lease not held (ignored), ERROR unknown_worker (READY again on the same socket,
// and DRAIN again while draining), and a second drain request (ignored). The two states §7 has no
// name for: waiting_to_reconnect is its "wait the backoff" inside the reconnect rows, and
// draining_disconnected its "gone once no job runs locally" after the broker is lost.

namespace detail {

using NextStates = std::array<std::array<std::optional<ConnectionState>, kConnectionEventCount>, kConnectionStateCount>;

// The table as [from][event], built at compile time: a lookup is one index, and a pair listed
// twice fails the build.
consteval NextStates next_states() {
    NextStates next{};
    for (const auto& row : kConnectionTransitions) {
        auto& cell = next[static_cast<std::size_t>(row.from)][static_cast<std::size_t>(row.event)];
        if (cell) throw "a (state, event) pair is listed twice in kConnectionTransitions";
        cell = row.to;
    }
    return next;
}

inline constexpr NextStates kNextStates = next_states();

}  // namespace detail

// The state `event` leads to from `from`, or nullopt when the table has no such row.
constexpr std::optional<ConnectionState> next_connection_state(ConnectionState from, ConnectionEvent event) {
    return detail::kNextStates[static_cast<std::size_t>(from)][static_cast<std::size_t>(event)];
}

// Whether the Worker holds an open DEALER in `state`.
constexpr bool has_socket(ConnectionState state) {
    return state == ConnectionState::connecting || state == ConnectionState::ready ||
           state == ConnectionState::serving || state == ConnectionState::draining;
}

constexpr bool is_draining(ConnectionState state) {
    return state == ConnectionState::draining || state == ConnectionState::draining_disconnected;
}

constexpr std::string_view to_string(ConnectionState state) {
    switch (state) {
        case ConnectionState::not_started:
            return "not_started";
        case ConnectionState::connecting:
            return "connecting";
        case ConnectionState::waiting_to_reconnect:
            return "waiting_to_reconnect";
        case ConnectionState::ready:
            return "ready";
        case ConnectionState::serving:
            return "serving";
        case ConnectionState::draining:
            return "draining";
        case ConnectionState::draining_disconnected:
            return "draining_disconnected";
        case ConnectionState::gone:
            return "gone";
    }
    return "unknown";
}

constexpr std::string_view to_string(ConnectionEvent event) {
    switch (event) {
        case ConnectionEvent::started:
            return "started";
        case ConnectionEvent::broker_heard:
            return "broker_heard";
        case ConnectionEvent::broker_lost:
            return "broker_lost";
        case ConnectionEvent::backoff_elapsed:
            return "backoff_elapsed";
        case ConnectionEvent::job_received:
            return "job_received";
        case ConnectionEvent::lease_ended:
            return "lease_ended";
        case ConnectionEvent::last_lease_ended:
            return "last_lease_ended";
        case ConnectionEvent::drain_requested:
            return "drain_requested";
        case ConnectionEvent::drain_finished:
            return "drain_finished";
        case ConnectionEvent::stop_requested:
            return "stop_requested";
    }
    return "unknown";
}

}  // namespace corsair::worker
