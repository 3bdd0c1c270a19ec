// Sending and receiving whole messages on a cppzmq socket the caller owns. The protocol
// library never creates or keeps a socket; it only frames what passes through one.
#pragma once

#include <optional>
#include <string_view>

#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "corsair/protocol/codec.hpp"

namespace corsair::protocol {

enum class SendStatus {
    sent,
    would_block,       // high-water mark reached (non-blocking send)
    host_unreachable,  // ROUTER_MANDATORY: no peer with that routing id
};

// Sends all frames, prefixed by `routing_id` when sending from a ROUTER. Non-blocking.
// Frames are consumed only when the status is `sent`. Throws zmq::error_t only on errors
// that are not a peer's doing (e.g. a closed context).
inline SendStatus send_frames(zmq::socket_t& socket, Frames& frames, const zmq::message_t* routing_id = nullptr) {
    try {
        if (routing_id != nullptr) {
            zmq::message_t id(routing_id->data(), routing_id->size());
            if (!socket.send(id, zmq::send_flags::sndmore | zmq::send_flags::dontwait)) return SendStatus::would_block;
        }
        for (std::size_t i = 0; i < frames.size(); ++i) {
            const bool last = i + 1 == frames.size();
            // After the first frame libzmq accepts the rest of a multipart message atomically.
            auto flags = last ? zmq::send_flags::dontwait : (zmq::send_flags::sndmore | zmq::send_flags::dontwait);
            if (!socket.send(frames[i], flags)) return SendStatus::would_block;
        }
        return SendStatus::sent;
    } catch (const zmq::error_t& e) {
        if (e.num() == EHOSTUNREACH) return SendStatus::host_unreachable;
        throw;
    }
}

template <class T>
SendStatus send_message(zmq::socket_t& socket, T&& message, const zmq::message_t* routing_id = nullptr) {
    Frames frames = encode(std::forward<T>(message));
    return send_frames(socket, frames, routing_id);
}

// Receives one whole multipart message without blocking; false if none is waiting.
inline bool receive_frames(zmq::socket_t& socket, Frames& frames) {
    frames.clear();
    auto count = zmq::recv_multipart(socket, std::back_inserter(frames), zmq::recv_flags::dontwait);
    return count.has_value();
}

}  // namespace corsair::protocol
