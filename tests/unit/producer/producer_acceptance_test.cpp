// Producer: acceptance by ACCEPTED or by the RESULT, SUBMIT's accept_within_ms, and the resends
// and STATUS checks around a job whose ACCEPTED the broker holds back.
#include "corsair/producer/producer.hpp"

#include <algorithm>
#include <functional>

#include <catch2/catch.hpp>

#include "fake_broker.hpp"

using namespace std::chrono_literals;
using corsair::producer::Event;
using corsair::producer::JobOptions;
using corsair::producer::Producer;
using corsair::producer::ProducerError;
using corsair::producer::ProducerOptions;
using corsair::test::FakeBroker;
using corsair::test::options_for;
using corsair::test::ThreadedBroker;
namespace protocol = corsair::protocol;
namespace test = corsair::test;
using Clock = std::chrono::steady_clock;

namespace {

// What the fake broker received while the producer was pumped, with when it was received.
struct Exchange {
    struct Received {
        zmq::message_t routing_id;
        protocol::Message message;
        Clock::time_point at;
    };

    FakeBroker& broker;
    Producer& producer;
    std::vector<Received> received;
    std::vector<Event> events;

    // Pumps both sides until `is_done()` holds or `timeout` passes; returns is_done().
    bool pump_until(const std::function<bool()>& is_done, std::chrono::milliseconds timeout) {
        const auto deadline = Clock::now() + timeout;
        while (!is_done()) {
            if (Clock::now() >= deadline) return false;
            for (auto& event : producer.poll(5ms)) events.push_back(std::move(event));
            while (auto message = broker.receive(0ms)) {
                received.push_back({std::move(message->routing_id), std::move(message->message), Clock::now()});
            }
        }
        return true;
    }

    // The SUBMITs of `id` received so far, in order.
    std::vector<const Received*> submits_of(const std::string& id) const {
        std::vector<const Received*> found;
        for (const auto& r : received) {
            if (const auto* submit = std::get_if<protocol::Submit>(&r.message); submit && submit->id == id) {
                found.push_back(&r);
            }
        }
        return found;
    }

    const protocol::Submit& submit_of(const std::string& id, std::size_t n = 0) const {
        return std::get<protocol::Submit>(submits_of(id).at(n)->message);
    }

    const zmq::message_t& peer() const { return received.front().routing_id; }

    std::size_t count(Event::Kind kind) const {
        return static_cast<std::size_t>(
            std::count_if(events.begin(), events.end(), [&](const Event& e) { return e.kind == kind; }));
    }
};

protocol::Accepted accepted_by(std::string id, std::uint64_t broker_instance) {
    auto message = test::accepted(std::move(id));
    message.broker_instance = broker_instance;
    return message;
}

}  // namespace

TEST_CASE("a SUBMIT awaiting its result carries accept_within, other SUBMITs do not", "[producer][accept_within]") {
    zmq::context_t context;
    FakeBroker broker(context);
    auto options = options_for(broker.endpoint());
    options.accept_within = 250ms;
    Producer producer(context, options);
    Exchange exchange{broker, producer, {}, {}};
    SECTION("submit_async with wants_result") {
        const auto id = producer.submit_async("q", "p", true);
        REQUIRE(exchange.pump_until([&] { return exchange.submits_of(id).size() == 1; }, 5s));
        CHECK(exchange.submit_of(id).wants_result);
        CHECK(exchange.submit_of(id).accept_within_ms == 250u);
    }
    SECTION("submit_async without wants_result") {
        const auto id = producer.submit_async("q", "p", false);
        REQUIRE(exchange.pump_until([&] { return exchange.submits_of(id).size() == 1; }, 5s));
        CHECK(exchange.submit_of(id).accept_within_ms == 0u);
    }
    SECTION("submit_async with wants_result and job options") {
        JobOptions job;
        job.priority = 3;
        job.unique_key = "k";  // a match is answered at once anyway (existed: true)
        const auto id = producer.submit_async("q", "p", true, job);
        REQUIRE(exchange.pump_until([&] { return exchange.submits_of(id).size() == 1; }, 5s));
        CHECK(exchange.submit_of(id).accept_within_ms == 250u);
        CHECK(exchange.submit_of(id).unique_key == "k");
    }
    SECTION("the blocking submit, which waits for ACCEPTED") {
        CHECK_THROWS_AS(producer.submit("q", "p", 100ms), ProducerError);  // nobody answers
        auto received = broker.receive(5s);
        REQUIRE(received);
        const auto* submit = std::get_if<protocol::Submit>(&received->message);
        REQUIRE(submit);
        CHECK_FALSE(submit->wants_result);
        CHECK(submit->accept_within_ms == 0u);
    }
}

