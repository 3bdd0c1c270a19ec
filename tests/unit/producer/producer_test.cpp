#include "corsair/producer/producer.hpp"

#include <regex>
#include <set>

#include <catch2/catch.hpp>

#include "fake_broker.hpp"

using namespace std::chrono_literals;
using corsair::producer::Event;
using corsair::producer::Producer;
using corsair::producer::ProducerError;
using corsair::producer::ProducerOptions;
using corsair::test::FakeBroker;
using corsair::test::ThreadedBroker;
namespace protocol = corsair::protocol;

namespace {

ProducerOptions options_for(const std::string& endpoint) {
    ProducerOptions options;
    options.broker_endpoint = endpoint;
    return options;
}

// Pumps the producer while waiting for the fake broker to receive a message of type T.
template <class T>
std::optional<std::pair<zmq::message_t, T>> receive_while_pumping(FakeBroker& broker, Producer& producer,
                                                                   std::vector<Event>& events,
                                                                   std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        for (auto& event : producer.poll(5ms)) events.push_back(std::move(event));
        if (auto received = broker.receive(5ms)) {
            if (auto* message = std::get_if<T>(&received->message)) {
                return std::make_pair(std::move(received->routing_id), std::move(*message));
            }
        }
    }
    return std::nullopt;
}

// Polls until `count` events of `kind` arrived or the deadline passes.
std::size_t poll_for(Producer& producer, Event::Kind kind, std::size_t count, std::vector<Event>& events,
                     std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    auto matching = [&] { return std::count_if(events.begin(), events.end(), [&](auto& e) { return e.kind == kind; }); };
    while (static_cast<std::size_t>(matching()) < count && std::chrono::steady_clock::now() < deadline) {
        for (auto& event : producer.poll(20ms)) events.push_back(std::move(event));
    }
    return static_cast<std::size_t>(matching());
}

}  // namespace

TEST_CASE("job ids are unique within and across producers", "[producer]") {
    zmq::context_t context;
    FakeBroker broker(context);
    Producer first(context, options_for(broker.endpoint()));
    Producer second(context, options_for(broker.endpoint()));
    std::set<std::string> ids;
    for (int i = 0; i < 1000; ++i) {
        ids.insert(first.new_job_id());
        ids.insert(second.new_job_id());
    }
    CHECK(ids.size() == 2000);
    const std::string id = first.new_job_id();
    CHECK(std::regex_match(id, std::regex("[0-9a-f]{16}-[0-9]+")));
    CHECK(id.substr(0, 16) != second.new_job_id().substr(0, 16));
}

TEST_CASE("a pipelined submit is reported accepted once the broker answers", "[producer]") {
    zmq::context_t context;
    FakeBroker broker(context);
    Producer producer(context, options_for(broker.endpoint()));
    std::vector<Event> events;
    const auto id = producer.submit_async("images", "payload-bytes", false);
    CHECK(producer.awaiting_acceptance() == 1);
    auto submit = receive_while_pumping<protocol::Submit>(broker, producer, events, 5s);
    REQUIRE(submit);
    CHECK(submit->second.id == id);
    CHECK(submit->second.queue == "images");
    CHECK(protocol::view_of(submit->second.payload) == "payload-bytes");
    CHECK_FALSE(submit->second.wants_result);
    REQUIRE(broker.send(submit->first, protocol::Accepted{id, false}));
    REQUIRE(poll_for(producer, Event::Kind::accepted, 1, events, 5s) == 1);
    CHECK(events.back().id == id);
    CHECK(producer.awaiting_acceptance() == 0);
}

TEST_CASE("an unanswered SUBMIT is resent with the same id", "[producer]") {
    zmq::context_t context;
    FakeBroker broker(context);
    auto options = options_for(broker.endpoint());
    options.resend_after = 100ms;
    Producer producer(context, options);
    std::vector<Event> events;
    const auto id = producer.submit_async("q", "p", false);
    auto first = receive_while_pumping<protocol::Submit>(broker, producer, events, 5s);
    REQUIRE(first);
    auto second = receive_while_pumping<protocol::Submit>(broker, producer, events, 5s);
    REQUIRE(second);
    CHECK(second->second.id == id);
    CHECK(protocol::view_of(second->second.payload) == "p");
    CHECK(producer.resubmissions() >= 1);
    // Both copies answered: still one accepted event.
    broker.send(second->first, protocol::Accepted{id, false});
    broker.send(second->first, protocol::Accepted{id, true});
    REQUIRE(poll_for(producer, Event::Kind::accepted, 1, events, 5s) == 1);
    CHECK(poll_for(producer, Event::Kind::accepted, 2, events, 200ms) == 1);
}

