// The broker's direct transport (DirectServer) against real clients over loopback TCP: messages
// handed over with the role and an id of their own, answers routed back, bad streams dropped by
// name, and the limits that keep a peer from taking the loop's memory.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "corsair/protocol/protocol.hpp"
#include "corsair/protocol/stream_client.hpp"
#include "raw_tcp.hpp"
#include "direct_server.hpp"

namespace corsair::broker {
namespace {

namespace p = corsair::protocol;
namespace stream = corsair::protocol::stream;
using namespace std::chrono_literals;

struct Received {
    RoutingId id;
    DirectServer::Role role;
    std::string command;
    std::string address;
};

struct Fixture {
    std::ostringstream log_text;
    std::shared_ptr<spdlog::logger> log = std::make_shared<spdlog::logger>(
        "broker", std::make_shared<spdlog::sinks::ostream_sink_mt>(log_text));
    DirectServer server;
    std::vector<Received> received;

    explicit Fixture(DirectLimits limits = {1024 * 1024, 100, 1024 * 1024})
        : server("direct://127.0.0.1:0", limits, log) {}

    // Serves until `done()` or 5 s have passed; true if done.
    template <class Done>
    bool serve_until(Done done) {
        const auto deadline = std::chrono::steady_clock::now() + 5s;
        while (!done()) {
            if (std::chrono::steady_clock::now() >= deadline) return false;
            pollfd item{server.fd(), POLLIN, 0};
            ::poll(&item, 1, 50);
            server.serve([this](const RoutingId& id, DirectServer::Role role, p::Frames& frames, std::string_view address) {
                auto decoded = p::decode(frames, 0);
                const std::string command = decoded ? std::string(p::to_string(p::command_of(decoded.value()))) : "?";
                received.push_back({id, role, command, std::string(address)});
            });
            server.flush();
        }
        return true;
    }
};

// Whether the server closed `fd` (a read returns 0), waiting while serving.
bool closed_by_server(Fixture& fixture, int fd) {
    return fixture.serve_until([&] {
        pollfd item{fd, POLLIN, 0};
        if (::poll(&item, 1, 0) != 1) return false;
        char byte;
        return ::recv(fd, &byte, 1, MSG_DONTWAIT) == 0;
    });
}

bool client_receives(Fixture& fixture, stream::Client& client, p::Frames& frames) {
    return fixture.serve_until([&] { return client.receive(frames); });
}

TEST_CASE("the direct server hands over each message with its role and a routing id no ROUTER gives, and routes "
          "answers back",
          "[direct]") {
    Fixture fixture;
    CHECK(fixture.server.endpoint().rfind("direct://127.0.0.1:", 0) == 0);
    stream::Client worker(fixture.server.endpoint(), stream::Role::worker);
    stream::Client producer(fixture.server.endpoint(), stream::Role::producer);
    REQUIRE(worker.send(p::encode(p::Heartbeat{})) == p::SendStatus::sent);
    REQUIRE(producer.send(p::encode(p::StatsRequest{})) == p::SendStatus::sent);
    REQUIRE(fixture.serve_until([&] { return fixture.received.size() == 2; }));
    CHECK(fixture.server.connections() == 2);

    const auto& from_worker = fixture.received[0].role == DirectServer::Role::worker ? fixture.received[0] : fixture.received[1];
    const auto& from_producer = fixture.received[0].role == DirectServer::Role::worker ? fixture.received[1] : fixture.received[0];
    CHECK(from_worker.command == "HEARTBEAT");
    CHECK(from_producer.command == "STATS");
    CHECK(from_worker.address == "127.0.0.1");
    CHECK(DirectServer::is_direct_id(from_worker.id));
    CHECK(from_worker.id != from_producer.id);
    CHECK_FALSE(DirectServer::is_direct_id(std::string("\0\x01\x02\x03\x04", 5)));  // a ROUTER's own kind

    auto answer = p::encode(p::Heartbeat{});
    REQUIRE(fixture.server.send(from_worker.id, answer) == p::SendStatus::sent);
    p::Frames frames;
    REQUIRE(client_receives(fixture, worker, frames));
    auto decoded = p::decode(frames, 0);
    REQUIRE(decoded);
    CHECK(std::holds_alternative<p::Heartbeat>(decoded.value()));
    CHECK(fixture.server.send(std::string("\0D\0\0\0\0\0\0\0\x63", 10), answer) == p::SendStatus::host_unreachable);
}

TEST_CASE("a connection that does not greet, or sends a malformed stream, is dropped and named in the log",
          "[direct]") {
    Fixture fixture;
    SECTION("not a Corsair greeting") {
        const int fd = corsair::test::connect_raw_tcp(fixture.server.endpoint());
        const std::string request = "GET / HTTP/1.1\r\n\r\n";
        REQUIRE(::send(fd, request.data(), request.size(), 0) > 0);
        CHECK(closed_by_server(fixture, fd));
        CHECK(fixture.log_text.str().find("reason=bad_greeting") != std::string::npos);
        CHECK(fixture.log_text.str().find("peer=127.0.0.1") != std::string::npos);
        ::close(fd);
    }
    SECTION("a frame over the limit") {
        const int fd = corsair::test::connect_raw_tcp(fixture.server.endpoint());
        std::string bytes = stream::greeting(stream::Role::producer);
        stream::detail::put_u32(bytes, 1);
        stream::detail::put_u32(bytes, 2 * 1024 * 1024);
        REQUIRE(::send(fd, bytes.data(), bytes.size(), 0) > 0);
        CHECK(closed_by_server(fixture, fd));
        CHECK(fixture.log_text.str().find("reason=malformed_stream") != std::string::npos);
        CHECK(fixture.received.empty());
        ::close(fd);
    }
    // The server goes on serving others.
    stream::Client client(fixture.server.endpoint(), stream::Role::worker);
    REQUIRE(client.send(p::encode(p::Heartbeat{})) == p::SendStatus::sent);
    CHECK(fixture.serve_until([&] { return fixture.received.size() == 1; }));
    CHECK(fixture.server.connections() == 1);
}

TEST_CASE("the direct server's limits: connections past the most are closed, and a peer that does not read is "
          "answered would_block",
          "[direct]") {
    SECTION("connections") {
        Fixture fixture({1024, 1, 1024 * 1024});
        stream::Client first(fixture.server.endpoint(), stream::Role::worker);
        REQUIRE(fixture.serve_until([&] { return fixture.server.connections() == 1; }));
        const int second = corsair::test::connect_raw_tcp(fixture.server.endpoint());
        CHECK(closed_by_server(fixture, second));
        CHECK(fixture.log_text.str().find("reason=too_many_connections limit=1") != std::string::npos);
        CHECK(fixture.server.dropped() == 1);
        ::close(second);
    }
    SECTION("unsent bytes") {
        Fixture fixture({1024 * 1024, 10, 64 * 1024});
        stream::Client idle(fixture.server.endpoint(), stream::Role::producer);
        REQUIRE(idle.send(p::encode(p::StatsRequest{})) == p::SendStatus::sent);
        REQUIRE(fixture.serve_until([&] { return fixture.received.size() == 1; }));
        const RoutingId id = fixture.received[0].id;
        // The client never reads: the kernel's buffers fill, then the server's own up to the limit.
        p::SendStatus status = p::SendStatus::sent;
        for (int i = 0; i < 100'000 && status == p::SendStatus::sent; ++i) {
            auto frames = p::encode(p::Heartbeat{});
            frames.emplace_back(std::string(4096, 'x').data(), 4096);
            status = fixture.server.send(id, frames);
            fixture.server.flush();
        }
        CHECK(status == p::SendStatus::would_block);
    }
}

}  // namespace
}  // namespace corsair::broker
