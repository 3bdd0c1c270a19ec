// LeaseKeeper against a fake broker: a ROUTER on an inproc endpoint of the same context, played
// by the test's thread, so every message the keeper sends is seen and every answer is scripted.
#include <future>

#include <catch2/catch.hpp>
#include <corsair/protocol/protocol.hpp>
#include <spdlog/logger.h>

#include "http_context.hpp"
#include "lease_keeper.hpp"

using namespace std::chrono_literals;
namespace p = corsair::protocol;
using corsair::http::ClaimedLease;
using corsair::http::ClaimRequest;
using corsair::http::HttpError;
using corsair::http::LeaseKeeper;

namespace {

constexpr auto kEndpoint = "inproc://lease-keeper-test";

// The fake broker's side: receives with a deadline and answers one peer.
class FakeBroker {
public:
    explicit FakeBroker(zmq::context_t& context) : socket_(context, zmq::socket_type::router) {
        socket_.set(zmq::sockopt::linger, 0);
        socket_.bind(kEndpoint);
    }

    // The next message other than a HEARTBEAT, within `timeout`; nullopt if none came.
    std::optional<p::Message> next(std::chrono::milliseconds timeout = 2s) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < deadline) {
            zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
            zmq::poll(&item, 1, 20ms);
            p::Frames frames;
            if (!p::receive_frames(socket_, frames)) continue;
            peer_ = zmq::message_t(frames[0].data(), frames[0].size());
            auto decoded = p::decode(frames, 1);
            REQUIRE(decoded);
            if (std::holds_alternative<p::Heartbeat>(decoded.value())) continue;
            return std::move(decoded.value());
        }
        return std::nullopt;
    }

    template <typename T>
    void send(T&& message) {
        p::send_message(socket_, std::forward<T>(message), &peer_);
    }

private:
    zmq::socket_t socket_;
    zmq::message_t peer_;
};

LeaseKeeper make_keeper(zmq::context_t& context) {
    return LeaseKeeper(context, corsair::http::BrokerLink{"", kEndpoint, 50ms, 3, 1024},
                       std::make_shared<spdlog::logger>("test"));
}

// Claims on a thread of its own and plays the broker until the JOB is leased.
ClaimedLease lease_one(LeaseKeeper& keeper, FakeBroker& broker, std::chrono::milliseconds lease_time) {
    auto claim = std::async(std::launch::async, [&] {
        return keeper.claim(ClaimRequest{"q", 2s, lease_time, "w"});
    });
    auto ready = broker.next();
    REQUIRE(ready);
    REQUIRE(std::holds_alternative<p::Ready>(*ready));
    CHECK(std::get<p::Ready>(*ready).capacity == 1);
    CHECK(std::get<p::Ready>(*ready).queues == std::vector<std::string>{"q"});
    CHECK(std::get<p::Ready>(*ready).name.rfind("http:w#", 0) == 0);
    broker.send(p::Job{"j1", "q", 1, zmq::message_t(std::string("payload"))});
    auto lease = claim.get();
    REQUIRE(lease);
    auto drain = broker.next();
    REQUIRE(drain);
    CHECK(std::holds_alternative<p::Drain>(*drain));
    return *lease;
}

void require_refusal(const std::function<void()>& call, int status, const std::string& code) {
    try {
        call();
        FAIL("no refusal");
    } catch (const HttpError& error) {
        CHECK(error.status() == status);
        CHECK(error.code() == code);
    }
}

}  // namespace