TEST_CASE("the window bounds the submits awaiting acceptance", "[producer]") {
    zmq::context_t context;
    FakeBroker broker(context);
    auto options = options_for(broker.endpoint());
    options.window = 3;
    options.window_wait_limit = 300ms;
    Producer producer(context, options);
    std::vector<Event> events;
    std::vector<std::string> ids;
    for (int i = 0; i < 3; ++i) ids.push_back(producer.submit_async("q", "p", false));
    std::optional<std::pair<zmq::message_t, protocol::Submit>> last;
    for (int i = 0; i < 3; ++i) {
        last = receive_while_pumping<protocol::Submit>(broker, producer, events, 5s);
        REQUIRE(last);
    }
    CHECK(producer.awaiting_acceptance() == 3);
    try {
        producer.submit_async("q", "p", false);
        FAIL("submit_async did not block on a full window");
    } catch (const ProducerError& e) {
        CHECK(e.is_timeout());
    }
    CHECK(producer.awaiting_acceptance() == 3);
    CHECK_FALSE(broker.receive(50ms).has_value());  // nothing beyond the window was sent
    REQUIRE(broker.send(last->first, protocol::Accepted{ids[0], false}));
    CHECK_NOTHROW(producer.submit_async("q", "p", false));
    CHECK(producer.awaiting_acceptance() == 3);
}

TEST_CASE("submit blocks until the broker accepts, and turns ERROR into ProducerError", "[producer]") {
    zmq::context_t context;
    ThreadedBroker broker(context, [](FakeBroker& fake, FakeBroker::Received& received) {
        if (auto* submit = std::get_if<protocol::Submit>(&received.message)) {
            if (submit->queue == "refused") {
                fake.send(received.routing_id, protocol::Error{protocol::ErrorCode::bad_field_value, "no", submit->id});
            } else {
                fake.send(received.routing_id, protocol::Accepted{submit->id, false});
            }
        } else if (auto* status = std::get_if<protocol::StatusRequest>(&received.message)) {
            fake.send(received.routing_id, protocol::Error{protocol::ErrorCode::unknown_job, "", status->id});
        } else if (std::holds_alternative<protocol::StatsRequest>(received.message)) {
            protocol::StatsReply stats;
            stats.queues.push_back({"q", 1, 2, 3, 4});
            stats.counters["jobs_submitted"] = 7;
            fake.send(received.routing_id, std::move(stats));
        }
    });
    Producer producer(context, options_for(broker.endpoint()));
    SECTION("accepted") { CHECK_FALSE(producer.submit("q", "p", 5s).empty()); }
    SECTION("refused") {
        try {
            producer.submit("refused", "p", 5s);
            FAIL("no exception");
        } catch (const ProducerError& e) {
            CHECK(e.kind() == ProducerError::Kind::refused);
            CHECK(e.code() == protocol::ErrorCode::bad_field_value);
        }
    }
    SECTION("status of an unknown job") {
        try {
            producer.status("nope", 5s);
            FAIL("no exception");
        } catch (const ProducerError& e) {
            CHECK(e.code() == protocol::ErrorCode::unknown_job);
        }
    }
    SECTION("stats") {
        const auto stats = producer.stats(5s);
        REQUIRE(stats.queues.size() == 1);
        CHECK(stats.queues[0].failed == 4);
        CHECK(stats.counters.at("jobs_submitted") == 7);
    }
}

TEST_CASE("blocking calls time out with a clear error when the broker is silent", "[producer]") {
    zmq::context_t context;
    FakeBroker broker(context);  // bound, never answers
    Producer producer(context, options_for(broker.endpoint()));
    try {
        producer.submit("q", "p", 200ms);
        FAIL("no exception");
    } catch (const ProducerError& e) {
        CHECK(e.is_timeout());
        CHECK_THAT(e.what(), Catch::Contains("timed out") && Catch::Contains(broker.endpoint()));
    }
    CHECK(producer.awaiting_acceptance() == 0);
    CHECK_THROWS_AS(producer.stats(100ms), ProducerError);
}

TEST_CASE("inputs over the protocol limits are refused before sending", "[producer]") {
    zmq::context_t context;
    FakeBroker broker(context);
    auto options = options_for(broker.endpoint());
    options.max_payload_bytes = 10;
    Producer producer(context, options);
    auto kind_of = [](auto&& call) {
        try {
            call();
        } catch (const ProducerError& e) {
            return e.kind();
        }
        return ProducerError::Kind::refused;
    };
    CHECK(kind_of([&] { producer.submit_async("", "p", false); }) == ProducerError::Kind::invalid);
    CHECK(kind_of([&] { producer.submit_async(std::string(129, 'q'), "p", false); }) == ProducerError::Kind::invalid);
    CHECK(kind_of([&] { producer.submit_async("q", std::string(11, 'p'), false); }) == ProducerError::Kind::invalid);
    CHECK(kind_of([&] { producer.submit_async("q", "p", false, std::string(129, 'i')); }) ==
          ProducerError::Kind::invalid);
    CHECK(producer.awaiting_acceptance() == 0);
}

