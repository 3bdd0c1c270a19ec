// Producer::Batch and SUBMITS (docs/protocol.md §5.33), against a scripted broker.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "corsair/producer/producer.hpp"
#include "fake_broker.hpp"

using namespace std::chrono_literals;
using corsair::producer::Event;
using corsair::producer::JobOptions;
using corsair::producer::Producer;
using corsair::test::FakeBroker;
using corsair::test::options_for;
namespace protocol = corsair::protocol;
namespace test = corsair::test;

namespace {

// What the fake broker received, message by message: the ids of each, and whether it was a
// SUBMITS (several jobs under one header) or a SUBMIT.
struct Sent {
    bool is_batch = false;
    bool is_packed = false;  // a SUBMITS whose payloads came in one frame (protocol.md §3.1)
    std::vector<std::string> ids;
    std::vector<std::string> payloads;
    std::string queue;
    protocol::Submit shared;  // a SUBMIT's fields, or a SUBMITS's shared ones
};

// Pumps the producer until the broker has received `count` submit messages (SUBMIT or SUBMITS),
// or the deadline passes. The routing id of the last one is kept in `from`.
std::vector<Sent> receive_submits(FakeBroker& broker, Producer& producer, std::size_t count, zmq::message_t& from,
                                  std::vector<Event>& events, std::chrono::milliseconds timeout = 5s) {
    std::vector<Sent> sent;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (sent.size() < count && std::chrono::steady_clock::now() < deadline) {
        for (auto& event : producer.poll(2ms)) events.push_back(std::move(event));
        auto received = broker.receive(5ms);
        if (!received) continue;
        Sent one;
        if (auto* batch = std::get_if<protocol::Submits>(&received->message)) {
            one.is_batch = true;
            one.is_packed = batch->is_packed;
            for (std::size_t i = 0; i < batch->entries.size(); ++i) {
                auto submit = protocol::take_submit(*batch, i);
                one.ids.push_back(submit.id);
                one.payloads.emplace_back(protocol::view_of(submit.payload));
                if (i == 0) one.shared = std::move(submit);
            }
        } else if (auto* submit = std::get_if<protocol::Submit>(&received->message)) {
            one.ids.push_back(submit->id);
            one.payloads.emplace_back(protocol::view_of(submit->payload));
            one.shared = std::move(*submit);
        } else {
            continue;
        }
        one.queue = one.shared.queue;
        from = std::move(received->routing_id);
        sent.push_back(std::move(one));
    }
    return sent;
}

// Submits `count` jobs to `queue` under one Producer::Batch, payloads "p0", "p1", ...; returns
// their ids in order.
std::vector<std::string> submit_held(Producer& producer, const std::string& queue, int count, bool wants_result) {
    std::vector<std::string> ids;
    Producer::Batch batch(producer);
    for (int i = 0; i < count; ++i) ids.push_back(producer.submit_async(queue, "p" + std::to_string(i), wants_result));
    return ids;
}

std::size_t count_of(const std::vector<Event>& events, Event::Kind kind) {
    return static_cast<std::size_t>(
        std::count_if(events.begin(), events.end(), [&](const Event& e) { return e.kind == kind; }));
}

// Polls until `count` events of `kind` arrived or the deadline passes.
std::size_t poll_for(Producer& producer, Event::Kind kind, std::size_t count, std::vector<Event>& events) {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (count_of(events, kind) < count && std::chrono::steady_clock::now() < deadline) {
        for (auto& event : producer.poll(20ms)) events.push_back(std::move(event));
    }
    return count_of(events, kind);
}

}  // namespace