TEST_CASE("accept_within 0 asks for ACCEPTED at once, and a value beyond the limit is refused",
          "[producer][accept_within]") {
    zmq::context_t context;
    FakeBroker broker(context);
    auto options = options_for(broker.endpoint());
    SECTION("0") {
        options.accept_within = 0ms;
        Producer producer(context, options);
        Exchange exchange{broker, producer, {}, {}};
        const auto id = producer.submit_async("q", "p", true);
        REQUIRE(exchange.pump_until([&] { return exchange.submits_of(id).size() == 1; }, 5s));
        CHECK(exchange.submit_of(id).accept_within_ms == 0u);
    }
    SECTION("the limit is allowed") {
        options.accept_within = std::chrono::milliseconds(protocol::kMaxAcceptWithinMs);
        CHECK_NOTHROW(Producer(context, options));
    }
    SECTION("beyond the limit, or negative") {
        options.accept_within = GENERATE(std::chrono::milliseconds(protocol::kMaxAcceptWithinMs + 1), -1ms);
        try {
            Producer producer(context, options);
            FAIL("no exception");
        } catch (const ProducerError& e) {
            CHECK(e.kind() == ProducerError::Kind::invalid);
            CHECK_THAT(e.what(), Catch::StartsWith("accept_within"));
        }
    }
}

TEST_CASE("a RESULT without any ACCEPTED completes the job and stands for its acceptance",
          "[producer][accept_within]") {
    zmq::context_t context;
    FakeBroker broker(context);
    auto options = options_for(broker.endpoint());
    options.window = 1;
    options.silence_limit = 2s;
    options.accept_within = 5s;
    options.resend_after = 5s;
    options.reports_acceptance = GENERATE(true, false);
    Producer producer(context, options);
    Exchange exchange{broker, producer, {}, {}};
    const auto id = producer.submit_async("q", "p", true);
    REQUIRE(exchange.pump_until([&] { return exchange.submits_of(id).size() == 1; }, 5s));
    CHECK(exchange.submit_of(id).accept_within_ms == 5000u);
    CHECK(producer.awaiting_acceptance() == 1);

    REQUIRE(broker.send(exchange.peer(), test::job_result(id, protocol::JobState::done, 1, "", "r")));
    REQUIRE(exchange.pump_until([&] { return exchange.count(Event::Kind::result) == 1; }, 5s));
    CHECK(producer.awaiting_acceptance() == 0);
    CHECK(producer.awaiting_results() == 0);
    const auto result = std::find_if(exchange.events.begin(), exchange.events.end(),
                                     [](const Event& e) { return e.kind == Event::Kind::result; });
    CHECK(result->id == id);
    CHECK(result->outcome.result == "r");
    if (options.reports_acceptance) {
        // One accepted event per job, as if the ACCEPTED had come, and before the outcome.
        REQUIRE(exchange.count(Event::Kind::accepted) == 1);
        const auto& accepted = exchange.events.front();
        CHECK(accepted.kind == Event::Kind::accepted);
        CHECK(accepted.id == id);
        CHECK(accepted.job_id == id);
        CHECK_FALSE(accepted.existed);
    } else {
        CHECK(exchange.count(Event::Kind::accepted) == 0);
    }

    // Its window slot is free: a second job goes out although the window is 1.
    const auto second = producer.submit_async("q", "p", true);
    REQUIRE(exchange.pump_until([&] { return exchange.submits_of(second).size() == 1; }, 5s));
    CHECK(producer.awaiting_acceptance() == 1);
    // The ACCEPTED the broker may still send for the first job changes nothing.
    REQUIRE(broker.send(exchange.peer(), test::accepted(id)));
    REQUIRE(broker.send(exchange.peer(), test::accepted(second)));
    REQUIRE(exchange.pump_until([&] { return producer.awaiting_acceptance() == 0; }, 5s));
    CHECK(exchange.count(Event::Kind::accepted) == (options.reports_acceptance ? 2u : 0u));
    CHECK(producer.awaiting_results() == 1);
    CHECK(producer.resubmissions() == 0);
}

