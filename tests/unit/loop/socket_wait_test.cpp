#include "corsair/loop/socket_wait.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <string>

#include "corsair/loop/wake_signal.hpp"

using corsair::loop::SocketWait;
using corsair::loop::WakeSignal;
using namespace std::chrono_literals;

namespace {

// A connected inproc pair: the loop's end (`near`) and a peer sending to it (`far`).
struct Pair {
    zmq::context_t context;
    zmq::socket_t near{context, zmq::socket_type::pair};
    zmq::socket_t far{context, zmq::socket_type::pair};
    Pair() {
        const std::string endpoint = "inproc://socket-wait-" + std::to_string(reinterpret_cast<std::uintptr_t>(this));
        near.bind(endpoint);
        far.connect(endpoint);
    }
};

constexpr std::uint32_t kSocket = 1U << 0;
constexpr std::uint32_t kDescriptor = 1U << 1;

// Receives from `socket` until EAGAIN, as the broker's turn does; returns how many messages.
int drain(zmq::socket_t& socket, SocketWait& wait, std::size_t item) {
    int received = 0;
    zmq::message_t message;
    while (socket.recv(message, zmq::recv_flags::dontwait)) ++received;
    wait.drained(item);
    return received;
}

}  // namespace

TEST_CASE("socket wait reports a socket with a message, then blocks until the next one or the timeout", "[loop][socket_wait]") {
    Pair pair;
    WakeSignal stop;
    SocketWait wait({&pair.near}, {stop.fd()});
    // At start every socket is asked: nothing there, so the wait runs to its timeout.
    const auto started = std::chrono::steady_clock::now();
    CHECK(wait.wait(50ms) == 0);
    CHECK(std::chrono::steady_clock::now() - started >= 40ms);
    pair.far.send(zmq::str_buffer("one"), zmq::send_flags::none);
    REQUIRE((wait.wait(5000ms) & kSocket) != 0);
    CHECK(drain(pair.near, wait, 0) == 1);
    pair.far.send(zmq::str_buffer("two"), zmq::send_flags::none);
    pair.far.send(zmq::str_buffer("three"), zmq::send_flags::none);
    REQUIRE((wait.wait(5000ms) & kSocket) != 0);
    CHECK(drain(pair.near, wait, 0) == 2);
    CHECK(wait.wait(20ms) == 0);
}

TEST_CASE("socket wait asks a touched socket whose mailbox another call emptied, instead of blocking on it",
          "[loop][socket_wait]") {
    Pair pair;
    WakeSignal stop;
    SocketWait wait({&pair.near}, {stop.fd()});
    CHECK(wait.wait(0ms) == 0);
    pair.far.send(zmq::str_buffer("one"), zmq::send_flags::none);
    // As a send on the socket may: libzmq takes the socket's commands, so its descriptor no
    // longer announces the message waiting.
    REQUIRE((pair.near.get(zmq::sockopt::events) & ZMQ_POLLIN) != 0);
    wait.touch(0);
    const auto started = std::chrono::steady_clock::now();
    REQUIRE((wait.wait(5000ms) & kSocket) != 0);
    CHECK(std::chrono::steady_clock::now() - started < 2500ms);
    CHECK(drain(pair.near, wait, 0) == 1);
}

TEST_CASE("socket wait reports a descriptor beside a busy socket, and a descriptor alone", "[loop][socket_wait]") {
    Pair pair;
    WakeSignal stop;
    SocketWait wait({&pair.near}, {stop.fd()});
    stop.notify();
    CHECK(wait.wait(5000ms) == kDescriptor);
    CHECK(stop.take() == 1);
    CHECK(wait.wait(0ms) == 0);
    // A socket that always has more must not hide a stop request.
    pair.far.send(zmq::str_buffer("one"), zmq::send_flags::none);
    stop.notify();
    stop.notify();
    wait.touch(0);
    CHECK(wait.wait(5000ms) == (kSocket | kDescriptor));
    CHECK(stop.take() == 2);
    CHECK(drain(pair.near, wait, 0) == 1);
}
