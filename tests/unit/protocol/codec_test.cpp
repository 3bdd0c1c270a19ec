// Round trips through encode() and decode() for every message type (STYLE.md §22).
#include <catch2/catch.hpp>

#include <cstring>
#include <string>

#include "corsair/protocol/protocol.hpp"
#include "frame_builder.hpp"

namespace corsair::protocol {
namespace {

using test::text_of;

// Encodes `message`, checks the frame layout, decodes it and returns the typed message.
template <class T>
T round_trip(T message) {
    const Command command = kCommandOf<T>;
    Frames frames = encode(std::move(message));
    REQUIRE(frames.size() == (carries_payload(command) ? 4u : 3u));
    CHECK(text_of(frames[0]) == std::string("CSR\x01", 4));
    REQUIRE(frames[1].size() == 1);
    CHECK(*static_cast<const std::uint8_t*>(frames[1].data()) == static_cast<std::uint8_t>(command));
    auto decoded = decode(frames);
    if (!decoded) FAIL("decode failed: " << to_string(decoded.error().code) << " " << decoded.error().detail);
    REQUIRE(command_of(decoded.value()) == command);
    T* typed = std::get_if<T>(&decoded.value());
    REQUIRE(typed != nullptr);
    return std::move(*typed);
}

const std::string kBinary("\x00\x01\xff\x00\xc1\x80zero\x00", 11);

TEST_CASE("SUBMIT round trips with every field and its payload", "[protocol][codec]") {
    SECTION("text payload, wants_result true") {
        auto m = round_trip(Submit{"job-1", "emails", true, make_payload("hello")});
        CHECK(m.id == "job-1");
        CHECK(m.queue == "emails");
        CHECK(m.wants_result);
        CHECK(view_of(m.payload) == "hello");
    }
    SECTION("empty payload, wants_result false") {
        auto m = round_trip(Submit{"j", "q", false, zmq::message_t()});
        CHECK(m.id == "j");
        CHECK(m.queue == "q");
        CHECK_FALSE(m.wants_result);
        CHECK(m.payload.size() == 0);
    }
    SECTION("binary payload with NUL bytes") {
        auto m = round_trip(Submit{"j", "q", false, make_payload(kBinary)});
        CHECK(m.payload.size() == kBinary.size());
        CHECK(view_of(m.payload) == kBinary);
    }
    SECTION("ids and queue names at their byte limits, UTF-8 and NUL inside") {
        const std::string id(kMaxJobIdBytes, 'i');
        const std::string queue(kMaxQueueNameBytes, 'q');
        auto m = round_trip(Submit{id, queue, true, make_payload("x")});
        CHECK(m.id == id);
        CHECK(m.queue == queue);
        const std::string odd_id("\xc3\xa9t\xc3\xa9\x00z", 7);
        auto n = round_trip(Submit{odd_id, "q", true, make_payload("x")});
        CHECK(n.id == odd_id);
    }
    SECTION("a payload of exactly the default limit") {
        std::string big(kDefaultMaxPayloadBytes, '\0');
        for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 131) & 0xff);
        auto m = round_trip(Submit{"big", "q", false, make_payload(big)});
        REQUIRE(m.payload.size() == big.size());
        CHECK(std::memcmp(m.payload.data(), big.data(), big.size()) == 0);
    }
}

TEST_CASE("the payload frame is moved through encode and decode, not copied", "[protocol][codec]") {
    // Above ZeroMQ's very-small-message size, so the bytes live on the heap and keep their address.
    zmq::message_t payload(std::string(4096, 'p').data(), 4096);
    const void* bytes = payload.data();
    Frames frames = encode(Submit{"j", "q", false, std::move(payload)});
    REQUIRE(frames.size() == 4);
    CHECK(frames[3].data() == bytes);
    auto decoded = decode(frames);
    REQUIRE(decoded);
    CHECK(std::get<Submit>(decoded.value()).payload.data() == bytes);
}

TEST_CASE("ACCEPTED round trips", "[protocol][codec]") {
    auto fresh = round_trip(Accepted{"job-1", false});
    CHECK(fresh.id == "job-1");
    CHECK_FALSE(fresh.existed);
    auto again = round_trip(Accepted{"job-1", true});
    CHECK(again.existed);
}