TEST_CASE("a Batch sends the submits it held as SUBMITS of up to submit_batch jobs, each answered on its own",
          "[producer][batch]") {
    zmq::context_t context;
    FakeBroker broker(context);
    broker.splits_submits = false;
    auto options = options_for(broker.endpoint());
    options.submit_batch = 4;
    Producer producer(context, options);
    const auto ids = submit_held(producer, "images", 10, true);
    std::vector<Event> events;
    zmq::message_t from;
    const auto sent = receive_submits(broker, producer, 3, from, events);
    REQUIRE(sent.size() == 3);
    std::vector<std::string> sent_ids;
    for (const auto& message : sent) {
        CHECK(message.is_batch);
        CHECK(message.queue == "images");
        CHECK(message.shared.wants_result);
        CHECK(message.shared.accept_within_ms == 100u);
        CHECK(message.shared.results_batch == 64u);
        sent_ids.insert(sent_ids.end(), message.ids.begin(), message.ids.end());
    }
    CHECK(sent[0].ids.size() == 4);
    CHECK(sent[1].ids.size() == 4);
    CHECK(sent[2].ids.size() == 2);
    CHECK(sent_ids == ids);  // in submission order
    CHECK(sent[1].payloads[0] == "p4");
    // One job refused, the rest accepted: each answer settles its own job.
    for (std::size_t i = 0; i < ids.size(); ++i) {
        if (i == 6) {
            REQUIRE(broker.send(from, test::error(protocol::ErrorCode::queue_full, ids[i], "SUBMIT")));
        } else {
            REQUIRE(broker.send(from, test::accepted(ids[i])));
        }
    }
    REQUIRE(poll_for(producer, Event::Kind::accepted, 9, events) == 9);
    REQUIRE(poll_for(producer, Event::Kind::error, 1, events) == 1);
    const auto refusal =
        std::find_if(events.begin(), events.end(), [](auto& e) { return e.kind == Event::Kind::error; });
    CHECK(refusal->id == ids[6]);
    CHECK(producer.awaiting_acceptance() == 0);
    CHECK(producer.awaiting_results() == 9);
}

TEST_CASE("without a Batch, or with submit_batch 1, every submit leaves at once as a SUBMIT", "[producer][batch]") {
    zmq::context_t context;
    FakeBroker broker(context);
    broker.splits_submits = false;
    auto options = options_for(broker.endpoint());
    const bool holds = GENERATE(false, true);
    if (holds) options.submit_batch = 1;
    Producer producer(context, options);
    {
        std::optional<Producer::Batch> batch;
        if (holds) batch.emplace(producer);
        for (int i = 0; i < 3; ++i) producer.submit_async("q", "p", false);
    }
    std::vector<Event> events;
    zmq::message_t from;
    const auto sent = receive_submits(broker, producer, 3, from, events);
    REQUIRE(sent.size() == 3);
    for (const auto& message : sent) CHECK_FALSE(message.is_batch);
}

TEST_CASE("jobs that cannot share a header leave in separate messages, in order", "[producer][batch]") {
    zmq::context_t context;
    FakeBroker broker(context);
    broker.splits_submits = false;
    Producer producer(context, options_for(broker.endpoint()));
    JobOptions keyed;
    keyed.unique_key = "nightly";
    JobOptions urgent;
    urgent.priority = 9;
    std::vector<std::string> ids;
    {
        Producer::Batch batch(producer);
        ids.push_back(producer.submit_async("a", "1", false));
        ids.push_back(producer.submit_async("a", "2", false));
        ids.push_back(producer.submit_async("b", "3", false));          // another queue
        ids.push_back(producer.submit_async("b", "4", false, keyed));   // a unique key: always a SUBMIT
        ids.push_back(producer.submit_async("b", "5", false, urgent));  // other options
        ids.push_back(producer.submit_async("b", "6", false, urgent));
        ids.push_back(producer.submit_async("b", "7", true, urgent));  // wants its result
    }
    std::vector<Event> events;
    zmq::message_t from;
    const auto sent = receive_submits(broker, producer, 5, from, events);
    REQUIRE(sent.size() == 5);
    CHECK(sent[0].is_batch);
    CHECK(sent[0].ids == std::vector<std::string>{ids[0], ids[1]});
    CHECK_FALSE(sent[1].is_batch);
    CHECK(sent[1].ids == std::vector<std::string>{ids[2]});
    CHECK_FALSE(sent[2].is_batch);
    CHECK(sent[2].shared.unique_key == "nightly");
    CHECK(sent[3].is_batch);
    CHECK(sent[3].ids == std::vector<std::string>{ids[4], ids[5]});
    CHECK(sent[3].shared.priority == 9);
    CHECK_FALSE(sent[4].is_batch);
    CHECK(sent[4].shared.wants_result);
}

