// Producer's blocking job and queue administration calls (cancel, retry, purge, dead, queue
// settings), against a fake broker that surrounds each answer with unrelated replies.
#include "corsair/producer/producer.hpp"

#include <catch2/catch.hpp>

#include "fake_broker.hpp"

using namespace std::chrono_literals;
using corsair::producer::Producer;
using corsair::producer::ProducerError;
using corsair::producer::ProducerOptions;
using corsair::test::FakeBroker;
using corsair::test::options_for;
using corsair::test::ThreadedBroker;
namespace protocol = corsair::protocol;
namespace test = corsair::test;
using protocol::ErrorCode;

namespace {

// Replies a confused broker (or one serving other calls) might send before the real answer:
// the same command about another subject, another command about the same subject.
void send_noise(FakeBroker& fake, const zmq::message_t& to, const std::string& command, const std::string& subject) {
    fake.send(to, test::error(ErrorCode::wrong_state, "someone-else", command, "not this request"));
    fake.send(to, test::error(ErrorCode::bad_field_value, subject, "SUBMIT", "not this request"));
    fake.send(to, test::ok(command == "RETRY" ? "CANCEL" : "RETRY", subject, 99));
}

protocol::DeadJob dead_job(std::string id, std::uint32_t attempts) {
    protocol::DeadJob job;
    job.id = std::move(id);
    job.attempts = attempts;
    job.died_ms_ago = 1500;
    job.payload_bytes = 12;
    job.errors = {{1, "first"}, {attempts, "last"}};
    return job;
}

// The answers of a broker that knows every queue and one ended job, "done-job".
void answer(FakeBroker& fake, FakeBroker::Received& received) {
    const auto& to = received.routing_id;
    if (const auto* cancel = std::get_if<protocol::Cancel>(&received.message)) {
        send_noise(fake, to, "CANCEL", cancel->id);
        if (cancel->id == "done-job") {
            fake.send(to, test::error(ErrorCode::wrong_state, cancel->id, "CANCEL", "job done-job has ended"));
        } else {
            fake.send(to, test::ok("CANCEL", cancel->id, 1));
        }
    } else if (const auto* retry = std::get_if<protocol::Retry>(&received.message)) {
        const auto subject = retry->id.empty() ? retry->queue : retry->id;
        send_noise(fake, to, "RETRY", subject);
        if (retry->id == "unknown") {
            fake.send(to, test::error(ErrorCode::unknown_job, subject, "RETRY", "no job unknown"));
        } else {
            fake.send(to, test::ok("RETRY", subject, retry->id.empty() ? 3 : 1));
        }
    } else if (const auto* purge = std::get_if<protocol::Purge>(&received.message)) {
        send_noise(fake, to, "PURGE", purge->queue);
        // docs/jobs.md leaves PURGE's OK without an id.
        fake.send(to, test::ok("PURGE", "", purge->id.empty() ? 2 : 1));
    } else if (const auto* dead = std::get_if<protocol::DeadRequest>(&received.message)) {
        send_noise(fake, to, "DEAD", dead->queue);
        protocol::DeadReply other;
        other.queue = "other-queue";
        other.total = 77;
        fake.send(to, std::move(other));
        protocol::DeadReply reply;
        reply.queue = dead->queue;
        reply.total = 5;
        for (std::uint32_t i = 0; i < std::min<std::uint32_t>(dead->limit, 5); ++i) {
            reply.jobs.push_back(dead_job("dead-" + std::to_string(i), 3));
        }
        fake.send(to, std::move(reply));
    } else if (const auto* settings = std::get_if<protocol::QueueSettings>(&received.message)) {
        if (settings->queue == "old-broker") {
            // A broker that predates QUEUE cannot read the request at all.
            fake.send(to, test::error(ErrorCode::unknown_command, "", "", "frame 1"));
            return;
        }
        send_noise(fake, to, "QUEUE", settings->queue);
        protocol::QueueSettings other;
        other.queue = "other-queue";
        fake.send(to, std::move(other));
        protocol::QueueSettings now_set;
        now_set.queue = settings->queue;
        now_set.is_paused = settings->is_paused.value_or(false);
        now_set.max_length = settings->max_length.value_or(protocol::kDefaultMaxQueueLength);
        now_set.retry.max_attempts = settings->retry.max_attempts.value_or(protocol::kDefaultMaxAttempts);
        now_set.retry.backoff_ms = 1000;
        now_set.retry.backoff_max_ms = 600'000;
        now_set.retry.backoff_jitter_pct = 20;
        now_set.timeout_ms = settings->timeout_ms.value_or(0);
        now_set.dead_max_count = 10'000;
        now_set.dead_max_age_ms = 7ULL * 24 * 3'600'000;
        fake.send(to, std::move(now_set));
    }
}

}  // namespace