TEST_CASE("RESULT round trips for done and failed jobs", "[protocol][codec]") {
    SECTION("done with a binary result") {
        auto m = round_trip(JobResult{"j1", JobState::done, 3, "", make_payload(kBinary)});
        CHECK(m.id == "j1");
        CHECK(m.state == JobState::done);
        CHECK(m.attempt == 3);
        CHECK(m.error.empty());
        CHECK(view_of(m.payload) == kBinary);
    }
    SECTION("failed with an error text and no result") {
        auto m = round_trip(JobResult{"j1", JobState::failed, 1, "division by zero", zmq::message_t()});
        CHECK(m.state == JobState::failed);
        CHECK(m.attempt == 1);
        CHECK(m.error == "division by zero");
        CHECK(m.payload.size() == 0);
    }
    SECTION("attempt 0 and the largest attempt are allowed") {
        CHECK(round_trip(JobResult{"j1", JobState::failed, 0, "never ran", zmq::message_t()}).attempt == 0);
        CHECK(round_trip(JobResult{"j1", JobState::done, UINT32_MAX, "", zmq::message_t()}).attempt == UINT32_MAX);
    }
    SECTION("an error text at its byte limit") {
        const std::string error(kMaxErrorTextBytes, 'e');
        CHECK(round_trip(JobResult{"j1", JobState::failed, 1, error, zmq::message_t()}).error == error);
    }
}

TEST_CASE("STATUS round trips", "[protocol][codec]") { CHECK(round_trip(StatusRequest{"abc"}).id == "abc"); }

TEST_CASE("STATUS_REPLY round trips in every job state", "[protocol][codec]") {
    SECTION("pending, never dispatched") {
        auto m = round_trip(StatusReply{"j1", "q", JobState::pending, 0, "", "", zmq::message_t()});
        CHECK(m.id == "j1");
        CHECK(m.queue == "q");
        CHECK(m.state == JobState::pending);
        CHECK(m.attempt == 0);
        CHECK(m.worker.empty());
        CHECK(m.error.empty());
        CHECK(m.payload.size() == 0);
    }
    SECTION("running on a worker") {
        auto m = round_trip(StatusReply{"j1", "q", JobState::running, 2, "host:42", "", zmq::message_t()});
        CHECK(m.state == JobState::running);
        CHECK(m.attempt == 2);
        CHECK(m.worker == "host:42");
    }
    SECTION("done with its result") {
        auto m = round_trip(StatusReply{"j1", "q", JobState::done, 1, "", "", make_payload(kBinary)});
        CHECK(m.state == JobState::done);
        CHECK(view_of(m.payload) == kBinary);
    }
    SECTION("failed with its error") {
        auto m = round_trip(StatusReply{"j1", "q", JobState::failed, 5, "", "timeout", zmq::message_t()});
        CHECK(m.state == JobState::failed);
        CHECK(m.attempt == 5);
        CHECK(m.error == "timeout");
    }
}

TEST_CASE("STATS round trips", "[protocol][codec]") {
    round_trip(StatsRequest{});
    Frames frames = encode(StatsRequest{});
    CHECK(text_of(frames[2]) == test::octets({0x80}));
}

TEST_CASE("STATS_REPLY round trips with several queues, workers and counters", "[protocol][codec]") {
    SECTION("empty") {
        auto m = round_trip(StatsReply{});
        CHECK(m.queues.empty());
        CHECK(m.workers.empty());
        CHECK(m.counters.empty());
    }
    SECTION("populated") {
        StatsReply reply;
        reply.queues = {{"emails", 10, 2, 300, 4}, {"images", 0, 0, 0, 0}, {"big", UINT64_MAX, 1, 2, 3}};
        reply.workers = {{"host-a:1", {"emails", "images"}, 8, 2, 15, false, 120, 3},
                         {"host-b:2", {"big"}, 1, 1, 1234567, true, 0, UINT64_MAX},
                         {"", {}, 0, 0, 0, false}};
        reply.counters = {{"submitted", 1000}, {"requeued", 7}, {"stale_completions", 0}, {"huge", UINT64_MAX}};
        auto m = round_trip(std::move(reply));
        REQUIRE(m.queues.size() == 3);
        CHECK(m.queues[0].name == "emails");
        CHECK(m.queues[0].pending == 10);
        CHECK(m.queues[0].in_flight == 2);
        CHECK(m.queues[0].done == 300);
        CHECK(m.queues[0].failed == 4);
        CHECK(m.queues[1].name == "images");
        CHECK(m.queues[1].pending == 0);
        CHECK(m.queues[2].pending == UINT64_MAX);
        CHECK(m.queues[2].in_flight == 1);
        CHECK(m.queues[2].done == 2);
        CHECK(m.queues[2].failed == 3);
        REQUIRE(m.workers.size() == 3);
        CHECK(m.workers[0].name == "host-a:1");
        CHECK(m.workers[0].queues == std::vector<std::string>{"emails", "images"});
        CHECK(m.workers[0].capacity == 8);
        CHECK(m.workers[0].in_flight == 2);
        CHECK(m.workers[0].last_heartbeat_ms == 15);
        CHECK_FALSE(m.workers[0].is_draining);
        CHECK(m.workers[0].done == 120);
        CHECK(m.workers[0].failed == 3);
        CHECK(m.workers[1].name == "host-b:2");
        CHECK(m.workers[1].queues == std::vector<std::string>{"big"});
        CHECK(m.workers[1].capacity == 1);
        CHECK(m.workers[1].in_flight == 1);
        CHECK(m.workers[1].last_heartbeat_ms == 1234567);
        CHECK(m.workers[1].is_draining);
        CHECK(m.workers[1].failed == UINT64_MAX);
        CHECK(m.workers[2].name.empty());
        CHECK(m.workers[2].queues.empty());
        CHECK(m.counters == std::map<std::string, std::uint64_t>{
                                {"submitted", 1000}, {"requeued", 7}, {"stale_completions", 0}, {"huge", UINT64_MAX}});
    }
}

