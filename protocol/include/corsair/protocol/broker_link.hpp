// A producer's or a worker's one connection to the broker, whichever transport its endpoint
// names: a ZeroMQ DEALER (tcp://, ipc://, inproc://) or the direct transport (direct://,
// stream_client.hpp). Owned and used by one thread, as the socket inside it is.
#pragma once

#include <memory>
#include <string>
#include <utility>

#include <zmq.hpp>

#include "corsair/protocol/stream_client.hpp"
#include "corsair/protocol/wire.hpp"

namespace corsair::protocol {

class BrokerLink {
public:
    // A DEALER the caller configured and connected.
    explicit BrokerLink(zmq::socket_t dealer) : dealer_(std::move(dealer)) {}
    // A direct connection to `endpoint` (direct://HOST:PORT); `reconnects` as stream::Client's.
    // Throws std::invalid_argument for a malformed endpoint.
    BrokerLink(const std::string& endpoint, stream::Role role, bool reconnects = true)
        : direct_(std::make_unique<stream::Client>(endpoint, role, reconnects)) {}

    bool is_direct() const noexcept { return direct_ != nullptr; }
    // The DEALER to poll as a ZeroMQ socket; null for a direct link.
    zmq::socket_t* dealer() noexcept { return direct_ ? nullptr : &dealer_; }
    // A direct link's descriptor to poll for POLLIN (-1 while it has no connection), and the
    // number that changes whenever the descriptor does; -1 and 0 for a DEALER.
    int descriptor() const noexcept { return direct_ ? direct_->fd() : -1; }
    std::uint64_t descriptor_generation() const noexcept { return direct_ ? direct_->generation() : 0; }
    // A direct link without a connection (that reconnects) tries again then, at its next send or receive.
    std::chrono::steady_clock::time_point reconnect_at() const noexcept {
        return direct_ ? direct_->reconnect_at() : std::chrono::steady_clock::time_point{};
    }

    // Non-blocking over ZeroMQ; a direct link may wait up to stream::kSendTimeout for a broker
    // whose receive buffer is full. Frames are consumed only when the status is `sent` (a direct
    // link copies them and leaves them as they were).
    SendStatus send(Frames& frames) { return direct_ ? direct_->send(frames) : send_frames(dealer_, frames); }
    template <class T>
    SendStatus send_message(T&& message) {
        Frames frames = encode(std::forward<T>(message));
        return send(frames);
    }
    // One whole message without blocking; false if none is waiting.
    bool receive(Frames& frames) { return direct_ ? direct_->receive(frames) : receive_frames(dealer_, frames); }

    // How long a DEALER's unsent messages may delay its close (ZMQ_LINGER); a direct link sends
    // everything before send() returns, so it has nothing to linger for.
    void set_linger(std::chrono::milliseconds linger) {
        if (!direct_) dealer_.set(zmq::sockopt::linger, static_cast<int>(linger.count()));
    }

private:
    zmq::socket_t dealer_;
    std::unique_ptr<stream::Client> direct_;
};

}  // namespace corsair::protocol