TEST_CASE("admin calls are matched by command and id, past unrelated replies", "[producer][admin]") {
    zmq::context_t context;
    ThreadedBroker broker(context, answer);
    Producer producer(context, options_for(broker.endpoint()));
    SECTION("cancel") { CHECK_NOTHROW(producer.cancel("job-1", 5s)); }
    SECTION("cancel of an ended job is refused with the broker's code and message") {
        try {
            producer.cancel("done-job", 5s);
            FAIL("no exception");
        } catch (const ProducerError& e) {
            CHECK(e.kind() == ProducerError::Kind::refused);
            CHECK(e.code() == ErrorCode::wrong_state);
            CHECK_THAT(e.what(), Catch::Contains("CANCEL") && Catch::Contains("done-job") &&
                                     Catch::Contains("wrong_state") && Catch::Contains("has ended"));
        }
    }
    SECTION("retry of one job") { CHECK_NOTHROW(producer.retry("dead-1", 5s)); }
    SECTION("retry of an unknown job") {
        try {
            producer.retry("unknown", 5s);
            FAIL("no exception");
        } catch (const ProducerError& e) {
            CHECK(e.code() == ErrorCode::unknown_job);
        }
    }
    SECTION("retry of a queue's dead set") { CHECK(producer.retry_all("images", 5s) == 3); }
    SECTION("purge of a dead set, and of one job, with an OK that names neither") {
        CHECK(producer.purge("images", {}, 5s) == 2);
        CHECK(producer.purge("images", "dead-1", 5s) == 1);
    }
    SECTION("dead") {
        const auto dead = producer.dead("images", 2, 5s);
        CHECK(dead.queue == "images");
        CHECK(dead.total == 5);
        REQUIRE(dead.jobs.size() == 2);
        CHECK(dead.jobs[1].errors.back().error == "last");
    }
    SECTION("queue settings, pause and resume") {
        protocol::QueueSettings change;
        change.queue = "images";
        change.max_length = 50;
        change.timeout_ms = 30'000;
        const auto settings = producer.queue_settings(change, 5s);
        CHECK(settings.queue == "images");
        CHECK(settings.max_length == 50u);
        CHECK(settings.timeout_ms == 30'000u);
        CHECK(settings.dead_max_count == 10'000u);
        CHECK(producer.pause("images", 5s).is_paused == true);
        CHECK(producer.resume("images", 5s).is_paused == false);
    }
    SECTION("a broker that does not know the command refuses it") {
        try {
            producer.pause("old-broker", 5s);
            FAIL("no exception");
        } catch (const ProducerError& e) {
            CHECK(e.code() == ErrorCode::unknown_command);
        }
    }
    SECTION("several calls in a row each get their own answer") {
        CHECK(producer.retry_all("a", 5s) == 3);
        CHECK_NOTHROW(producer.cancel("job-2", 5s));
        CHECK(producer.dead("a", 1, 5s).jobs.size() == 1);
    }
    CHECK(producer.dropped_messages() == 0);
}

TEST_CASE("an admin call sends exactly its request", "[producer][admin]") {
    zmq::context_t context;
    FakeBroker broker(context);
    Producer producer(context, options_for(broker.endpoint()));
    // The broker never answers: each call times out, and the request it sent is checked.
    CHECK_THROWS_AS(producer.pause("images", 100ms), ProducerError);
    auto received = broker.receive(5s);
    REQUIRE(received);
    const auto* settings = std::get_if<protocol::QueueSettings>(&received->message);
    REQUIRE(settings);
    CHECK(settings->queue == "images");
    CHECK(settings->is_paused == true);
    CHECK_FALSE(settings->max_length);
    CHECK_FALSE(settings->retry.max_attempts);

    CHECK_THROWS_AS(producer.retry_all("images", 100ms), ProducerError);
    received = broker.receive(5s);
    REQUIRE(received);
    const auto* retry = std::get_if<protocol::Retry>(&received->message);
    REQUIRE(retry);
    CHECK(retry->queue == "images");
    CHECK(retry->id.empty());

    CHECK_THROWS_AS(producer.purge("images", "job-9", 100ms), ProducerError);
    received = broker.receive(5s);
    REQUIRE(received);
    const auto* purge = std::get_if<protocol::Purge>(&received->message);
    REQUIRE(purge);
    CHECK(purge->queue == "images");
    CHECK(purge->id == "job-9");
}

TEST_CASE("an unanswered admin call times out with a clear error", "[producer][admin]") {
    zmq::context_t context;
    FakeBroker broker(context);  // bound, never answers
    Producer producer(context, options_for(broker.endpoint()));
    try {
        producer.cancel("job-1", 200ms);
        FAIL("no exception");
    } catch (const ProducerError& e) {
        CHECK(e.is_timeout());
        CHECK_THAT(e.what(), Catch::Contains("CANCEL") && Catch::Contains(broker.endpoint()));
    }
}

TEST_CASE("admin calls with bad input are refused before sending", "[producer][admin]") {
    zmq::context_t context;
    FakeBroker broker(context);
    Producer producer(context, options_for(broker.endpoint()));
    auto is_invalid = [](auto&& call) {
        try {
            call();
        } catch (const ProducerError& e) {
            return e.kind() == ProducerError::Kind::invalid;
        }
        return false;
    };
    CHECK(is_invalid([&] { producer.cancel("", 1s); }));
    CHECK(is_invalid([&] { producer.retry(std::string(129, 'j'), 1s); }));
    CHECK(is_invalid([&] { producer.retry_all("", 1s); }));
    CHECK(is_invalid([&] { producer.dead("q", 0, 1s); }));
    CHECK(is_invalid([&] { producer.dead("q", protocol::kMaxDeadListed + 1, 1s); }));
    protocol::QueueSettings settings;
    settings.queue = "q";
    settings.retry.max_attempts = 0;
    CHECK(is_invalid([&] { producer.queue_settings(settings, 1s); }));
    settings.retry.max_attempts.reset();
    settings.retry.backoff_jitter_pct = 101;
    CHECK(is_invalid([&] { producer.queue_settings(settings, 1s); }));
    settings.retry.backoff_jitter_pct.reset();
    settings.dead_max_age_ms = 0;
    CHECK(is_invalid([&] { producer.queue_settings(settings, 1s); }));
    CHECK_FALSE(broker.receive(50ms).has_value());
}