TEST_CASE("ERROR round trips every error code", "[protocol][codec]") {
    for (int i = 0; i <= static_cast<int>(ErrorCode::internal); ++i) {
        const auto code = static_cast<ErrorCode>(i);
        INFO(to_string(code));
        auto m = round_trip(Error{code, "why it was refused", "j7"});
        CHECK(m.code == code);
        CHECK(m.message == "why it was refused");
        CHECK(m.id == "j7");
    }
    SECTION("without a job id") {
        auto m = round_trip(Error{ErrorCode::unknown_worker, "", ""});
        CHECK(m.code == ErrorCode::unknown_worker);
        CHECK(m.message.empty());
        CHECK(m.id.empty());
    }
}

TEST_CASE("READY round trips", "[protocol][codec]") {
    SECTION("one queue") {
        auto m = round_trip(Ready{{"q"}, 1, "host:99"});
        CHECK(m.queues == std::vector<std::string>{"q"});
        CHECK(m.capacity == 1);
        CHECK(m.name == "host:99");
    }
    SECTION("the most queues and the largest capacity") {
        std::vector<std::string> queues;
        for (std::size_t i = 0; i < kMaxQueuesPerWorker; ++i) queues.push_back("queue-" + std::to_string(i));
        auto m = round_trip(Ready{queues, kMaxCapacity, ""});
        CHECK(m.queues == queues);
        CHECK(m.capacity == kMaxCapacity);
        CHECK(m.name.empty());
    }
}

TEST_CASE("JOB round trips", "[protocol][codec]") {
    auto m = round_trip(Job{"j1", "emails", 4, make_payload(kBinary)});
    CHECK(m.id == "j1");
    CHECK(m.queue == "emails");
    CHECK(m.attempt == 4);
    CHECK(view_of(m.payload) == kBinary);
    auto empty = round_trip(Job{"j2", "q", 1, zmq::message_t()});
    CHECK(empty.attempt == 1);
    CHECK(empty.payload.size() == 0);
}

TEST_CASE("DONE round trips", "[protocol][codec]") {
    auto m = round_trip(Done{"j1", 2, make_payload(kBinary)});
    CHECK(m.id == "j1");
    CHECK(m.attempt == 2);
    CHECK(view_of(m.payload) == kBinary);
    auto empty = round_trip(Done{"j1", UINT32_MAX, zmq::message_t()});
    CHECK(empty.attempt == UINT32_MAX);
    CHECK(empty.payload.size() == 0);
}

TEST_CASE("FAIL round trips", "[protocol][codec]") {
    auto m = round_trip(Fail{"j1", 3, "handler threw: bad input"});
    CHECK(m.id == "j1");
    CHECK(m.attempt == 3);
    CHECK(m.error == "handler threw: bad input");
    CHECK(round_trip(Fail{"j1", 1, ""}).error.empty());
}