TEST_CASE("wait_result returns an outcome that came without an ACCEPTED", "[producer][accept_within]") {
    zmq::context_t context;
    ThreadedBroker broker(context, [](FakeBroker& fake, FakeBroker::Received& received) {
        if (auto* submit = std::get_if<protocol::Submit>(&received.message)) {
            fake.send(received.routing_id, test::job_result(submit->id, protocol::JobState::done, 1, "", "42"));
        }
    });
    Producer producer(context, options_for(broker.endpoint()));
    const auto id = producer.submit_async("q", "p", true);
    const auto outcome = producer.wait_result(id, 5s);
    CHECK(outcome.result == "42");
    CHECK(producer.awaiting_acceptance() == 0);
    // The accepted event is left for poll(), as one from an ACCEPTED would be.
    const auto events = producer.poll(0ms);
    REQUIRE(events.size() == 1);
    CHECK(events[0].kind == Event::Kind::accepted);
    CHECK(events[0].id == id);
}

TEST_CASE("a SUBMIT carrying accept_within is resent only after accept_within + resend_after",
          "[producer][accept_within]") {
    zmq::context_t context;
    FakeBroker broker(context);
    auto options = options_for(broker.endpoint());
    options.resend_after = 100ms;
    options.accept_within = 400ms;
    Producer producer(context, options);
    Exchange exchange{broker, producer, {}, {}};
    const auto before = Clock::now();
    const auto lazy = producer.submit_async("q", "lazy", true);
    const auto plain = producer.submit_async("q", "plain", false);
    REQUIRE(exchange.pump_until([&] { return exchange.submits_of(lazy).size() == 2; }, 5s));
    // The plain SUBMIT, due after resend_after alone, went again first; the lazy one not before
    // accept_within + resend_after after it was first sent, with the same accept_within.
    CHECK(exchange.submits_of(plain).size() >= 2);
    CHECK(exchange.submits_of(plain)[1] < exchange.submits_of(lazy)[1]);
    CHECK(exchange.submits_of(lazy)[1]->at - before >= 500ms);
    CHECK(exchange.submit_of(lazy, 1).accept_within_ms == 400u);
    CHECK(protocol::view_of(exchange.submit_of(lazy, 1).payload) == "lazy");
}

TEST_CASE("a job waiting for its held-back ACCEPTED is neither STATUS-checked nor resubmitted early",
          "[producer][accept_within]") {
    zmq::context_t context;
    FakeBroker broker(context);
    auto options = options_for(broker.endpoint());
    options.check_after = 50ms;
    options.resend_after = 100ms;
    options.accept_within = 1000ms;
    Producer producer(context, options);
    Exchange exchange{broker, producer, {}, {}};
    const auto before = Clock::now();
    const auto lazy = producer.submit_async("q", "lazy", true);
    const auto accepted = producer.submit_async("q", "accepted", true);
    REQUIRE(exchange.pump_until([&] { return exchange.submits_of(accepted).size() == 1; }, 5s));
    REQUIRE(broker.send(exchange.peer(), test::accepted(accepted)));
    // Several check rounds of a quiet broker: each asks about the accepted job only.
    auto status_requests = [&] {
        std::vector<std::string> ids;
        for (const auto& r : exchange.received) {
            if (const auto* status = std::get_if<protocol::StatusRequest>(&r.message)) ids.push_back(status->id);
        }
        return ids;
    };
    REQUIRE(exchange.pump_until([&] { return status_requests().size() >= 3; }, 5s));
    for (const auto& id : status_requests()) CHECK(id == accepted);
    // The answers say the job runs: no resubmission of either job follows from them.
    for (std::size_t i = 0; i < status_requests().size(); ++i) {
        REQUIRE(broker.send(exchange.peer(), test::status_reply(accepted, protocol::JobState::running, 1)));
    }
    REQUIRE(exchange.pump_until([&] { return exchange.submits_of(lazy).size() == 2; }, 5s));
    CHECK(exchange.submits_of(lazy)[1]->at - before >= 1100ms);
    CHECK(exchange.submits_of(accepted).size() == 1);
    CHECK(producer.resubmissions() == 1);
}

