// Producer's calls that look into and reshape queues (list, peek, clear, create_queue,
// delete_queue), against a fake broker that surrounds each answer with unrelated replies.
#include <catch2/catch.hpp>

#include "corsair/producer/producer.hpp"
#include "fake_broker.hpp"

using namespace std::chrono_literals;
using corsair::producer::Producer;
using corsair::producer::ProducerError;
using corsair::test::FakeBroker;
using corsair::test::options_for;
using corsair::test::ThreadedBroker;
namespace protocol = corsair::protocol;
namespace test = corsair::test;
using protocol::ErrorCode;

namespace {

protocol::ListReply page_of(const protocol::ListRequest& request) {
    // Five pending jobs, job-0..job-4, in pages of request.limit.
    protocol::ListReply reply;
    reply.queue = request.queue;
    reply.state = request.state;
    reply.total = 5;
    std::uint32_t first = request.after.empty() ? 0 : static_cast<std::uint32_t>(request.after.back() - '0') + 1;
    for (std::uint32_t i = first; i < 5 && reply.jobs.size() < request.limit; ++i) {
        protocol::ListedJob job;
        job.id = "job-" + std::to_string(i);
        job.created_ms = 1'700'000'000'000 + i;
        reply.jobs.push_back(job);
    }
    if (!reply.jobs.empty() && reply.jobs.back().id != "job-4") reply.next = reply.jobs.back().id;
    return reply;
}

// A broker that knows the queue "images" only, and one pending job "job-1".
void answer(FakeBroker& fake, FakeBroker::Received& received) {
    const auto& to = received.routing_id;
    auto refuse_unknown = [&](const std::string& queue, const char* command) {
        if (queue == "images") return false;
        fake.send(to, test::error(ErrorCode::unknown_queue, queue, command, "no queue named " + queue));
        return true;
    };
    if (const auto* list = std::get_if<protocol::ListRequest>(&received.message)) {
        if (refuse_unknown(list->queue, "LIST")) return;
        protocol::ListReply other;
        other.queue = "other-queue";
        fake.send(to, std::move(other));
        fake.send(to, page_of(*list));
    } else if (const auto* clear = std::get_if<protocol::Clear>(&received.message)) {
        if (refuse_unknown(clear->queue, "CLEAR")) return;
        fake.send(to, test::ok("DELETE_QUEUE", clear->queue, 99));
        fake.send(to, test::ok("CLEAR", clear->queue, clear->includes_delayed ? 7 : 4));
    } else if (const auto* deletion = std::get_if<protocol::DeleteQueue>(&received.message)) {
        if (refuse_unknown(deletion->queue, "DELETE_QUEUE")) return;
        if (!deletion->is_forced) {
            fake.send(to, test::error(ErrorCode::wrong_state, deletion->queue, "DELETE_QUEUE", "holds 3 jobs"));
        } else {
            fake.send(to, test::ok("DELETE_QUEUE", deletion->queue, 3));
        }
    } else if (const auto* settings = std::get_if<protocol::QueueSettings>(&received.message)) {
        if (!settings->should_create && refuse_unknown(settings->queue, "QUEUE")) return;
        protocol::QueueSettings reply;
        reply.queue = settings->queue;
        reply.was_created = settings->queue != "images";
        fake.send(to, std::move(reply));
    } else if (const auto* status = std::get_if<protocol::StatusRequest>(&received.message)) {
        protocol::StatusReply reply = test::status_reply(status->id, protocol::JobState::pending, 0,
                                                         status->wants_payload ? "the job's bytes" : "");
        // "old-broker-job": a broker that ignores the payload flag.
        reply.holds_job_payload = status->wants_payload && status->id != "old-broker-job";
        reply.created_ms = 1'700'000'000'000;
        fake.send(to, std::move(reply));
    }
}

template <class Call>
ProducerError refusal_of(Call&& call) {
    try {
        call();
    } catch (const ProducerError& e) {
        return e;
    }
    FAIL("no exception");
    throw std::logic_error("unreachable");
}

}  // namespace

TEST_CASE("list pages through a queue's jobs with the cursor the broker gives", "[producer][inspect]") {
    zmq::context_t context;
    ThreadedBroker broker(context, answer);
    Producer producer(context, options_for(broker.endpoint()));
    std::vector<std::string> seen;
    std::string after;
    int pages = 0;
    do {
        const auto page = producer.list("images", protocol::ListedState::pending, after, 2, 5s);
        CHECK(page.total == 5);
        for (const auto& job : page.jobs) seen.push_back(job.id);
        after = page.next;
        ++pages;
    } while (!after.empty() && pages < 10);
    CHECK(pages == 3);
    CHECK(seen == std::vector<std::string>{"job-0", "job-1", "job-2", "job-3", "job-4"});
    CHECK(producer.dropped_messages() == 0);
}

