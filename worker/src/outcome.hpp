// Outcome: how a handler thread reports one finished attempt to the I/O thread over inproc
// PUSH/PULL. Private to the worker; never on the wire.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>
#include <zmq.hpp>
#include <zmq_addon.hpp>

namespace corsair::worker {

struct Outcome {
    bool is_done = false;  // DONE with `body` as result, else FAIL with `body` as error text
    std::string id;
    std::uint32_t attempt = 0;
    std::uint64_t generation = 0;  // the broker connection the job came from
    zmq::message_t body;
};

// Frames: [is_done 1 byte][id][attempt 4 bytes][generation 8 bytes][body]. Blocking send.
inline void send_outcome(zmq::socket_t& socket, Outcome&& outcome) {
    const std::uint8_t kind = outcome.is_done ? 1 : 0;
    socket.send(zmq::const_buffer(&kind, 1), zmq::send_flags::sndmore);
    socket.send(zmq::buffer(outcome.id), zmq::send_flags::sndmore);
    socket.send(zmq::const_buffer(&outcome.attempt, sizeof outcome.attempt), zmq::send_flags::sndmore);
    socket.send(zmq::const_buffer(&outcome.generation, sizeof outcome.generation), zmq::send_flags::sndmore);
    socket.send(outcome.body, zmq::send_flags::none);
}

// Non-blocking; nullopt when nothing is waiting.
inline std::optional<Outcome> receive_outcome(zmq::socket_t& socket) {
    std::vector<zmq::message_t> frames;
    if (!zmq::recv_multipart(socket, std::back_inserter(frames), zmq::recv_flags::dontwait)) return std::nullopt;
    // Both ends are ours: a malformed outcome is a bug, not peer input.
    if (frames.size() != 5 || frames[0].size() != 1 || frames[2].size() != 4 || frames[3].size() != 8) {
        return std::nullopt;
    }
    Outcome outcome;
    outcome.is_done = *frames[0].data<std::uint8_t>() == 1;
    outcome.id = frames[1].to_string();
    std::memcpy(&outcome.attempt, frames[2].data(), sizeof outcome.attempt);
    std::memcpy(&outcome.generation, frames[3].data(), sizeof outcome.generation);
    outcome.body = std::move(frames[4]);
    return outcome;
}

}  // namespace corsair::worker