TEST_CASE("a held batch leaves once it is full, and a poll sends a partial one", "[producer][batch]") {
    zmq::context_t context;
    FakeBroker broker(context);
    broker.splits_submits = false;
    auto options = options_for(broker.endpoint());
    options.submit_batch = 3;
    Producer producer(context, options);
    Producer::Batch batch(producer);
    for (int i = 0; i < 4; ++i) producer.submit_async("q", "p", false);
    // The first three filled a batch, which left at once; the fourth waits for a poll or the end.
    std::vector<Event> events;
    zmq::message_t from;
    auto received = broker.receive(5s);
    REQUIRE(received);
    const auto* first = std::get_if<protocol::Submits>(&received->message);
    REQUIRE(first != nullptr);
    CHECK(first->entries.size() == 3);
    CHECK_FALSE(broker.receive(100ms));
    const auto rest = receive_submits(broker, producer, 1, from, events);
    REQUIRE(rest.size() == 1);
    CHECK(rest[0].ids.size() == 1);
}

TEST_CASE("unanswered jobs of a SUBMITS are resent together, with the same ids", "[producer][batch]") {
    zmq::context_t context;
    FakeBroker broker(context);
    broker.splits_submits = false;
    auto options = options_for(broker.endpoint());
    options.resend_after = 100ms;
    Producer producer(context, options);
    const auto ids = submit_held(producer, "q", 5, false);
    std::vector<Event> events;
    zmq::message_t from;
    const auto first = receive_submits(broker, producer, 1, from, events);
    REQUIRE(first.size() == 1);
    CHECK(first[0].ids == ids);
    // Two of them answered: only the other three come again.
    REQUIRE(broker.send(from, test::accepted(ids[0])));
    REQUIRE(broker.send(from, test::accepted(ids[3])));
    const auto again = receive_submits(broker, producer, 1, from, events);
    REQUIRE(again.size() == 1);
    CHECK(again[0].is_batch);
    CHECK(again[0].ids == std::vector<std::string>{ids[1], ids[2], ids[4]});
    CHECK(producer.resubmissions() == 3);
}

TEST_CASE("a broker from before SUBMITS gets the jobs again as single SUBMITs, and only SUBMITs after",
          "[producer][batch]") {
    zmq::context_t context;
    FakeBroker broker(context);
    broker.splits_submits = false;
    Producer producer(context, options_for(broker.endpoint()));
    const auto ids = submit_held(producer, "q", 3, false);
    std::vector<Event> events;
    zmq::message_t from;
    const auto first = receive_submits(broker, producer, 1, from, events);
    REQUIRE(first.size() == 1);
    REQUIRE(first[0].is_batch);
    // What a broker of revision 3 answers to a command it does not know (protocol.md §15).
    REQUIRE(broker.send(from, test::error(protocol::ErrorCode::unknown_command, "", "", "unknown command 0x21")));
    const auto singles = receive_submits(broker, producer, 3, from, events);
    REQUIRE(singles.size() == 3);
    for (std::size_t i = 0; i < 3; ++i) {
        CHECK_FALSE(singles[i].is_batch);
        CHECK(singles[i].ids == std::vector<std::string>{ids[i]});
        CHECK(singles[i].payloads[0] == "p" + std::to_string(i));
    }
    CHECK(count_of(events, Event::Kind::error) == 0);  // nothing to report: no job was refused
    {
        Producer::Batch batch(producer);
        producer.submit_async("q", "x", false);
        producer.submit_async("q", "y", false);
    }
    const auto later = receive_submits(broker, producer, 2, from, events);
    REQUIRE(later.size() == 2);
    CHECK_FALSE(later[0].is_batch);
    CHECK_FALSE(later[1].is_batch);
}