TEST_CASE("HEARTBEAT round trips with and without the broker's settings", "[protocol][codec]") {
    SECTION("both present (broker to worker)") {
        auto m = round_trip(Heartbeat{1000u, 3u});
        REQUIRE(m.interval_ms.has_value());
        REQUIRE(m.liveness.has_value());
        CHECK(*m.interval_ms == 1000);
        CHECK(*m.liveness == 3);
    }
    SECTION("both absent (worker to broker): the header is an empty map") {
        Frames frames = encode(Heartbeat{});
        CHECK(text_of(frames[2]) == test::octets({0x80}));
        auto m = round_trip(Heartbeat{});
        CHECK_FALSE(m.interval_ms.has_value());
        CHECK_FALSE(m.liveness.has_value());
    }
    SECTION("only one present") {
        auto interval_only = round_trip(Heartbeat{250u, std::nullopt});
        CHECK(interval_only.interval_ms == 250u);
        CHECK_FALSE(interval_only.liveness.has_value());
        auto liveness_only = round_trip(Heartbeat{std::nullopt, 5u});
        CHECK_FALSE(liveness_only.interval_ms.has_value());
        CHECK(liveness_only.liveness == 5u);
    }
    SECTION("the limits of the allowed range") {
        auto low = round_trip(Heartbeat{static_cast<std::uint32_t>(kMinHeartbeatInterval.count()), 1u});
        CHECK(*low.interval_ms == kMinHeartbeatInterval.count());
        CHECK(*low.liveness == 1);
        auto high = round_trip(Heartbeat{static_cast<std::uint32_t>(kMaxHeartbeatInterval.count()), 100u});
        CHECK(*high.interval_ms == kMaxHeartbeatInterval.count());
        CHECK(*high.liveness == 100);
    }
}

TEST_CASE("DRAIN round trips", "[protocol][codec]") {
    round_trip(Drain{});
    CHECK(text_of(encode(Drain{})[2]) == test::octets({0x80}));
}

TEST_CASE("DISCONNECT round trips", "[protocol][codec]") {
    CHECK(round_trip(Disconnect{"broker shutting down"}).reason == "broker shutting down");
    CHECK(round_trip(Disconnect{}).reason.empty());
}

TEST_CASE("a Message variant encodes like the message it holds", "[protocol][codec]") {
    Frames frames;
    encode_into(Message(Job{"j1", "q", 1, make_payload("x")}), frames);
    encode_into(Message(Heartbeat{}), frames);
    REQUIRE(frames.size() == 7);
    CHECK(*static_cast<const std::uint8_t*>(frames[1].data()) == 0x11);
    CHECK(text_of(frames[3]) == "x");
    CHECK(*static_cast<const std::uint8_t*>(frames[5].data()) == 0x14);
    CHECK(command_of(Message(Drain{})) == Command::drain);
}

TEST_CASE("a SUBMIT and a READY are encoded to the exact bytes in docs/protocol.md", "[protocol][codec]") {
    Frames frames = encode(Submit{"j1", "q", true, make_payload("hi")});
    REQUIRE(frames.size() == 4);
    CHECK(text_of(frames[0]) == test::octets({0x43, 0x53, 0x52, 0x01}));
    CHECK(text_of(frames[1]) == test::octets({0x01}));
    CHECK(text_of(frames[2]) == test::octets({0x83, 0xa2, 0x69, 0x64, 0xa2, 0x6a, 0x31, 0xa5, 0x71, 0x75,
                                              0x65, 0x75, 0x65, 0xa1, 0x71, 0xac, 0x77, 0x61, 0x6e, 0x74,
                                              0x73, 0x5f, 0x72, 0x65, 0x73, 0x75, 0x6c, 0x74, 0xc3}));
    CHECK(text_of(frames[3]) == "hi");

    Frames ready = encode(Ready{{"q"}, 4, "w1"});
    REQUIRE(ready.size() == 3);
    CHECK(text_of(ready[0]) == test::octets({0x43, 0x53, 0x52, 0x01}));
    CHECK(text_of(ready[1]) == test::octets({0x10}));
    CHECK(text_of(ready[2]) == test::octets({0x83, 0xa6, 0x71, 0x75, 0x65, 0x75, 0x65, 0x73, 0x91, 0xa1,
                                             0x71, 0xa8, 0x63, 0x61, 0x70, 0x61, 0x63, 0x69, 0x74, 0x79,
                                             0x04, 0xa4, 0x6e, 0x61, 0x6d, 0x65, 0xa2, 0x77, 0x31}));
}

