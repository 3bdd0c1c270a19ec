#include "corsair/producer/producer.hpp"

#include <regex>
#include <set>

#include <catch2/catch.hpp>

#include <atomic>

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

namespace {

// Every option set, with a run_at far enough ahead that no resend finds it past.
JobOptions full_options() {
    JobOptions options;
    options.priority = 7;
    options.max_attempts = 5;
    options.backoff = 2s;
    options.backoff_max = 1min;
    options.backoff_jitter_pct = 10;
    options.timeout = 30s;
    options.run_at = std::chrono::system_clock::now() + 1h;
    options.unique_key = "nightly-report";
    return options;
}

std::uint64_t unix_ms(std::chrono::system_clock::time_point time) {
    return static_cast<std::uint64_t>(std::chrono::floor<std::chrono::milliseconds>(time.time_since_epoch()).count());
}

// The SUBMIT header carries exactly the options of full_options().
void check_full_options(const protocol::Submit& submit, const JobOptions& options) {
    CHECK(submit.priority == 7);
    CHECK(submit.retry.max_attempts == 5u);
    CHECK(submit.retry.backoff_ms == 2000u);
    CHECK(submit.retry.backoff_max_ms == 60'000u);
    CHECK(submit.retry.backoff_jitter_pct == 10u);
    CHECK(submit.timeout_ms == 30'000u);
    CHECK(submit.delay_ms == 0u);
    CHECK(submit.run_at_ms == unix_ms(*options.run_at));
    CHECK(submit.unique_key == "nightly-report");
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
    REQUIRE(broker.send(submit->first, test::accepted(id, false)));
    REQUIRE(poll_for(producer, Event::Kind::accepted, 1, events, 5s) == 1);
    CHECK(events.back().id == id);
    CHECK(producer.awaiting_acceptance() == 0);
}

TEST_CASE("with reports_acceptance off, only results and refusals are reported", "[producer]") {
    zmq::context_t context;
    FakeBroker broker(context);
    auto options = options_for(broker.endpoint());
    options.reports_acceptance = false;
    Producer producer(context, options);
    std::vector<Event> events;
    const auto kept = producer.submit_async("q", "a", true);
    const auto refused = producer.submit_async("q", "b", true);
    auto first = receive_while_pumping<protocol::Submit>(broker, producer, events, 5s);
    REQUIRE(first);
    auto second = receive_while_pumping<protocol::Submit>(broker, producer, events, 5s);
    REQUIRE(second);
    REQUIRE(broker.send(first->first, test::accepted(kept, false)));
    REQUIRE(broker.send(first->first, test::error(protocol::ErrorCode::queue_full, refused, "SUBMIT")));
    REQUIRE(broker.send(first->first, test::job_result(kept, protocol::JobState::done, 1, "", "r")));
    REQUIRE(poll_for(producer, Event::Kind::result, 1, events, 5s) == 1);
    REQUIRE(poll_for(producer, Event::Kind::error, 1, events, 5s) == 1);
    for (const auto& event : events) CHECK(event.kind != Event::Kind::accepted);
    CHECK(producer.awaiting_acceptance() == 0);
    CHECK(producer.awaiting_results() == 0);
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
    broker.send(second->first, test::accepted(id, false));
    broker.send(second->first, test::accepted(id, true));
    REQUIRE(poll_for(producer, Event::Kind::accepted, 1, events, 5s) == 1);
    CHECK(poll_for(producer, Event::Kind::accepted, 2, events, 200ms) == 1);
}

TEST_CASE("the window bounds the submits awaiting acceptance", "[producer]") {
    zmq::context_t context;
    FakeBroker broker(context);
    auto options = options_for(broker.endpoint());
    options.window = 3;
    options.silence_limit = 300ms;
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
        CHECK(e.is_broker_silent());
    }
    CHECK(producer.awaiting_acceptance() == 3);
    CHECK_FALSE(broker.receive(50ms).has_value());  // nothing beyond the window was sent
    REQUIRE(broker.send(last->first, test::accepted(ids[0], false)));
    CHECK_NOTHROW(producer.submit_async("q", "p", false));
    CHECK(producer.awaiting_acceptance() == 3);
}

TEST_CASE("submit blocks until the broker accepts, and turns ERROR into ProducerError", "[producer]") {
    zmq::context_t context;
    ThreadedBroker broker(context, [](FakeBroker& fake, FakeBroker::Received& received) {
        if (auto* submit = std::get_if<protocol::Submit>(&received.message)) {
            if (submit->queue == "refused") {
                fake.send(received.routing_id,
                          test::error(protocol::ErrorCode::bad_field_value, submit->id, "SUBMIT", "no"));
            } else {
                fake.send(received.routing_id, test::accepted(submit->id, false));
            }
        } else if (auto* status = std::get_if<protocol::StatusRequest>(&received.message)) {
            fake.send(received.routing_id, test::error(protocol::ErrorCode::unknown_job, status->id, "STATUS"));
        } else if (std::holds_alternative<protocol::StatsRequest>(received.message)) {
            protocol::StatsReply stats;
            stats.queues.push_back({"q", 1, 2, 3, 4, 0, 0, false});
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

namespace {

// Polls until poll() throws broker_silent or `timeout` passes; returns when it threw, if it did.
// When poll() reported the broker silent: the report happened between `poll_started` and
// `reported`, so silence counted afresh from some time in between.
struct SilenceReport {
    std::chrono::steady_clock::time_point poll_started;
    std::chrono::steady_clock::time_point reported;
};

std::optional<SilenceReport> poll_until_silent(Producer& producer, std::chrono::milliseconds timeout,
                                               std::string* what = nullptr) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        const auto poll_started = std::chrono::steady_clock::now();
        try {
            producer.poll(20ms);
        } catch (const ProducerError& e) {
            CHECK(e.is_broker_silent());
            if (what != nullptr) *what = e.what();
            return SilenceReport{poll_started, std::chrono::steady_clock::now()};
        }
    }
    return std::nullopt;
}

}  // namespace

TEST_CASE("poll reports a broker silent past silence_limit while jobs are awaited", "[producer][silence]") {
    zmq::context_t context;
    FakeBroker broker(context);  // bound, never answers
    auto options = options_for(broker.endpoint());
    options.silence_limit = 300ms;
    options.check_after = 100ms;
    Producer producer(context, options);

    SECTION("not while nothing is awaited") { CHECK_FALSE(poll_until_silent(producer, 600ms)); }
    SECTION("after silence_limit of silence, with the endpoint in the error, then again after another") {
        const auto start = std::chrono::steady_clock::now();
        producer.submit_async("q", "p", true);
        std::string what;
        const auto first = poll_until_silent(producer, 5s, &what);
        REQUIRE(first);
        CHECK(first->reported - start >= 300ms);
        CHECK_THAT(what, Catch::Contains(broker.endpoint()));
        const auto second = poll_until_silent(producer, 5s);
        REQUIRE(second);
        CHECK(second->reported - first->poll_started >= 300ms);  // silence counts afresh after each report
        CHECK(producer.awaiting_results() == 1);  // nothing is given up on
    }
    SECTION("not counting time the caller spent away from the producer") {
        producer.submit_async("q", "p", true);
        // The caller is busy elsewhere for longer than silence_limit, without pumping.
        CHECK(broker.receive(400ms).has_value());  // the SUBMIT
        CHECK_FALSE(broker.receive(400ms).has_value());
        const auto back = std::chrono::steady_clock::now();
        const auto reported = poll_until_silent(producer, 5s);
        REQUIRE(reported);
        CHECK(reported->reported - back >= 300ms);
    }
}

TEST_CASE("a broker that answers is never reported silent", "[producer][silence]") {
    zmq::context_t context;
    // Accepts every SUBMIT and answers every STATUS check: running, never done.
    ThreadedBroker broker(context, [](FakeBroker& fake, FakeBroker::Received& received) {
        if (auto* submit = std::get_if<protocol::Submit>(&received.message)) {
            fake.send(received.routing_id, test::accepted(submit->id));
        } else if (auto* status = std::get_if<protocol::StatusRequest>(&received.message)) {
            fake.send(received.routing_id, test::status_reply(status->id, protocol::JobState::running, 1));
        }
    });
    auto options = options_for(broker.endpoint());
    options.silence_limit = 300ms;
    options.check_after = 50ms;
    Producer producer(context, options);
    producer.submit_async("q", "p", true);
    CHECK_FALSE(poll_until_silent(producer, 1200ms));
    CHECK(producer.awaiting_results() == 1);
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

// The kind and code of what `call` throws; refused/internal when it throws nothing.
template <class Call>
std::pair<ProducerError::Kind, protocol::ErrorCode> error_of_call(Call&& call, std::string* what = nullptr) {
    try {
        call();
    } catch (const ProducerError& e) {
        if (what != nullptr) *what = e.what();
        return {e.kind(), e.code()};
    }
    return {ProducerError::Kind::refused, protocol::ErrorCode::internal};
}

TEST_CASE("a producer adopts the limit of a payload_too_large refusal and refuses larger payloads itself",
          "[producer][payload_limit]") {
    zmq::context_t context;
    std::atomic<int> submits{0};
    ThreadedBroker broker(context, [&submits](FakeBroker& fake, FakeBroker::Received& received) {
        if (auto* submit = std::get_if<protocol::Submit>(&received.message)) {
            ++submits;
            if (submit->payload.size() <= 1000) {
                fake.send(received.routing_id, test::accepted(submit->id));
                return;
            }
            auto refusal = test::error(protocol::ErrorCode::payload_too_large, submit->id, "SUBMIT",
                                       "payload is 2000 bytes; this broker takes at most 1000 bytes (--max-payload)");
            refusal.max_payload_bytes = 1000;
            fake.send(received.routing_id, std::move(refusal));
        }
    });
    Producer producer(context, options_for(broker.endpoint()));
    std::string what;
    auto first = error_of_call([&] { producer.submit("q", std::string(2000, 'p'), 2s); }, &what);
    CHECK(first.first == ProducerError::Kind::refused);  // at once, not a timeout
    CHECK(first.second == protocol::ErrorCode::payload_too_large);
    CHECK_THAT(what, Catch::Contains("at most 1000 bytes"));
    CHECK(submits == 1);
    auto second = error_of_call([&] { producer.submit_async("q", std::string(1001, 'p'), false); }, &what);
    CHECK(second.first == ProducerError::Kind::invalid);
    CHECK(second.second == protocol::ErrorCode::payload_too_large);
    CHECK(what == "payload is 1001 bytes; the broker at " + broker.endpoint() +
                      " takes at most 1000 bytes (its --max-payload)");
    CHECK(producer.awaiting_acceptance() == 0);
    CHECK_FALSE(producer.submit("q", std::string(1000, 'p'), 2s).empty());
    CHECK(submits == 2);  // the refused one never left
}

TEST_CASE("a producer asks the broker its limit before sending a payload over the default one",
          "[producer][payload_limit]") {
    zmq::context_t context;
    const std::size_t big = protocol::kDefaultMaxPayloadBytes + protocol::kFrameOverheadBytes + 1;
    std::atomic<std::uint64_t> broker_limit{20'000'000};
    std::atomic<int> stats_asked{0};
    std::atomic<std::size_t> submitted_bytes{0};
    ThreadedBroker broker(context, [&](FakeBroker& fake, FakeBroker::Received& received) {
        if (auto* submit = std::get_if<protocol::Submit>(&received.message)) {
            submitted_bytes = submit->payload.size();
            fake.send(received.routing_id, test::accepted(submit->id));
        } else if (std::holds_alternative<protocol::StatsRequest>(received.message)) {
            ++stats_asked;
            protocol::StatsReply reply;
            reply.max_payload_bytes = broker_limit.load();
            fake.send(received.routing_id, std::move(reply));
        }
    });
    Producer producer(context, options_for(broker.endpoint()));
    SECTION("a broker whose limit allows it gets the payload") {
        CHECK_FALSE(producer.submit("q", std::string(big, 'p'), 5s).empty());
        CHECK(submitted_bytes == big);
        CHECK_FALSE(producer.submit("q", std::string(big, 'p'), 5s).empty());
        CHECK(stats_asked == 1);  // once: the limit is kept
    }
    SECTION("a broker with a smaller limit: refused here, nothing sent") {
        broker_limit = 1000;
        auto refused = error_of_call([&] { producer.submit_async("q", std::string(big, 'p'), false); });
        CHECK(refused.first == ProducerError::Kind::invalid);
        CHECK(refused.second == protocol::ErrorCode::payload_too_large);
        CHECK(stats_asked == 1);
        CHECK(submitted_bytes == 0);
    }
    SECTION("a payload of the default size or less is sent without asking") {
        CHECK_FALSE(producer.submit("q", std::string(protocol::kDefaultMaxPayloadBytes, 'p'), 5s).empty());
        CHECK(stats_asked == 0);
    }
}

TEST_CASE("a RESULT completes wait_result", "[producer]") {
    zmq::context_t context;
    ThreadedBroker broker(context, [](FakeBroker& fake, FakeBroker::Received& received) {
        if (auto* submit = std::get_if<protocol::Submit>(&received.message)) {
            fake.send(received.routing_id, test::accepted(submit->id, false));
            const bool fails = protocol::view_of(submit->payload) == "fail";
            fake.send(received.routing_id,
                      test::job_result(submit->id, fails ? protocol::JobState::failed : protocol::JobState::done, 2,
                                       fails ? "boom" : "", fails ? "" : "42"));
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
    broker.send(submit->first, test::accepted(id, false));
    for (int i = 0; i < 2; ++i) {
        broker.send(submit->first, test::job_result(id, protocol::JobState::done, 1, "", "r"));
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
    broker.send(submit->first, test::accepted(id, false));
    auto check = receive_while_pumping<protocol::StatusRequest>(broker, producer, events, 5s);
    REQUIRE(check);
    CHECK(check->second.id == id);
    // The broker restarted and forgot the job.
    broker.send(check->first, test::error(protocol::ErrorCode::unknown_job, id, "STATUS"));
    auto again = receive_while_pumping<protocol::Submit>(broker, producer, events, 5s);
    REQUIRE(again);
    CHECK(again->second.id == id);
    CHECK(again->second.wants_result);
    CHECK(protocol::view_of(again->second.payload) == "keep-me");
    broker.send(again->first, test::accepted(id, false));
    broker.send(again->first, test::job_result(id, protocol::JobState::done, 1, "", "r"));
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
    broker.send(submit->first, test::accepted(id, false));
    auto check = receive_while_pumping<protocol::StatusRequest>(broker, producer, events, 5s);
    REQUIRE(check);
    broker.send(check->first, test::status_reply(id, protocol::JobState::done, 1, "lost-result"));
    REQUIRE(poll_for(producer, Event::Kind::result, 1, events, 5s) == 1);
    CHECK(events.back().outcome.result == "lost-result");
}

TEST_CASE("job options reach the SUBMIT header", "[producer][job_options]") {
    zmq::context_t context;
    FakeBroker broker(context);
    Producer producer(context, options_for(broker.endpoint()));
    std::vector<Event> events;
    SECTION("every option") {
        const auto options = full_options();
        producer.submit_async("reports", "p", true, options);
        auto submit = receive_while_pumping<protocol::Submit>(broker, producer, events, 5s);
        REQUIRE(submit);
        check_full_options(submit->second, options);
    }
    SECTION("a delay") {
        JobOptions options;
        options.delay = 90s;
        options.timeout = 0ms;  // explicitly none, not the queue's
        producer.submit_async("q", "p", false, options);
        auto submit = receive_while_pumping<protocol::Submit>(broker, producer, events, 5s);
        REQUIRE(submit);
        CHECK(submit->second.delay_ms == 90'000u);
        CHECK(submit->second.timeout_ms == 0u);
        CHECK_FALSE(submit->second.run_at_ms);
    }
    SECTION("a plain job sets none of them") {
        producer.submit_async("q", "p", false);
        auto submit = receive_while_pumping<protocol::Submit>(broker, producer, events, 5s);
        REQUIRE(submit);
        CHECK(submit->second.priority == 0);
        CHECK_FALSE(submit->second.retry.max_attempts);
        CHECK_FALSE(submit->second.retry.backoff_ms);
        CHECK_FALSE(submit->second.timeout_ms);
        CHECK(submit->second.delay_ms == 0u);
        CHECK_FALSE(submit->second.run_at_ms);
        CHECK(submit->second.unique_key.empty());
    }
}

TEST_CASE("a resent or resubmitted SUBMIT carries the same options", "[producer][job_options]") {
    zmq::context_t context;
    FakeBroker broker(context);
    auto producer_options = options_for(broker.endpoint());
    producer_options.resend_after = 100ms;
    producer_options.check_after = 100ms;
    Producer producer(context, producer_options);
    std::vector<Event> events;
    const auto options = full_options();
    const auto id = producer.submit_async("reports", "p", true, options);
    auto first = receive_while_pumping<protocol::Submit>(broker, producer, events, 5s);
    REQUIRE(first);
    SECTION("resent when not accepted") {
        auto again = receive_while_pumping<protocol::Submit>(broker, producer, events, 5s);
        REQUIRE(again);
        CHECK(again->second.id == id);
        check_full_options(again->second, options);
    }
    SECTION("resubmitted after the broker forgot it") {
        broker.send(first->first, test::accepted(id));
        auto check = receive_while_pumping<protocol::StatusRequest>(broker, producer, events, 5s);
        REQUIRE(check);
        broker.send(check->first, test::error(protocol::ErrorCode::unknown_job, id, "STATUS"));
        auto again = receive_while_pumping<protocol::Submit>(broker, producer, events, 5s);
        REQUIRE(again);
        CHECK(again->second.id == id);
        check_full_options(again->second, options);
    }
}

TEST_CASE("a run_at already past when a SUBMIT is resent is left out", "[producer][job_options]") {
    zmq::context_t context;
    FakeBroker broker(context);
    auto producer_options = options_for(broker.endpoint());
    producer_options.resend_after = 400ms;
    Producer producer(context, producer_options);
    std::vector<Event> events;
    JobOptions options;
    options.priority = 3;
    options.run_at = std::chrono::system_clock::now() + 200ms;
    producer.submit_async("q", "p", false, options);
    auto first = receive_while_pumping<protocol::Submit>(broker, producer, events, 5s);
    REQUIRE(first);
    // The resend goes out resend_after (400ms) after the first send, so run_at (200ms) has passed:
    // the broker would refuse a time in the past, and the job is due now anyway.
    auto again = receive_while_pumping<protocol::Submit>(broker, producer, events, 5s);
    REQUIRE(again);
    CHECK_FALSE(again->second.run_at_ms);
    CHECK(again->second.priority == 3);
}

TEST_CASE("job options out of range are refused before anything is sent", "[producer][job_options]") {
    zmq::context_t context;
    FakeBroker broker(context);
    Producer producer(context, options_for(broker.endpoint()));
    JobOptions options;
    std::string field;
    SECTION("priority") {
        options.priority = 1001;
        field = "priority";
    }
    SECTION("max_attempts") {
        options.max_attempts = 0;
        field = "max_attempts";
    }
    SECTION("timeout") {
        options.timeout = std::chrono::hours(24 * 8);
        field = "timeout";
    }
    SECTION("delay") {
        options.delay = -1s;
        field = "delay";
    }
    SECTION("run_at in the past") {
        options.run_at = std::chrono::system_clock::now() - 1s;
        field = "run_at";
    }
    SECTION("delay with run_at") {
        options.delay = 1s;
        options.run_at = std::chrono::system_clock::now() + 1h;
        field = "run_at";
    }
    SECTION("unique_key") {
        options.unique_key = std::string(129, 'k');
        field = "unique_key";
    }
    try {
        producer.submit_async("q", "p", true, options);
        FAIL("no exception");
    } catch (const ProducerError& e) {
        CHECK(e.kind() == ProducerError::Kind::invalid);
        CHECK_THAT(e.what(), Catch::StartsWith(field));
    }
    CHECK_THROWS_AS(producer.submit("q", "p", options, 1s), ProducerError);
    CHECK(producer.awaiting_acceptance() == 0);
    CHECK_FALSE(broker.receive(50ms).has_value());
}

TEST_CASE("progress reports of an awaited job arrive as progress events", "[producer][progress]") {
    zmq::context_t context;
    FakeBroker broker(context);
    Producer producer(context, options_for(broker.endpoint()));
    std::vector<Event> events;
    const auto id = producer.submit_async("q", "p", true);
    auto submit = receive_while_pumping<protocol::Submit>(broker, producer, events, 5s);
    REQUIRE(submit);
    broker.send(submit->first, test::accepted(id));
    broker.send(submit->first, protocol::Progress{"not-ours", 1, 10, "ignored"});
    broker.send(submit->first, protocol::Progress{id, 2, 40, "resizing"});
    REQUIRE(poll_for(producer, Event::Kind::progress, 1, events, 5s) == 1);
    const auto& progress = *std::find_if(events.begin(), events.end(),
                                         [](const Event& e) { return e.kind == Event::Kind::progress; });
    CHECK(progress.id == id);
    CHECK(progress.progress.attempt == 2);
    CHECK(progress.progress.percent == 40);
    CHECK(progress.progress.message == "resizing");
    SECTION("wait_result drops the progress of the job it returns") {
        broker.send(submit->first, protocol::Progress{id, 2, 90, "almost"});
        broker.send(submit->first, test::job_result(id, protocol::JobState::done, 2, "", "r"));
        CHECK(producer.wait_result(id, 5s).result == "r");
        CHECK(producer.poll(0ms).empty());
    }
}

TEST_CASE("a cancelled job's outcome has state cancelled", "[producer][cancel]") {
    zmq::context_t context;
    FakeBroker broker(context);
    auto producer_options = options_for(broker.endpoint());
    producer_options.check_after = 100ms;
    Producer producer(context, producer_options);
    std::vector<Event> events;
    const auto id = producer.submit_async("q", "p", true);
    auto submit = receive_while_pumping<protocol::Submit>(broker, producer, events, 5s);
    REQUIRE(submit);
    broker.send(submit->first, test::accepted(id));
    SECTION("pushed as a RESULT") {
        broker.send(submit->first, test::job_result(id, protocol::JobState::cancelled, 1, "cancelled by a producer"));
    }
    SECTION("found by a STATUS check") {
        auto check = receive_while_pumping<protocol::StatusRequest>(broker, producer, events, 5s);
        REQUIRE(check);
        auto reply = test::status_reply(id, protocol::JobState::cancelled, 1);
        reply.error = "cancelled by a producer";
        broker.send(check->first, std::move(reply));
    }
    const auto outcome = producer.wait_result(id, 5s);
    CHECK(outcome.state == protocol::JobState::cancelled);
    CHECK(outcome.error == "cancelled by a producer");
    CHECK(producer.awaiting_results() == 0);
}

TEST_CASE("a submit whose unique key matched a live job follows that job", "[producer][unique_key]") {
    zmq::context_t context;
    FakeBroker broker(context);
    auto producer_options = options_for(broker.endpoint());
    producer_options.check_after = 100ms;
    Producer producer(context, producer_options);
    std::vector<Event> events;
    JobOptions options;
    options.unique_key = "k";
    const auto id = producer.submit_async("q", "p", true, options);
    auto submit = receive_while_pumping<protocol::Submit>(broker, producer, events, 5s);
    REQUIRE(submit);
    CHECK(submit->second.unique_key == "k");
    broker.send(submit->first, test::accepted(id, true, "older-job"));
    REQUIRE(poll_for(producer, Event::Kind::accepted, 1, events, 5s) == 1);
    CHECK(events.back().id == id);
    CHECK(events.back().job_id == "older-job");
    CHECK(events.back().existed);

    SECTION("its progress and outcome are delivered under the submitted id") {
        broker.send(submit->first, protocol::Progress{"older-job", 1, 70, "nearly"});
        REQUIRE(poll_for(producer, Event::Kind::progress, 1, events, 5s) == 1);
        CHECK(events.back().id == id);
        CHECK(events.back().job_id == "older-job");
        broker.send(submit->first, test::job_result("older-job", protocol::JobState::done, 1, "", "r"));
        const auto outcome = producer.wait_result(id, 5s);
        CHECK(outcome.id == id);
        CHECK(outcome.job_id == "older-job");
        CHECK(outcome.result == "r");
        CHECK(producer.awaiting_results() == 0);
    }
    SECTION("a RESULT under the submitted id is not taken for it") {
        broker.send(submit->first, test::job_result(id, protocol::JobState::done, 1, "", "someone else's"));
        broker.send(submit->first, test::job_result("older-job", protocol::JobState::failed, 3, "boom"));
        const auto outcome = producer.wait_result(id, 5s);
        CHECK(outcome.state == protocol::JobState::failed);
        CHECK(outcome.job_id == "older-job");
    }
    SECTION("two submits matching the same job both get its outcome") {
        const auto second = producer.submit_async("q", "p", true, options);
        auto again = receive_while_pumping<protocol::Submit>(broker, producer, events, 5s);
        REQUIRE(again);
        broker.send(again->first, test::accepted(second, true, "older-job"));
        REQUIRE(poll_for(producer, Event::Kind::accepted, 2, events, 5s) == 2);
        broker.send(again->first, test::job_result("older-job", protocol::JobState::done, 1, "", "r"));
        CHECK(producer.wait_result(id, 5s).result == "r");
        CHECK(producer.wait_result(second, 5s).result == "r");
    }
    SECTION("STATUS checks ask about the matched job, and a restart resubmits under the submitted id") {
        auto check = receive_while_pumping<protocol::StatusRequest>(broker, producer, events, 5s);
        REQUIRE(check);
        CHECK(check->second.id == "older-job");
        broker.send(check->first, test::error(protocol::ErrorCode::unknown_job, "older-job", "STATUS"));
        auto resubmitted = receive_while_pumping<protocol::Submit>(broker, producer, events, 5s);
        REQUIRE(resubmitted);
        CHECK(resubmitted->second.id == id);
        CHECK(resubmitted->second.unique_key == "k");
        // The restarted broker knows no job with the key: this submit is now the job itself.
        broker.send(resubmitted->first, test::accepted(id));
        broker.send(resubmitted->first, test::job_result(id, protocol::JobState::done, 1, "", "fresh"));
        const auto outcome = producer.wait_result(id, 5s);
        CHECK(outcome.result == "fresh");
        CHECK(outcome.job_id == id);
    }
}

TEST_CASE("a blocking submit returns the job the broker answered for", "[producer][unique_key]") {
    zmq::context_t context;
    ThreadedBroker broker(context, [](FakeBroker& fake, FakeBroker::Received& received) {
        if (auto* submit = std::get_if<protocol::Submit>(&received.message)) {
            const bool matches = submit->unique_key == "taken";
            fake.send(received.routing_id, test::accepted(submit->id, matches, matches ? "holder" : ""));
        }
    });
    Producer producer(context, options_for(broker.endpoint()));
    JobOptions options;
    options.unique_key = "taken";
    const auto matched = producer.submit("q", "p", options, 5s);
    CHECK(matched.existed);
    CHECK(matched.job_id == "holder");
    CHECK(matched.id != "holder");
    options.unique_key = "free";
    const auto fresh = producer.submit("q", "p", options, 5s);
    CHECK_FALSE(fresh.existed);
    CHECK(fresh.job_id == fresh.id);
    CHECK(producer.submit("q", "p", 5s) != fresh.id);
}

TEST_CASE("a blocking submit returns its ACCEPTED also when poll() does not report acceptance", "[producer]") {
    zmq::context_t context;
    ThreadedBroker broker(context, [](FakeBroker& fake, FakeBroker::Received& received) {
        if (auto* submit = std::get_if<protocol::Submit>(&received.message)) {
            fake.send(received.routing_id, test::accepted(submit->id));
        }
    });
    auto options = options_for(broker.endpoint());
    options.reports_acceptance = false;
    Producer producer(context, options);
    const auto accepted = producer.submit("q", "p", JobOptions{}, 5s);
    CHECK(accepted.job_id == accepted.id);
    CHECK(producer.poll(0ms).empty());
}

TEST_CASE("a producer refused with too_many_in_flight resends the job later, reports nothing, and keeps its window "
          "under the limit",
          "[producer][in_flight_limit]") {
    zmq::context_t context;
    std::atomic<int> submits{0};
    std::atomic<bool> is_silent{false};
    std::set<std::string> refused;  // touched only by the broker's thread
    ThreadedBroker broker(context, [&](FakeBroker& fake, FakeBroker::Received& received) {
        auto* submit = std::get_if<protocol::Submit>(&received.message);
        if (submit == nullptr || is_silent) return;
        ++submits;
        if (refused.insert(submit->id).second) {
            auto refusal = test::error(protocol::ErrorCode::too_many_in_flight, submit->id, "SUBMIT",
                                       "this connection has 2 submits not yet acknowledged (--max-in-flight)");
            refusal.max_in_flight = 2;
            fake.send(received.routing_id, std::move(refusal));
            return;
        }
        fake.send(received.routing_id, test::accepted(submit->id));
    });
    ProducerOptions options = options_for(broker.endpoint());
    options.window = 5;
    options.resend_after = 100ms;
    options.silence_limit = 500ms;
    Producer producer(context, options);
    std::set<std::string> ids;
    for (int i = 0; i < 3; ++i) ids.insert(producer.submit_async("q", "p", false));
    std::set<std::string> accepted;
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (accepted.size() < ids.size() && std::chrono::steady_clock::now() < deadline) {
        for (auto& event : producer.poll(20ms)) {
            CHECK(event.kind == Event::Kind::accepted);  // never an error
            accepted.insert(event.id);
        }
    }
    CHECK(accepted == ids);
    CHECK(submits >= 6);  // each refused once, then accepted (a slow answer may draw one more resend)
    CHECK(producer.resubmissions() >= 3);

    // The window is now the broker's limit of 2, not 5: a third unanswered submit waits.
    is_silent = true;
    producer.submit_async("q", "p", false);
    producer.submit_async("q", "p", false);
    auto third = error_of_call([&] { producer.submit_async("q", "p", false); }, nullptr);
    CHECK(third.first == ProducerError::Kind::broker_silent);
}
