// The direct transport's framing (stream.hpp): messages cut from a byte stream however it is
// split, and malformed streams refused by name; and its client against a plain listening socket.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>

#include "corsair/protocol/protocol.hpp"
#include "corsair/protocol/stream_client.hpp"

namespace corsair::protocol::stream {
namespace {

std::string frame_text(const zmq::message_t& frame) { return std::string(static_cast<const char*>(frame.data()), frame.size()); }

// Feeds `bytes` to `reader` `step` bytes at a time, cutting every whole message out as it goes.
std::vector<Frames> feed(MessageReader& reader, const std::string& bytes, std::size_t step) {
    std::vector<Frames> messages;
    std::string problem;
    for (std::size_t at = 0; at < bytes.size(); at += step) {
        const std::size_t count = std::min(step, bytes.size() - at);
        std::memcpy(reader.space(count), bytes.data() + at, count);
        reader.commit(count);
        Frames frames;
        while (reader.next(frames, problem) == MessageReader::Next::message) messages.push_back(std::move(frames));
    }
    return messages;
}

std::string u32(std::uint32_t value) {
    std::string out;
    detail::put_u32(out, value);
    return out;
}

TEST_CASE("the direct transport cuts the same messages out of a stream however the bytes arrive", "[stream]") {
    Submit submit;
    submit.id = "job-1";
    submit.queue = "q";
    const std::string payload = "payload bytes";
    submit.payload = zmq::message_t(payload.data(), payload.size());
    const Frames sent = encode(std::move(submit));
    std::string bytes;
    append_message(bytes, sent);
    append_message(bytes, encode(Heartbeat{}));
    for (const std::size_t step : {std::size_t{1}, std::size_t{3}, std::size_t{7}, bytes.size()}) {
        MessageReader reader(kDefaultMaxPayloadBytes);
        auto messages = feed(reader, bytes, step);
        REQUIRE(messages.size() == 2);
        REQUIRE(messages[0].size() == sent.size());
        for (std::size_t i = 0; i < sent.size(); ++i) CHECK(frame_text(messages[0][i]) == frame_text(sent[i]));
        auto decoded = decode(messages[0], 0);
        REQUIRE(decoded);
        CHECK(std::get<Submit>(decoded.value()).id == "job-1");
        CHECK(decode(messages[1], 0));
        CHECK(reader.buffered() == 0);
    }
}

TEST_CASE("a malformed stream is refused by name, and stays refused", "[stream]") {
    std::string problem;
    Frames frames;
    SECTION("no frames") {
        MessageReader reader(1024);
        feed(reader, u32(0), 4);
        CHECK(reader.next(frames, problem) == MessageReader::Next::malformed);
        CHECK(problem.find("0 frames") != std::string::npos);
    }
    SECTION("more frames than any message has") {
        MessageReader reader(1024);
        feed(reader, u32(kMaxStreamFrames + 1), 4);
        CHECK(reader.next(frames, problem) == MessageReader::Next::malformed);
    }
    SECTION("a frame over the limit, refused before its bytes arrive") {
        MessageReader reader(1024);
        feed(reader, u32(1) + u32(1025), 8);
        CHECK(reader.next(frames, problem) == MessageReader::Next::malformed);
        CHECK(problem.find("1025 bytes, over the limit of 1024") != std::string::npos);
        // Whatever comes after cannot be trusted to start a message.
        feed(reader, u32(1) + u32(1) + "x", 9);
        CHECK(reader.next(frames, problem) == MessageReader::Next::malformed);
    }
    SECTION("a message cut short is only incomplete") {
        MessageReader reader(1024);
        feed(reader, u32(2) + u32(1) + "x" + u32(5) + "ab", 14);
        CHECK(reader.next(frames, problem) == MessageReader::Next::incomplete);
    }
}

TEST_CASE("a direct greeting names its role, and anything else is refused with the reason", "[stream]") {
    std::string problem;
    CHECK(parse_greeting(greeting(Role::worker), problem) == Role::worker);
    CHECK(parse_greeting(greeting(Role::producer), problem) == Role::producer);
    CHECK_FALSE(parse_greeting("GET / HT", problem));
    CHECK(problem == "not a Corsair direct greeting");
    std::string newer = greeting(Role::worker);
    newer[4] = 2;
    CHECK_FALSE(parse_greeting(newer, problem));
    CHECK(problem.find("version 2") != std::string::npos);
    std::string unknown = greeting(Role::worker);
    unknown[5] = 'X';
    CHECK_FALSE(parse_greeting(unknown, problem));
}

TEST_CASE("direct endpoints are direct://HOST:PORT", "[stream]") {
    CHECK(split_endpoint("direct://127.0.0.1:5557") == std::pair<std::string, std::string>{"127.0.0.1", "5557"});
    CHECK(split_endpoint("direct://[::1]:5557") == std::pair<std::string, std::string>{"::1", "5557"});
    CHECK_FALSE(split_endpoint("tcp://127.0.0.1:5557"));
    CHECK_FALSE(split_endpoint("direct://127.0.0.1"));
    CHECK_FALSE(split_endpoint("direct://:5557"));
    CHECK_THROWS_AS(Client("direct://nowhere", Role::worker), std::invalid_argument);
}

// A listening socket on a loopback port of its own.
struct Listener {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    int port = 0;
    Listener() {
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
        REQUIRE(::listen(fd, 4) == 0);
        socklen_t length = sizeof address;
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
        port = ntohs(address.sin_port);
    }
    ~Listener() { ::close(fd); }
    std::string endpoint() const { return "direct://127.0.0.1:" + std::to_string(port); }
};

// Reads exactly `count` bytes within 5 s.
std::string read_exactly(int fd, std::size_t count) {
    std::string bytes;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (bytes.size() < count && std::chrono::steady_clock::now() < deadline) {
        pollfd item{fd, POLLIN, 0};
        if (::poll(&item, 1, 100) != 1) continue;
        char buffer[4096];
        const ssize_t got = ::recv(fd, buffer, std::min(sizeof buffer, count - bytes.size()), 0);
        if (got <= 0) break;
        bytes.append(buffer, static_cast<std::size_t>(got));
    }
    return bytes;
}

bool receive_within(Client& client, Frames& frames) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (std::chrono::steady_clock::now() < deadline) {
        if (client.receive(frames)) return true;
        pollfd item{client.fd(), POLLIN, 0};
        ::poll(&item, 1, 100);
    }
    return false;
}

TEST_CASE("a direct client greets, sends whole messages, reads them back, and connects again after a break",
          "[stream]") {
    Listener listener;
    Client client(listener.endpoint(), Role::producer);
    const int server = ::accept(listener.fd, nullptr, nullptr);
    REQUIRE(server >= 0);
    CHECK(client.fd() >= 0);
    CHECK(read_exactly(server, kGreetingBytes) == greeting(Role::producer));

    Frames sent = encode(Heartbeat{});
    REQUIRE(client.send(sent) == SendStatus::sent);
    std::string expected;
    append_message(expected, sent);
    CHECK(read_exactly(server, expected.size()) == expected);

    // The broker's side writes a message in two pieces: the client returns it only once whole.
    std::string reply;
    append_message(reply, encode(Heartbeat{}));
    REQUIRE(::send(server, reply.data(), 3, 0) == 3);
    Frames frames;
    CHECK_FALSE(client.receive(frames));
    REQUIRE(::send(server, reply.data() + 3, reply.size() - 3, 0) == static_cast<ssize_t>(reply.size() - 3));
    REQUIRE(receive_within(client, frames));
    CHECK(decode(frames, 0));

    // The broker goes away: the client notices at its next receive, then connects again when due.
    const auto generation = client.generation();
    ::close(server);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (client.fd() >= 0 && std::chrono::steady_clock::now() < deadline) {
        client.receive(frames);
        pollfd item{client.fd(), POLLIN, 0};
        ::poll(&item, 1, 100);
    }
    CHECK(client.fd() < 0);
    CHECK(client.generation() != generation);
    while (client.send(sent) != SendStatus::sent && std::chrono::steady_clock::now() < deadline) {
        ::poll(nullptr, 0, 20);  // until the reconnect interval has passed
    }
    const int again = ::accept(listener.fd, nullptr, nullptr);
    REQUIRE(again >= 0);
    CHECK(read_exactly(again, kGreetingBytes + expected.size()) == greeting(Role::producer) + expected);
    ::close(again);
}

}  // namespace
}  // namespace corsair::protocol::stream
