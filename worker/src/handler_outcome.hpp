// HandlerOutcome: how a handler thread reports to the I/O thread over inproc PUSH/PULL: one progress
// report, or the end of an attempt. Private to the worker; never on the wire.
#pragma once

#include <cassert>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>
#include <zmq.hpp>
#include <zmq_addon.hpp>

namespace corsair::worker {

enum class HandlerOutcomeKind : std::uint8_t {
    done,                // DONE with `body` as result
    failed,              // FAIL with `body` as error text
    failed_permanently,  // FAIL with is_permanent: the handler threw PermanentFailure
    not_started,         // FAIL with not_started: the handler threw NotStarted
    progress,            // PROGRESS with `percent` and `body` as message; the attempt goes on
};

struct HandlerOutcome {
    HandlerOutcomeKind kind = HandlerOutcomeKind::failed;
    std::string id;
    std::uint32_t attempt = 0;
    std::uint64_t generation = 0;  // the broker connection the job came from
    std::uint32_t percent = 0;     // progress only
    zmq::message_t body;

    bool is_final() const noexcept { return kind != HandlerOutcomeKind::progress; }
};

// Frames: [kind 1 byte][id][attempt 4 bytes][generation 8 bytes][percent 4 bytes][body].
// The PUSH has no high-water mark, so this never waits for the I/O thread.
inline void send_handler_outcome(zmq::socket_t& socket, HandlerOutcome&& outcome) {
    const auto kind = static_cast<std::uint8_t>(outcome.kind);
    socket.send(zmq::const_buffer(&kind, 1), zmq::send_flags::sndmore);
    socket.send(zmq::buffer(outcome.id), zmq::send_flags::sndmore);
    socket.send(zmq::const_buffer(&outcome.attempt, sizeof outcome.attempt), zmq::send_flags::sndmore);
    socket.send(zmq::const_buffer(&outcome.generation, sizeof outcome.generation), zmq::send_flags::sndmore);
    socket.send(zmq::const_buffer(&outcome.percent, sizeof outcome.percent), zmq::send_flags::sndmore);
    socket.send(outcome.body, zmq::send_flags::none);
}

// Non-blocking; nullopt when nothing is waiting.
inline std::optional<HandlerOutcome> receive_handler_outcome(zmq::socket_t& socket) {
    std::vector<zmq::message_t> frames;
    // Both ends are ours: a malformed outcome is a bug, not peer input, and is skipped, so that
    // nullopt always means the socket is empty (EAGAIN), which the I/O thread's wait relies on.
    const auto is_malformed = [&frames] {
        return frames.size() != 6 || frames[0].size() != 1 || frames[2].size() != 4 || frames[3].size() != 8 ||
               frames[4].size() != 4 ||
               *frames[0].data<std::uint8_t>() > static_cast<std::uint8_t>(HandlerOutcomeKind::progress);
    };
    do {
        frames.clear();
        if (!zmq::recv_multipart(socket, std::back_inserter(frames), zmq::recv_flags::dontwait)) return std::nullopt;
        assert(!is_malformed() && "a handler thread sent a malformed outcome");
    } while (is_malformed());
    HandlerOutcome outcome;
    outcome.kind = static_cast<HandlerOutcomeKind>(*frames[0].data<std::uint8_t>());
    outcome.id = frames[1].to_string();
    std::memcpy(&outcome.attempt, frames[2].data(), sizeof outcome.attempt);
    std::memcpy(&outcome.generation, frames[3].data(), sizeof outcome.generation);
    std::memcpy(&outcome.percent, frames[4].data(), sizeof outcome.percent);
    outcome.body = std::move(frames[5]);
    return outcome;
}

}  // namespace corsair::worker