TEST_CASE("a RESULT completes wait_result", "[producer]") {
    zmq::context_t context;
    ThreadedBroker broker(context, [](FakeBroker& fake, FakeBroker::Received& received) {
        if (auto* submit = std::get_if<protocol::Submit>(&received.message)) {
            fake.send(received.routing_id, protocol::Accepted{submit->id, false});
            const bool fails = protocol::view_of(submit->payload) == "fail";
            fake.send(received.routing_id,
                      protocol::JobResult{submit->id, fails ? protocol::JobState::failed : protocol::JobState::done, 2,
                                          fails ? "boom" : "", protocol::make_payload(fails ? "" : "42")});
        }
    });
    Producer producer(context, options_for(broker.endpoint()));
    SECTION("done") {
        const auto id = producer.submit_async("q", "ok", true);
        CHECK(producer.awaiting_results() == 1);
        const auto outcome = producer.wait_result(id, 5s);
        CHECK(outcome.id == id);
        CHECK(outcome.state == protocol::JobState::done);
        CHECK(outcome.attempt == 2);
        CHECK(outcome.result == "42");
        CHECK(producer.awaiting_results() == 0);
        CHECK_THROWS_AS(producer.wait_result(id, 100ms), ProducerError);  // each result is returned once
    }
    SECTION("failed") {
        const auto outcome = producer.wait_result(producer.submit_async("q", "fail", true), 5s);
        CHECK(outcome.state == protocol::JobState::failed);
        CHECK(outcome.error == "boom");
    }
}

TEST_CASE("a duplicate RESULT is delivered once", "[producer]") {
    zmq::context_t context;
    FakeBroker broker(context);
    Producer producer(context, options_for(broker.endpoint()));
    std::vector<Event> events;
    const auto id = producer.submit_async("q", "p", true);
    auto submit = receive_while_pumping<protocol::Submit>(broker, producer, events, 5s);
    REQUIRE(submit);
    CHECK(submit->second.wants_result);
    broker.send(submit->first, protocol::Accepted{id, false});
    for (int i = 0; i < 2; ++i) {
        broker.send(submit->first,
                    protocol::JobResult{id, protocol::JobState::done, 1, "", protocol::make_payload("r")});
    }
    REQUIRE(poll_for(producer, Event::Kind::result, 1, events, 5s) == 1);
    CHECK(poll_for(producer, Event::Kind::result, 2, events, 200ms) == 1);
    CHECK(producer.awaiting_results() == 0);
}

TEST_CASE("a STATUS check answered unknown_job resubmits the job with the same id", "[producer]") {
    zmq::context_t context;
    FakeBroker broker(context);
    auto options = options_for(broker.endpoint());
    options.check_after = 100ms;
    Producer producer(context, options);
    std::vector<Event> events;
    const auto id = producer.submit_async("q", "keep-me", true);
    auto submit = receive_while_pumping<protocol::Submit>(broker, producer, events, 5s);
    REQUIRE(submit);
    broker.send(submit->first, protocol::Accepted{id, false});
    auto check = receive_while_pumping<protocol::StatusRequest>(broker, producer, events, 5s);
    REQUIRE(check);
    CHECK(check->second.id == id);
    // The broker restarted and forgot the job.
    broker.send(check->first, protocol::Error{protocol::ErrorCode::unknown_job, "", id});
    auto again = receive_while_pumping<protocol::Submit>(broker, producer, events, 5s);
    REQUIRE(again);
    CHECK(again->second.id == id);
    CHECK(again->second.wants_result);
    CHECK(protocol::view_of(again->second.payload) == "keep-me");
    broker.send(again->first, protocol::Accepted{id, false});
    broker.send(again->first, protocol::JobResult{id, protocol::JobState::done, 1, "", protocol::make_payload("r")});
    REQUIRE(poll_for(producer, Event::Kind::result, 1, events, 5s) == 1);
    CHECK(std::count_if(events.begin(), events.end(), [](auto& e) { return e.kind == Event::Kind::accepted; }) == 1);
}

TEST_CASE("a STATUS check that finds the job ended delivers its outcome", "[producer]") {
    zmq::context_t context;
    FakeBroker broker(context);
    auto options = options_for(broker.endpoint());
    options.check_after = 100ms;
    Producer producer(context, options);
    std::vector<Event> events;
    const auto id = producer.submit_async("q", "p", true);
    auto submit = receive_while_pumping<protocol::Submit>(broker, producer, events, 5s);
    REQUIRE(submit);
    broker.send(submit->first, protocol::Accepted{id, false});
    auto check = receive_while_pumping<protocol::StatusRequest>(broker, producer, events, 5s);
    REQUIRE(check);
    broker.send(check->first, protocol::StatusReply{id, "q", protocol::JobState::done, 1, "w", "",
                                                    protocol::make_payload("lost-result")});
    REQUIRE(poll_for(producer, Event::Kind::result, 1, events, 5s) == 1);
    CHECK(events.back().outcome.result == "lost-result");
}