TEST_CASE("a request on a queue that does not exist is refused with unknown_queue", "[producer][inspect]") {
    zmq::context_t context;
    ThreadedBroker broker(context, answer);
    Producer producer(context, options_for(broker.endpoint()));
    for (const auto& error : {refusal_of([&] { producer.list("typo", protocol::ListedState::failed, {}, 10, 5s); }),
                              refusal_of([&] { producer.clear("typo", true, false, 5s); }),
                              refusal_of([&] { producer.delete_queue("typo", true, 5s); }),
                              refusal_of([&] { producer.pause("typo", 5s); })}) {
        CHECK(error.kind() == ProducerError::Kind::refused);
        CHECK(error.code() == ErrorCode::unknown_queue);
        CHECK_THAT(error.what(), Catch::Contains("typo"));
    }
}

TEST_CASE("create_queue asks for creation and reports whether the queue was new", "[producer][inspect]") {
    zmq::context_t context;
    ThreadedBroker broker(context, answer);
    Producer producer(context, options_for(broker.endpoint()));
    protocol::QueueSettings settings;
    settings.queue = "new-queue";
    CHECK(producer.create_queue(settings, 5s).was_created);
    settings.queue = "images";
    CHECK_FALSE(producer.create_queue(settings, 5s).was_created);
}

TEST_CASE("clear and delete_queue return the broker's counts, delete without force is refused",
          "[producer][inspect]") {
    zmq::context_t context;
    ThreadedBroker broker(context, answer);
    Producer producer(context, options_for(broker.endpoint()));
    CHECK(producer.clear("images", true, false, 5s) == 4);
    CHECK(producer.clear("images", true, true, 5s) == 7);
    CHECK(refusal_of([&] { producer.delete_queue("images", false, 5s); }).code() == ErrorCode::wrong_state);
    CHECK(producer.delete_queue("images", true, 5s) == 3);
    CHECK(refusal_of([&] { producer.clear("images", false, false, 5s); }).kind() == ProducerError::Kind::invalid);
}

TEST_CASE("peek returns the job's payload, and says so when the broker cannot send it", "[producer][inspect]") {
    zmq::context_t context;
    ThreadedBroker broker(context, answer);
    Producer producer(context, options_for(broker.endpoint()));
    const auto reply = producer.peek("job-1", 5s);
    CHECK(reply.holds_job_payload);
    CHECK(protocol::view_of(reply.payload) == "the job's bytes");
    CHECK(reply.created_ms == std::optional<std::uint64_t>(1'700'000'000'000));
    const auto error = refusal_of([&] { producer.peek("old-broker-job", 5s); });
    CHECK(error.code() == ErrorCode::unknown_command);
    CHECK_THAT(error.what(), Catch::Contains("payload"));
}

TEST_CASE("the inspection calls send exactly their requests", "[producer][inspect]") {
    zmq::context_t context;
    FakeBroker broker(context);  // never answers
    Producer producer(context, options_for(broker.endpoint()));
    CHECK_THROWS_AS(producer.list("images", protocol::ListedState::delayed, "job-3", 25, 100ms), ProducerError);
    auto received = broker.receive(5s);
    REQUIRE(received);
    const auto* list = std::get_if<protocol::ListRequest>(&received->message);
    REQUIRE(list);
    CHECK(list->state == protocol::ListedState::delayed);
    CHECK(list->after == "job-3");
    CHECK(list->limit == 25);

    protocol::QueueSettings settings;
    settings.queue = "images";
    settings.max_length = 9;
    CHECK_THROWS_AS(producer.create_queue(settings, 100ms), ProducerError);
    received = broker.receive(5s);
    REQUIRE(received);
    const auto* create = std::get_if<protocol::QueueSettings>(&received->message);
    REQUIRE(create);
    CHECK(create->should_create);
    CHECK(create->max_length == std::optional<std::uint64_t>(9));

    CHECK_THROWS_AS(producer.peek("job-1", 100ms), ProducerError);
    received = broker.receive(5s);
    REQUIRE(received);
    const auto* status = std::get_if<protocol::StatusRequest>(&received->message);
    REQUIRE(status);
    CHECK(status->wants_payload);
}