TEST_CASE("an ACCEPTED held back and sent late, then the RESULT, completes the job once",
          "[producer][accept_within]") {
    zmq::context_t context;
    FakeBroker broker(context);
    auto options = options_for(broker.endpoint());
    options.window = 1;
    options.silence_limit = 300ms;
    options.accept_within = 5s;
    options.resend_after = 5s;
    Producer producer(context, options);
    Exchange exchange{broker, producer, {}, {}};
    const auto id = producer.submit_async("q", "p", true);
    REQUIRE(exchange.pump_until([&] { return exchange.submits_of(id).size() == 1; }, 5s));
    // Until its ACCEPTED or its RESULT, the job holds its window slot.
    try {
        producer.submit_async("q", "p", true);
        FAIL("submit_async did not block on a full window");
    } catch (const ProducerError& e) {
        CHECK(e.is_broker_silent());
    }
    REQUIRE(broker.send(exchange.peer(), test::accepted(id)));
    REQUIRE(exchange.pump_until([&] { return exchange.count(Event::Kind::accepted) == 1; }, 5s));
    CHECK(exchange.events.back().id == id);
    CHECK(producer.awaiting_acceptance() == 0);
    CHECK(producer.awaiting_results() == 1);
    REQUIRE(broker.send(exchange.peer(), test::job_result(id, protocol::JobState::done, 1, "", "r")));
    REQUIRE(exchange.pump_until([&] { return exchange.count(Event::Kind::result) == 1; }, 5s));
    CHECK(exchange.events.back().outcome.result == "r");
    CHECK(exchange.count(Event::Kind::accepted) == 1);
    CHECK(producer.awaiting_results() == 0);
    CHECK(producer.resubmissions() == 0);
    CHECK(exchange.submits_of(id).size() == 1);
}

TEST_CASE("a broker restart resends at once the SUBMITs whose ACCEPTED was held back", "[producer][accept_within]") {
    zmq::context_t context;
    FakeBroker broker(context);
    auto options = options_for(broker.endpoint());
    options.accept_within = 10s;
    options.resend_after = 10s;
    Producer producer(context, options);
    Exchange exchange{broker, producer, {}, {}};
    const auto lazy = producer.submit_async("q", "lazy", true);
    const auto accepted = producer.submit_async("q", "accepted", true);
    REQUIRE(exchange.pump_until([&] { return exchange.submits_of(accepted).size() == 1; }, 5s));
    REQUIRE(broker.send(exchange.peer(), accepted_by(accepted, 1)));
    REQUIRE(exchange.pump_until([&] { return producer.awaiting_acceptance() == 1; }, 5s));
    // A new broker_instance: the broker restarted, and what it held back is gone with it.
    const auto probe = producer.submit_async("q", "probe", false);
    REQUIRE(exchange.pump_until([&] { return exchange.submits_of(probe).size() == 1; }, 5s));
    REQUIRE(broker.send(exchange.peer(), accepted_by(probe, 2)));
    REQUIRE(exchange.pump_until(
        [&] { return exchange.submits_of(lazy).size() == 2 && exchange.submits_of(accepted).size() == 2; }, 5s));
    CHECK(exchange.submit_of(lazy, 1).accept_within_ms == 10'000u);
    CHECK(exchange.submit_of(accepted, 1).wants_result);
}

TEST_CASE("a SUBMIT awaiting its result asks for RESULTS, and a RESULTS completes each of its jobs",
          "[producer][results]") {
    zmq::context_t context;
    FakeBroker broker(context);
    auto options = options_for(broker.endpoint());
    options.accept_within = 5s;
    options.resend_after = 5s;
    Producer producer(context, options);
    Exchange exchange{broker, producer, {}, {}};
    std::vector<std::string> ids;
    for (int i = 0; i < 3; ++i) ids.push_back(producer.submit_async("q", "p" + std::to_string(i), true));
    const auto untracked = producer.submit_async("q", "p", false);
    REQUIRE(exchange.pump_until([&] { return exchange.submits_of(untracked).size() == 1; }, 5s));
    for (const auto& id : ids) CHECK(exchange.submit_of(id).results_batch == 64u);
    CHECK(exchange.submit_of(untracked).results_batch == 0u);

    protocol::Results results;
    results.results.push_back(test::job_result(ids[2], protocol::JobState::done, 1, "", "r2"));
    results.results.push_back(test::job_result(ids[0], protocol::JobState::failed, 3, "boom", ""));
    results.results.push_back(test::job_result(ids[1], protocol::JobState::done, 1, "", "r1"));
    REQUIRE(broker.send(exchange.peer(), std::move(results)));
    REQUIRE(exchange.pump_until([&] { return exchange.count(Event::Kind::result) == 3; }, 5s));
    CHECK(producer.awaiting_results() == 0);
    std::vector<std::pair<std::string, std::string>> ended;
    for (const auto& event : exchange.events) {
        if (event.kind == Event::Kind::result) ended.emplace_back(event.id, event.outcome.result + event.outcome.error);
    }
    CHECK(ended == std::vector<std::pair<std::string, std::string>>{{ids[2], "r2"}, {ids[0], "boom"}, {ids[1], "r1"}});

    SECTION("results_batch beyond kMaxBatchEntries is refused") {
        options.results_batch = protocol::kMaxBatchEntries + 1;
        CHECK_THROWS_AS(Producer(context, options), ProducerError);
    }
}