TEST_CASE("SUBMITS go packed once an ACCEPTED says the broker reads them, and unpacked after it refuses them",
          "[producer][batch][packed]") {
    zmq::context_t context;
    FakeBroker broker(context);
    broker.splits_submits = false;
    auto options = options_for(broker.endpoint());
    options.submit_batch = 4;
    Producer producer(context, options);
    std::vector<Event> events;
    zmq::message_t from;
    const auto ids = submit_held(producer, "q", 4, true);
    auto first = receive_submits(broker, producer, 1, from, events);
    REQUIRE(first.size() == 1);
    CHECK(first[0].is_batch);
    CHECK_FALSE(first[0].is_packed);      // nothing said yet that the broker reads them
    CHECK(first[0].shared.reads_packed);  // but it asks to be told, and reads RESULTS packed
    for (std::size_t i = 0; i < ids.size(); ++i) {
        auto answer = test::accepted(ids[i]);
        answer.reads_packed = i == 0;  // one ACCEPTED saying so is enough
        REQUIRE(broker.send(from, std::move(answer)));
    }
    REQUIRE(poll_for(producer, Event::Kind::accepted, 4, events) == 4);
    const auto more = submit_held(producer, "q", 4, true);
    auto packed = receive_submits(broker, producer, 1, from, events);
    REQUIRE(packed.size() == 1);
    CHECK(packed[0].is_packed);
    CHECK(packed[0].ids == more);
    CHECK(packed[0].payloads == std::vector<std::string>{"p0", "p1", "p2", "p3"});
    // What a broker from before packing answers (protocol.md §3.1): the jobs go again, unpacked.
    REQUIRE(broker.send(from, test::error(protocol::ErrorCode::bad_frame_count, "", "", "SUBMITS")));
    auto again = receive_submits(broker, producer, 1, from, events);
    REQUIRE(again.size() == 1);
    CHECK(again[0].is_batch);
    CHECK_FALSE(again[0].is_packed);
    CHECK(again[0].ids == more);
    CHECK(count_of(events, Event::Kind::error) == 0);
}

TEST_CASE("submit_batch over the protocol's batch limit is refused when the producer is made", "[producer][batch]") {
    zmq::context_t context;
    auto options = options_for("tcp://127.0.0.1:1");
    options.submit_batch = protocol::kMaxBatchEntries + 1;
    CHECK_THROWS_WITH(Producer(context, options), Catch::Contains("submit_batch must be at most 1024"));
}

TEST_CASE("a job accepted while its resubmission waits in the outbox is resubmitted after the next restart",
          "[producer][batch]") {
    zmq::context_t context;
    FakeBroker broker(context);
    broker.splits_submits = false;
    Producer producer(context, options_for(broker.endpoint()));
    const auto ids = submit_held(producer, "q", 3, true);
    std::vector<Event> events;
    zmq::message_t from;
    REQUIRE(receive_submits(broker, producer, 1, from, events).size() == 1);
    const auto accepted_by = [&](const std::string& id, std::uint64_t instance) {
        auto message = test::accepted(id);
        message.broker_instance = instance;
        return message;
    };
    for (const auto& id : ids) REQUIRE(broker.send(from, accepted_by(id, 1)));
    REQUIRE(poll_for(producer, Event::Kind::accepted, 3, events) == 3);
    // A restarted broker (instance 2) accepts the first job: the producer queues all three for
    // resubmission on seeing the new instance, then takes the first one's ACCEPTED, in one message.
    REQUIRE(broker.send(from, accepted_by(ids[0], 2)));
    const auto after_first = receive_submits(broker, producer, 1, from, events);
    REQUIRE(after_first.size() == 1);
    CHECK(after_first[0].ids == std::vector<std::string>{ids[1], ids[2]});
    // Another restart: every awaited job goes again, the first one included.
    REQUIRE(broker.send(from, accepted_by(ids[1], 3)));
    const auto after_second = receive_submits(broker, producer, 1, from, events);
    REQUIRE(after_second.size() == 1);
    CHECK(after_second[0].ids == std::vector<std::string>{ids[0], ids[2]});
}