TEST_CASE("a claimed job is a lease named by a random token", "[http][lease_keeper]") {
    zmq::context_t context;
    FakeBroker broker(context);
    auto keeper = make_keeper(context);
    const auto lease = lease_one(keeper, broker, 5s);
    CHECK(lease.token.size() == 32);
    CHECK(lease.id == "j1");
    CHECK(lease.attempt == 1);
    CHECK(lease.payload == "payload");
    CHECK(lease.lease_time == 5s);

    SECTION("complete sends DONE, then DISCONNECT, and the lease is over") {
        keeper.complete(lease.token, "result");
        auto done = broker.next();
        REQUIRE(done);
        REQUIRE(std::holds_alternative<p::Done>(*done));
        CHECK(std::get<p::Done>(*done).id == "j1");
        CHECK(std::get<p::Done>(*done).attempt == 1);
        CHECK(std::get<p::Done>(*done).payload.to_string() == "result");
        auto disconnect = broker.next();
        REQUIRE(disconnect);
        CHECK(std::holds_alternative<p::Disconnect>(*disconnect));
        require_refusal([&] { keeper.complete(lease.token, "again"); }, 409, "lease_ended");
    }
    SECTION("a permanent fail sends FAIL with permanent set") {
        keeper.fail(lease.token, "bad input", true);
        auto fail = broker.next();
        REQUIRE(fail);
        REQUIRE(std::holds_alternative<p::Fail>(*fail));
        CHECK(std::get<p::Fail>(*fail).error == "bad input");
        CHECK(std::get<p::Fail>(*fail).is_permanent);
    }
    SECTION("progress sends PROGRESS and the lease stands") {
        CHECK(keeper.progress(lease.token, 40, "half") == 5s);
        auto progress = broker.next();
        REQUIRE(progress);
        REQUIRE(std::holds_alternative<p::Progress>(*progress));
        CHECK(std::get<p::Progress>(*progress).percent == 40);
        CHECK(keeper.extend(lease.token, 7s) == 7s);
    }
    SECTION("a result over the broker's limit is refused and the lease stands") {
        require_refusal([&] { keeper.complete(lease.token, std::string(2000, 'r')); }, 413, "payload_too_large");
        CHECK(keeper.extend(lease.token, 0ms) == 5s);
    }
    SECTION("ABANDON from the broker ends the lease as lost") {
        broker.send(p::Abandon{"j1", 1, "timeout"});
        auto disconnect = broker.next();
        REQUIRE(disconnect);
        CHECK(std::holds_alternative<p::Disconnect>(*disconnect));
        require_refusal([&] { keeper.complete(lease.token, "late"); }, 409, "lease_lost");
    }
    SECTION("an unknown token is 404") {
        require_refusal([&] { keeper.extend(std::string(32, '0'), 0ms); }, 404, "unknown_lease");
    }
}

TEST_CASE("an expired lease goes silent, without DISCONNECT, and later calls get 409", "[http][lease_keeper]") {
    zmq::context_t context;
    FakeBroker broker(context);
    auto keeper = make_keeper(context);
    const auto lease = lease_one(keeper, broker, 100ms);
    // Nothing but heartbeats until the keeper closes the socket: the broker must see a silent
    // worker, never a DISCONNECT that would give the lease back uncounted.
    CHECK_FALSE(broker.next(500ms));
    require_refusal([&] { keeper.complete(lease.token, "late"); }, 409, "lease_expired");
}

TEST_CASE("a claim without a job answers none once its wait is over and leaves", "[http][lease_keeper]") {
    zmq::context_t context;
    FakeBroker broker(context);
    auto keeper = make_keeper(context);
    const auto started = std::chrono::steady_clock::now();
    auto claim = std::async(std::launch::async, [&] { return keeper.claim(ClaimRequest{"q", 200ms, 0ms, "w"}); });
    REQUIRE(broker.next());  // READY
    CHECK_FALSE(claim.get());
    CHECK(std::chrono::steady_clock::now() - started >= 200ms);
    auto disconnect = broker.next();
    REQUIRE(disconnect);
    CHECK(std::holds_alternative<p::Disconnect>(*disconnect));
}

TEST_CASE("stopping the keeper ends a waiting claim with 503", "[http][lease_keeper]") {
    zmq::context_t context;
    FakeBroker broker(context);
    auto keeper = make_keeper(context);
    auto claim = std::async(std::launch::async, [&] { return keeper.claim(ClaimRequest{"q", 30s, 0ms, "w"}); });
    REQUIRE(broker.next());  // READY
    keeper.stop();
    require_refusal([&] { claim.get(); }, 503, "shutting_down");
    require_refusal([&] { keeper.extend(std::string(32, '0'), 0ms); }, 503, "shutting_down");
}