TEST_CASE("headers written by other encoders decode the same", "[protocol][codec]") {
    using namespace test;
    SECTION("integers in signed or wider encodings are accepted when their value fits") {
        // Some msgpack libraries write small numbers as int8/int64; the value is what counts.
        Frames frames = message_with_header(
            Command::ready, map_of({strings("queues", {"q"}), raw("capacity", [](Packer& p) { p.pack_int8(5); }),
                                    str("name", "w")}));
        auto decoded = decode(frames);
        REQUIRE(decoded);
        CHECK(std::get<Ready>(decoded.value()).capacity == 5);
        Frames wide = message_with_header(
            Command::job, map_of({str("id", "j"), str("queue", "q"), raw("attempt", [](Packer& p) {
                                      p.pack_fix_uint64(7);
                                  })}));
        auto wide_decoded = decode(wide);
        REQUIRE(wide_decoded);
        CHECK(std::get<Job>(wide_decoded.value()).attempt == 7);
    }
    SECTION("unknown keys, even nested ones, are ignored") {
        Frames frames = message_with_fields(
            Command::submit, {str("id", "j"), str("queue", "q"), uint("priority", 9), nil("trace"),
                              raw("future", [](Packer& p) {
                                  p.pack_map(1);
                                  p.pack(1);
                                  p.pack_array(2);
                                  p.pack(1.5);
                                  p.pack_bin(0);
                              })});
        auto decoded = decode(frames);
        REQUIRE(decoded);
        CHECK(std::get<Submit>(decoded.value()).id == "j");
    }
    SECTION("keys in any order; optional fields take their defaults when absent") {
        Frames frames = message_with_fields(Command::submit, {str("queue", "q"), str("id", "j")});
        auto decoded = decode(frames);
        REQUIRE(decoded);
        const auto& submit = std::get<Submit>(decoded.value());
        CHECK(submit.id == "j");
        CHECK(submit.queue == "q");
        CHECK_FALSE(submit.wants_result);

        Frames result = message_with_fields(Command::result, {str("id", "j"), str("state", "failed"), uint("attempt", 1)});
        auto result_decoded = decode(result);
        REQUIRE(result_decoded);
        CHECK(std::get<JobResult>(result_decoded.value()).error.empty());
    }
    SECTION("a non-string key is skipped, not an error") {
        Frames frames = message_with_header(Command::status, msgpack_bytes([](Packer& p) {
                                                p.pack_map(2);
                                                p.pack(1);
                                                p.pack(2);
                                                detail::pack_string(p, "id");
                                                detail::pack_string(p, "j");
                                            }));
        auto decoded = decode(frames);
        REQUIRE(decoded);
        CHECK(std::get<StatusRequest>(decoded.value()).id == "j");
    }
    SECTION("an ERROR with a code this version does not know decodes as internal") {
        Frames frames = message_with_fields(Command::error, {str("code", "rate_limited"), str("message", "slow down")});
        auto decoded = decode(frames);
        REQUIRE(decoded);
        CHECK(std::get<Error>(decoded.value()).code == ErrorCode::internal);
        CHECK(std::get<Error>(decoded.value()).message == "slow down");
    }
}

// The queue and worker lists travel in the body frame, so a broker with thousands of workers
// (long names, many queues each) still sends a STATS_REPLY every client can decode.
TEST_CASE("a STATS_REPLY with thousands of queues and workers round trips", "[protocol][codec]") {
    StatsReply reply;
    for (int i = 0; i < 5000; ++i) reply.queues.push_back({"q" + std::to_string(i), 1, 0, 0, 0});
    std::vector<std::string> served;
    for (int i = 0; i < 8; ++i) served.push_back(std::string(100, 'a' + i));
    for (int i = 0; i < 3000; ++i) {
        reply.workers.push_back({std::string(200, 'w') + std::to_string(i), served, 16, 3, 42, false, 7, 1});
    }
    Frames frames = encode(std::move(reply));
    CHECK(frames[2].size() < kMaxHeaderBytes);
    REQUIRE(frames.size() == 4);
    CHECK(frames[3].size() > kMaxHeaderBytes);
    auto decoded = decode(frames);
    REQUIRE(decoded);
    const auto& m = std::get<StatsReply>(decoded.value());
    CHECK(m.queues.size() == 5000);
    REQUIRE(m.workers.size() == 3000);
    CHECK(m.workers[2999].queues == served);
    CHECK(m.workers[2999].done == 7);
    CHECK(m.workers[2999].failed == 1);
}

TEST_CASE("a STATS_REPLY body claiming more entries than it has bytes is rejected", "[protocol][codec]") {
    Frames frames = test::message_with_header(Command::stats_reply, test::octets({0x80}),
                                              test::octets({0x82, 0xa6, 'q', 'u', 'e', 'u', 'e', 's', 0xdd, 0x00,
                                                            0x0f, 0x42, 0x40}));
    auto decoded = decode(frames);
    REQUIRE_FALSE(decoded);
    CHECK(decoded.error().code == ErrorCode::bad_header);
}

}  // namespace
}  // namespace corsair::protocol
