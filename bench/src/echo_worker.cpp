#include "echo_worker.hpp"

#include <chrono>
#include <cstdio>
#include <variant>

#include "corsair/protocol/protocol.hpp"

namespace corsair::bench {

namespace {

// Notices the end of the ZMTP handshake with the proxy: from then on its DEALER deals to us.
class HandshakeWatch : public zmq::monitor_t {
public:
    bool has_succeeded = false;

private:
    void on_event_handshake_succeeded(const zmq_event_t&, const char*) override { has_succeeded = true; }
};

}  // namespace

int run_echo_worker(zmq::context_t& context, const std::string& endpoint) {
    zmq::socket_t socket(context, zmq::socket_type::dealer);
    socket.set(zmq::sockopt::linger, 0);
    socket.set(zmq::sockopt::maxmsgsize,
               static_cast<std::int64_t>(protocol::kDefaultMaxPayloadBytes + protocol::kFrameOverheadBytes));
    HandshakeWatch watch;
    watch.init(socket, "inproc://echo-worker-monitor", ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    socket.connect(endpoint);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!watch.has_succeeded) {
        if (std::chrono::steady_clock::now() >= deadline) return 1;
        watch.check_event(100);
    }
    // The ceiling cluster waits for this line before it lets the producer start.
    std::printf("corsair-bench echo worker connected\n");
    std::fflush(stdout);
    protocol::Frames frames;
    for (;;) {
        frames.clear();
        // Blocks: this process has nothing else to do, and it is stopped by SIGKILL.
        if (!zmq::recv_multipart(socket, std::back_inserter(frames))) continue;
        if (frames.size() < 2) continue;
        // Frame 0 is the producer's routing id, added by the proxy's ROUTER.
        auto decoded = protocol::decode(frames, 1);
        if (!decoded) continue;
        auto* submit = std::get_if<protocol::Submit>(&decoded.value());
        if (submit == nullptr) continue;
        protocol::JobResult result;
        result.id = std::move(submit->id);
        result.state = protocol::JobState::done;
        result.attempt = 1;
        result.payload = std::move(submit->payload);
        auto reply = protocol::encode(std::move(result));
        // Blocking sends: when the proxy's queue to us is full, wait for room rather than drop.
        socket.send(frames[0], zmq::send_flags::sndmore);
        for (std::size_t i = 0; i < reply.size(); ++i) {
            socket.send(reply[i], i + 1 == reply.size() ? zmq::send_flags::none : zmq::send_flags::sndmore);
        }
    }
}

}  // namespace corsair::bench
