// Round trips through encode() and decode() for every message type (STYLE.md §22).
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "corsair/protocol/protocol.hpp"
#include "frame_builder.hpp"

namespace corsair::protocol {
namespace {

using test::error_of;
using test::status_reply_of;
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

// The keys of a header frame, in the order the encoder wrote them.
std::vector<std::string> header_keys(const zmq::message_t& header) {
    msgpack::object_handle handle = msgpack::unpack(static_cast<const char*>(header.data()), header.size());
    const msgpack::object& map = handle.get();
    REQUIRE(map.type == msgpack::type::MAP);
    std::vector<std::string> keys;
    for (std::uint32_t i = 0; i < map.via.map.size; ++i) keys.push_back(map.via.map.ptr[i].key.as<std::string>());
    return keys;
}

using Keys = std::vector<std::string>;

TEST_CASE("SUBMIT round trips with every field and its payload", "[protocol][codec]") {
    SECTION("text payload, wants_result true") {
        auto m = round_trip(make_submit("job-1", "emails", true, make_payload("hello")));
        CHECK(m.id == "job-1");
        CHECK(m.queue == "emails");
        CHECK(m.wants_result);
        CHECK(view_of(m.payload) == "hello");
    }
    SECTION("empty payload, wants_result false") {
        auto m = round_trip(make_submit("j", "q", false, zmq::message_t()));
        CHECK(m.id == "j");
        CHECK(m.queue == "q");
        CHECK_FALSE(m.wants_result);
        CHECK(m.payload.size() == 0);
    }
    SECTION("binary payload with NUL bytes") {
        auto m = round_trip(make_submit("j", "q", false, make_payload(kBinary)));
        CHECK(m.payload.size() == kBinary.size());
        CHECK(view_of(m.payload) == kBinary);
    }
    SECTION("ids and queue names at their byte limits, UTF-8 and NUL inside") {
        const std::string id(kMaxJobIdBytes, 'i');
        const std::string queue(kMaxQueueNameBytes, 'q');
        auto m = round_trip(make_submit(id, queue, true, make_payload("x")));
        CHECK(m.id == id);
        CHECK(m.queue == queue);
        const std::string odd_id("\xc3\xa9t\xc3\xa9\x00z", 7);
        auto n = round_trip(make_submit(odd_id, "q", true, make_payload("x")));
        CHECK(n.id == odd_id);
    }
    SECTION("a payload of exactly the default limit") {
        std::string big(kDefaultMaxPayloadBytes, '\0');
        for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 131) & 0xff);
        auto m = round_trip(make_submit("big", "q", false, make_payload(big)));
        REQUIRE(m.payload.size() == big.size());
        CHECK(std::memcmp(m.payload.data(), big.data(), big.size()) == 0);
    }
    SECTION("every optional field set") {
        Submit submit = make_submit("j", "q", true, make_payload("x"));
        submit.priority = kMaxPriority;
        submit.retry.max_attempts = kMaxAttemptsLimit;
        submit.retry.backoff_ms = 1;
        submit.retry.backoff_max_ms = kMaxBackoffMs;
        submit.retry.backoff_jitter_pct = 100;
        submit.timeout_ms = kMaxTimeoutMs;
        submit.delay_ms = kMaxDelayMs;
        submit.unique_key = std::string(kMaxUniqueKeyBytes, 'k');
        submit.accept_within_ms = kMaxAcceptWithinMs;
        auto m = round_trip(std::move(submit));
        CHECK(m.id == "j");
        CHECK(m.wants_result);
        CHECK(view_of(m.payload) == "x");
        CHECK(m.priority == kMaxPriority);
        CHECK(m.retry.max_attempts == kMaxAttemptsLimit);
        CHECK(m.retry.backoff_ms == std::uint64_t{1});
        CHECK(m.retry.backoff_max_ms == kMaxBackoffMs);
        CHECK(m.retry.backoff_jitter_pct == 100u);
        CHECK(m.timeout_ms == kMaxTimeoutMs);
        CHECK(m.delay_ms == kMaxDelayMs);
        CHECK_FALSE(m.run_at_ms.has_value());
        CHECK(m.unique_key == std::string(kMaxUniqueKeyBytes, 'k'));
        CHECK(m.accept_within_ms == kMaxAcceptWithinMs);
    }
    SECTION("the low ends: negative priority, no timeout, no jitter, one attempt") {
        Submit submit = make_submit("j", "q", false, zmq::message_t());
        submit.priority = kMinPriority;
        submit.retry.max_attempts = 1;
        submit.retry.backoff_jitter_pct = 0;
        submit.timeout_ms = 0;
        Frames frames = encode(std::move(submit));
        // Zero-valued optionals that were set are still written: 0 is not "absent".
        CHECK(header_keys(frames[2]) ==
              Keys{"id", "queue", "wants_result", "priority", "max_attempts", "backoff_jitter_pct", "timeout_ms"});
        auto decoded = decode(frames);
        REQUIRE(decoded);
        const auto& m = std::get<Submit>(decoded.value());
        CHECK(m.priority == kMinPriority);
        CHECK(m.retry.max_attempts == 1u);
        CHECK(m.retry.backoff_jitter_pct == 0u);
        CHECK_FALSE(m.retry.backoff_ms.has_value());
        CHECK_FALSE(m.retry.backoff_max_ms.has_value());
        CHECK(m.timeout_ms == std::uint64_t{0});
    }
    SECTION("run_at_ms instead of a delay") {
        Submit submit = make_submit("j", "q", false, zmq::message_t());
        submit.run_at_ms = 1'900'000'000'000;
        auto m = round_trip(std::move(submit));
        CHECK(m.run_at_ms == std::uint64_t{1'900'000'000'000});
        CHECK(m.delay_ms == 0);
    }
    SECTION("without any optional field the header holds only id, queue and wants_result") {
        Frames frames = encode(make_submit("j1", "q", true, make_payload("hi")));
        CHECK(header_keys(frames[2]) == Keys{"id", "queue", "wants_result"});
        // The same 29 bytes as before the lifecycle fields existed (docs/protocol.md §17).
        CHECK(text_of(frames[2]) == test::octets({0x83, 0xa2, 0x69, 0x64, 0xa2, 0x6a, 0x31, 0xa5, 0x71, 0x75,
                                                  0x65, 0x75, 0x65, 0xa1, 0x71, 0xac, 0x77, 0x61, 0x6e, 0x74,
                                                  0x73, 0x5f, 0x72, 0x65, 0x73, 0x75, 0x6c, 0x74, 0xc3}));
        auto decoded = decode(frames);
        REQUIRE(decoded);
        const auto& m = std::get<Submit>(decoded.value());
        CHECK(m.priority == 0);
        CHECK_FALSE(m.retry.max_attempts.has_value());
        CHECK_FALSE(m.retry.backoff_ms.has_value());
        CHECK_FALSE(m.retry.backoff_max_ms.has_value());
        CHECK_FALSE(m.retry.backoff_jitter_pct.has_value());
        CHECK_FALSE(m.timeout_ms.has_value());
        CHECK(m.delay_ms == 0);
        CHECK_FALSE(m.run_at_ms.has_value());
        CHECK(m.unique_key.empty());
        CHECK(m.accept_within_ms == 0);
    }
}

TEST_CASE("the payload frame is moved through encode and decode, not copied", "[protocol][codec]") {
    // Above ZeroMQ's very-small-message size, so the bytes live on the heap and keep their address.
    zmq::message_t payload(std::string(4096, 'p').data(), 4096);
    const void* bytes = payload.data();
    Frames frames = encode(make_submit("j", "q", false, std::move(payload)));
    REQUIRE(frames.size() == 4);
    CHECK(frames[3].data() == bytes);
    auto decoded = decode(frames);
    REQUIRE(decoded);
    CHECK(std::get<Submit>(decoded.value()).payload.data() == bytes);
}

TEST_CASE("ACCEPTED round trips with the job it stands for", "[protocol][codec]") {
    SECTION("a new job: job_id is the id") {
        auto m = round_trip(Accepted{"job-1", false, "job-1"});
        CHECK(m.id == "job-1");
        CHECK_FALSE(m.existed);
        CHECK(m.job_id == "job-1");
    }
    SECTION("a unique key matched another job") {
        auto m = round_trip(Accepted{"job-2", true, "job-1"});
        CHECK(m.id == "job-2");
        CHECK(m.existed);
        CHECK(m.job_id == "job-1");
    }
    SECTION("an empty job_id is written as the id") {
        Frames frames = encode(Accepted{"job-1", true, ""});
        CHECK(header_keys(frames[2]) == Keys{"id", "existed", "job_id"});
        auto decoded = decode(frames);
        REQUIRE(decoded);
        CHECK(std::get<Accepted>(decoded.value()).job_id == "job-1");
    }
    SECTION("a header without job_id (an older broker) decodes with job_id = id") {
        Frames frames =
            test::message_with_fields(Command::accepted, {test::str("id", "j9"), test::boolean("existed", true)});
        auto decoded = decode(frames);
        REQUIRE(decoded);
        const auto& m = std::get<Accepted>(decoded.value());
        CHECK(m.existed);
        CHECK(m.job_id == "j9");
    }
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
    }    SECTION("cancelled, with why and no result") {
        auto m = round_trip(JobResult{"j1", JobState::cancelled, 2, "cancelled by a producer", zmq::message_t()});
        CHECK(m.state == JobState::cancelled);
        CHECK(m.attempt == 2);
        CHECK(m.error == "cancelled by a producer");
        CHECK(m.payload.size() == 0);
    }
    SECTION("cancelled before it ever ran") {
        auto m = round_trip(JobResult{"j1", JobState::cancelled, 0, "", zmq::message_t()});
        CHECK(m.state == JobState::cancelled);
        CHECK(m.attempt == 0);
    }
}

TEST_CASE("STATUS round trips", "[protocol][codec]") { CHECK(round_trip(StatusRequest{"abc"}).id == "abc"); }

TEST_CASE("STATUS_REPLY round trips in every job state", "[protocol][codec]") {
    SECTION("pending, never dispatched") {
        auto m = round_trip(status_reply_of("j1", "q", JobState::pending, 0, "", "", zmq::message_t()));
        CHECK(m.id == "j1");
        CHECK(m.queue == "q");
        CHECK(m.state == JobState::pending);
        CHECK(m.attempt == 0);
        CHECK(m.worker.empty());
        CHECK(m.error.empty());
        CHECK(m.payload.size() == 0);
    }
    SECTION("running on a worker") {
        auto m = round_trip(status_reply_of("j1", "q", JobState::running, 2, "host:42", "", zmq::message_t()));
        CHECK(m.state == JobState::running);
        CHECK(m.attempt == 2);
        CHECK(m.worker == "host:42");
    }
    SECTION("done with its result") {
        auto m = round_trip(status_reply_of("j1", "q", JobState::done, 1, "", "", make_payload(kBinary)));
        CHECK(m.state == JobState::done);
        CHECK(view_of(m.payload) == kBinary);
    }
    SECTION("failed with its error") {
        auto m = round_trip(status_reply_of("j1", "q", JobState::failed, 5, "", "timeout", zmq::message_t()));
        CHECK(m.state == JobState::failed);
        CHECK(m.attempt == 5);
        CHECK(m.error == "timeout");
    }    SECTION("the lifecycle fields keep their defaults when not set") {
        auto m = round_trip(status_reply_of("j1", "q", JobState::pending, 0, "", "", zmq::message_t()));
        CHECK(m.priority == 0);
        CHECK(m.max_attempts == 0);
        CHECK_FALSE(m.progress.has_value());
        CHECK(m.progress_message.empty());
        CHECK(m.ready_in_ms == 0);
        CHECK(m.errors.empty());
    }
    SECTION("running, with progress, priority and an error history") {
        StatusReply reply = status_reply_of("j1", "q", JobState::running, 3, "host:42", "exit 2", zmq::message_t());
        reply.priority = kMinPriority;
        reply.max_attempts = kMaxAttemptsLimit;
        reply.progress = 100;
        reply.progress_message = std::string(kMaxProgressMessageBytes, 'm');
        reply.errors = {{1, "exit 1"}, {2, std::string(kMaxHistoryErrorBytes, 'e')}};
        Frames frames = encode(std::move(reply));
        CHECK(header_keys(frames[2]) == Keys{"id", "queue", "state", "attempt", "worker", "error", "priority",
                                             "max_attempts", "progress", "progress_message", "ready_in_ms", "errors"});
        auto decoded = decode(frames);
        REQUIRE(decoded);
        const auto& m = std::get<StatusReply>(decoded.value());
        CHECK(m.attempt == 3);
        CHECK(m.priority == kMinPriority);
        CHECK(m.max_attempts == kMaxAttemptsLimit);
        CHECK(m.progress == 100u);
        CHECK(m.progress_message == std::string(kMaxProgressMessageBytes, 'm'));
        REQUIRE(m.errors.size() == 2);
        CHECK(m.errors[0].attempt == 1);
        CHECK(m.errors[0].error == "exit 1");
        CHECK(m.errors[1].attempt == 2);
        CHECK(m.errors[1].error == std::string(kMaxHistoryErrorBytes, 'e'));
    }
    SECTION("held ready: written only when true") {
        StatusReply reply = status_reply_of("j1", "q", JobState::running, 1, "w", "", zmq::message_t());
        CHECK_FALSE(round_trip(status_reply_of("j1", "q", JobState::running, 1, "w", "", zmq::message_t())).is_held_ready);
        reply.is_held_ready = true;
        Frames frames = encode(std::move(reply));
        const auto keys = header_keys(frames[2]);
        CHECK(std::find(keys.begin(), keys.end(), "held_ready") != keys.end());
        auto decoded = decode(frames);
        REQUIRE(decoded);
        CHECK(std::get<StatusReply>(decoded.value()).is_held_ready);
    }
    SECTION("progress 0 is present, not absent") {
        StatusReply reply = status_reply_of("j1", "q", JobState::running, 1, "w", "", zmq::message_t());
        reply.progress = 0;
        auto m = round_trip(std::move(reply));
        CHECK(m.progress == 0u);
        CHECK(m.progress_message.empty());
    }
    SECTION("delayed, with the time until it is ready") {
        StatusReply reply = status_reply_of("j1", "q", JobState::delayed, 1, "", "boom", zmq::message_t());
        reply.ready_in_ms = 1500;
        reply.priority = 7;
        reply.max_attempts = 3;
        reply.errors = {{1, "boom"}};
        auto m = round_trip(std::move(reply));
        CHECK(m.state == JobState::delayed);
        CHECK(m.ready_in_ms == 1500);
        CHECK(m.priority == 7);
        CHECK(m.max_attempts == 3);
        REQUIRE(m.errors.size() == 1);
        CHECK(m.errors[0].error == "boom");
    }
    SECTION("counted_attempts is written only when leases were given back uncounted") {
        StatusReply same = status_reply_of("j1", "q", JobState::pending, 2, "", "", zmq::message_t());
        same.counted_attempts = 2;
        CHECK_FALSE(round_trip(std::move(same)).counted_attempts.has_value());
        StatusReply fewer = status_reply_of("j1", "q", JobState::pending, 2, "", "", zmq::message_t());
        fewer.counted_attempts = 1;
        Frames frames = encode(std::move(fewer));
        CHECK(header_keys(frames[2]) == Keys{"id", "queue", "state", "attempt", "counted_attempts", "worker", "error",
                                             "priority", "max_attempts", "ready_in_ms", "errors"});
        auto decoded = decode(frames);
        REQUIRE(decoded);
        CHECK(std::get<StatusReply>(decoded.value()).counted_attempts == 1u);
    }
    SECTION("cancelled") {
        CHECK(round_trip(status_reply_of("j1", "q", JobState::cancelled, 0, "", "", zmq::message_t())).state ==
              JobState::cancelled);
    }
    SECTION("a history of the most attempts") {
        StatusReply reply = status_reply_of("j1", "q", JobState::failed, kMaxAttemptsLimit, "", "e", zmq::message_t());
        for (std::uint32_t i = 1; i <= kMaxAttemptsLimit; ++i) reply.errors.push_back({i, "e"});
        auto m = round_trip(std::move(reply));
        CHECK(m.errors.size() == kMaxAttemptsLimit);
        CHECK(m.errors.back().attempt == kMaxAttemptsLimit);
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
        reply.workers = {{"host-a:1", {"emails", "images"}, 8, 2, 15, false, 120, 3, "", "", kMaxPrefetch, 5},
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
        CHECK(m.queues[2].delayed == 0);
        CHECK(m.queues[2].dead == 0);
        CHECK_FALSE(m.queues[2].is_paused);
        REQUIRE(m.workers.size() == 3);
        CHECK(m.workers[0].name == "host-a:1");
        CHECK(m.workers[0].queues == std::vector<std::string>{"emails", "images"});
        CHECK(m.workers[0].capacity == 8);
        CHECK(m.workers[0].in_flight == 2);
        CHECK(m.workers[0].last_heartbeat_ms == 15);
        CHECK_FALSE(m.workers[0].is_draining);
        CHECK(m.workers[0].done == 120);
        CHECK(m.workers[0].failed == 3);
        CHECK(m.workers[0].prefetch == kMaxPrefetch);
        CHECK(m.workers[0].ready_depth == 5);
        CHECK(m.workers[1].name == "host-b:2");
        CHECK(m.workers[1].prefetch == 0);  // absent when 0
        CHECK(m.workers[1].ready_depth == 0);
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

TEST_CASE("STATS_REPLY round trips a queue's delayed and dead counts and its pause", "[protocol][codec]") {
    StatsReply reply;
    reply.queues = {{"emails", 1, 2, 3, 4, 5, 6, true}, {"images", 0, 0, 0, 0, UINT64_MAX, 0, false}};
    auto m = round_trip(std::move(reply));
    REQUIRE(m.queues.size() == 2);
    CHECK(m.queues[0].pending == 1);
    CHECK(m.queues[0].failed == 4);
    CHECK(m.queues[0].delayed == 5);
    CHECK(m.queues[0].dead == 6);
    CHECK(m.queues[0].is_paused);
    CHECK(m.queues[1].delayed == UINT64_MAX);
    CHECK(m.queues[1].dead == 0);
    CHECK_FALSE(m.queues[1].is_paused);
}

TEST_CASE("STATS_REPLY round trips the broker's payload limit, absent from older brokers", "[protocol][codec]") {
    StatsReply reply;
    reply.max_payload_bytes = 1000;
    CHECK(round_trip(std::move(reply)).max_payload_bytes == 1000u);
    CHECK_FALSE(round_trip(StatsReply{}).max_payload_bytes);
    Frames frames = encode(StatsReply{});
    CHECK(header_keys(frames[2]) == Keys{"counters"});
}

TEST_CASE("STATS_REPLY round trips a queue's event counters and histograms, absent from older brokers",
          "[protocol][codec]") {
    StatsReply reply;
    QueueStats busy{"emails"};
    busy.submitted = 100;
    busy.retried = 7;
    busy.requeued = 3;
    busy.timed_out = 2;
    busy.cancelled = UINT64_MAX;
    busy.wait = Histogram{{100, 1000, 10000}, {5, 0, 1, 2}, 123456};
    busy.run = Histogram{{}, {9}, 0};
    reply.queues = {busy, QueueStats{"idle"}};
    auto m = round_trip(std::move(reply));
    REQUIRE(m.queues.size() == 2);
    CHECK(m.queues[0].submitted == 100);
    CHECK(m.queues[0].retried == 7);
    CHECK(m.queues[0].requeued == 3);
    CHECK(m.queues[0].timed_out == 2);
    CHECK(m.queues[0].cancelled == UINT64_MAX);
    REQUIRE(m.queues[0].wait);
    CHECK(m.queues[0].wait->bounds == std::vector<std::uint64_t>{100, 1000, 10000});
    CHECK(m.queues[0].wait->counts == std::vector<std::uint64_t>{5, 0, 1, 2});
    CHECK(m.queues[0].wait->sum == 123456);
    REQUIRE(m.queues[0].run);
    CHECK(m.queues[0].run->bounds.empty());
    CHECK(m.queues[0].run->counts == std::vector<std::uint64_t>{9});
    CHECK(m.queues[1].submitted == 0);
    CHECK_FALSE(m.queues[1].wait);
    CHECK_FALSE(m.queues[1].run);
}

TEST_CASE("STATS_REPLY round trips the broker instance, the last job's end and the journal histograms",
          "[protocol][codec]") {
    StatsReply reply;
    reply.broker_instance = 0xfeedface;
    reply.last_job_ended_at_ms = 1'700'000'000'123;
    reply.journal_fsync = Histogram{{10, 100}, {1, 2, 3}, 999};
    reply.journal_records_per_fsync = Histogram{{1, 2, 4}, {4, 3, 2, UINT64_MAX}, UINT64_MAX};
    auto m = round_trip(std::move(reply));
    CHECK(m.broker_instance == 0xfeedface);
    CHECK(m.last_job_ended_at_ms == 1'700'000'000'123u);
    REQUIRE(m.journal_fsync);
    CHECK(m.journal_fsync->bounds == std::vector<std::uint64_t>{10, 100});
    CHECK(m.journal_fsync->counts == std::vector<std::uint64_t>{1, 2, 3});
    CHECK(m.journal_fsync->sum == 999);
    REQUIRE(m.journal_records_per_fsync);
    CHECK(m.journal_records_per_fsync->counts.back() == UINT64_MAX);
    CHECK(m.journal_records_per_fsync->sum == UINT64_MAX);

    auto old = round_trip(StatsReply{});
    CHECK(old.broker_instance == 0);
    CHECK_FALSE(old.last_job_ended_at_ms);
    CHECK_FALSE(old.journal_fsync);
    CHECK_FALSE(old.journal_records_per_fsync);
}

TEST_CASE("ERROR payload_too_large round trips the broker's limit, written only when set", "[protocol][codec]") {
    Error error = error_of(ErrorCode::payload_too_large, "payload is 2000 bytes", "j1", "SUBMIT");
    error.max_payload_bytes = kMaxPayloadLimitBytes;
    auto m = round_trip(std::move(error));
    CHECK(m.code == ErrorCode::payload_too_large);
    CHECK(m.max_payload_bytes == kMaxPayloadLimitBytes);
    SECTION("a larger limit than this build allows (a newer broker) still decodes") {
        Error larger = error_of(ErrorCode::payload_too_large, "", "j1", "SUBMIT");
        larger.max_payload_bytes = std::uint64_t{1} << 40;
        CHECK(round_trip(std::move(larger)).max_payload_bytes == std::uint64_t{1} << 40);
    }
    SECTION("absent from other errors") {
        Frames frames = encode(error_of(ErrorCode::queue_full, "full", "j1", "SUBMIT"));
        CHECK(header_keys(frames[2]) == Keys{"code", "message", "id", "command"});
    }
}

TEST_CASE("ERROR too_many_in_flight round trips the broker's limit, written only when set", "[protocol][codec]") {
    Error error = error_of(ErrorCode::too_many_in_flight, "this connection has 2 submits", "j1", "SUBMIT");
    error.max_in_flight = 2;
    auto m = round_trip(std::move(error));
    CHECK(m.code == ErrorCode::too_many_in_flight);
    CHECK(m.max_in_flight == 2u);
    CHECK_FALSE(m.max_payload_bytes.has_value());
    Frames frames = encode(error_of(ErrorCode::too_many_workers, "full", "w1", "READY"));
    CHECK(header_keys(frames[2]) == Keys{"code", "message", "id", "command"});
}

TEST_CASE("ERROR round trips every error code", "[protocol][codec]") {
    for (int i = 0; i <= static_cast<int>(ErrorCode::internal); ++i) {
        const auto code = static_cast<ErrorCode>(i);
        INFO(to_string(code));
        auto m = round_trip(error_of(code, "why it was refused", "j7", "STATUS"));
        CHECK(m.code == code);
        CHECK(m.message == "why it was refused");
        CHECK(m.id == "j7");
        CHECK(m.command == "STATUS");
    }
    SECTION("without a job id or command") {
        auto m = round_trip(error_of(ErrorCode::unknown_worker, "", ""));
        CHECK(m.code == ErrorCode::unknown_worker);
        CHECK(m.message.empty());
        CHECK(m.id.empty());
        CHECK(m.command.empty());
    }
    SECTION("naming the refused command and a queue") {
        auto m = round_trip(error_of(ErrorCode::queue_full, "queue emails is full", "job-3", "SUBMIT"));
        CHECK(m.code == ErrorCode::queue_full);
        CHECK(m.id == "job-3");
        CHECK(m.command == "SUBMIT");
        auto retry = round_trip(error_of(ErrorCode::wrong_state, "not in the dead set", "emails", "RETRY"));
        CHECK(retry.code == ErrorCode::wrong_state);
        CHECK(retry.id == "emails");
        CHECK(retry.command == "RETRY");
    }
    SECTION("a header without command (an older broker) decodes with an empty command") {
        Frames frames = test::message_with_fields(Command::error, {test::str("code", "unknown_job")});
        auto decoded = decode(frames);
        REQUIRE(decoded);
        CHECK(std::get<Error>(decoded.value()).command.empty());
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

TEST_CASE("READY round trips its batch size, written only when set", "[protocol][codec]") {
    CHECK(header_keys(encode(Ready{{"q"}, 4, "w"})[2]) == Keys{"queues", "capacity", "name"});
    Frames frames = encode(Ready{{"q"}, 64, "w", 64});
    CHECK(header_keys(frames[2]) == Keys{"queues", "capacity", "name", "batch"});
    auto decoded = decode(frames);
    REQUIRE(decoded);
    CHECK(std::get<Ready>(decoded.value()).batch == 64);
}

TEST_CASE("READY round trips its instance and the leases it holds, written only when set", "[protocol][codec]") {
    Ready plain{{"q"}, 4, "w"};
    auto decoded_plain = round_trip(plain);
    CHECK(decoded_plain.instance == 0);
    CHECK_FALSE(decoded_plain.holding.has_value());  // an older worker: not the same as holding nothing

    Ready ready{{"q"}, 4, "w", 0, 0xfeedULL << 40, std::vector<HeldLease>{{"j1", 1}, {"j2", 7}}};
    CHECK(header_keys(encode(ready)[2]) == Keys{"queues", "capacity", "name", "instance", "holding"});
    auto m = round_trip(ready);
    CHECK(m.instance == 0xfeedULL << 40);
    REQUIRE(m.holding.has_value());
    REQUIRE(m.holding->size() == 2);
    CHECK(m.holding->at(0).id == "j1");
    CHECK(m.holding->at(0).attempt == 1);
    CHECK(m.holding->at(1).id == "j2");
    CHECK(m.holding->at(1).attempt == 7);

    ready.prefetch = 2;
    CHECK(header_keys(encode(ready)[2]) == Keys{"queues", "capacity", "name", "instance", "holding", "prefetch"});
    CHECK(round_trip(ready).prefetch == 2);
    ready.prefetch = 0;  // written only when set: an older broker sees the READY it knew
    ready.idle_heartbeat = true;
    CHECK(header_keys(encode(ready)[2]) == Keys{"queues", "capacity", "name", "instance", "holding", "idle_heartbeat"});
    CHECK(round_trip(ready).idle_heartbeat);
    ready.idle_heartbeat = false;  // likewise
    CHECK_FALSE(round_trip(ready).idle_heartbeat);
    ready.holding.emplace();
    auto empty = round_trip(ready);
    REQUIRE(empty.holding.has_value());
    CHECK(empty.holding->empty());
}

TEST_CASE("JOBS carries one payload frame per job, in order", "[protocol][codec]") {
    Jobs jobs;
    jobs.jobs.push_back(Job{"j1", "emails", 1, make_payload(kBinary)});
    jobs.jobs.push_back(Job{"j2", "images", 7, zmq::message_t()});
    jobs.jobs.push_back(Job{std::string(kMaxJobIdBytes, 'i'), std::string(kMaxQueueNameBytes, 'q'), UINT32_MAX,
                            make_payload("third")});
    Frames frames = encode(std::move(jobs));
    REQUIRE(frames.size() == 6);
    CHECK(*static_cast<const std::uint8_t*>(frames[1].data()) == 0x19);
    CHECK(header_keys(frames[2]) == Keys{"jobs"});
    auto decoded = decode(frames);
    if (!decoded) FAIL("decode failed: " << to_string(decoded.error().code) << " " << decoded.error().detail);
    const auto& out = std::get<Jobs>(decoded.value()).jobs;
    REQUIRE(out.size() == 3);
    CHECK(out[0].id == "j1");
    CHECK(out[0].queue == "emails");
    CHECK(out[0].attempt == 1);
    CHECK(view_of(out[0].payload) == kBinary);
    CHECK(out[1].id == "j2");
    CHECK(out[1].queue == "images");
    CHECK(out[1].attempt == 7);
    CHECK(out[1].payload.size() == 0);
    CHECK(out[2].id == std::string(kMaxJobIdBytes, 'i'));
    CHECK(out[2].attempt == UINT32_MAX);
    CHECK(view_of(out[2].payload) == "third");
}

TEST_CASE("DONES carries one result frame per attempt, in order, up to kMaxBatchEntries", "[protocol][codec]") {
    Dones dones;
    for (std::uint32_t i = 0; i < kMaxBatchEntries; ++i) {
        dones.done.push_back(Done{"job-" + std::to_string(i), i + 1, make_payload("r" + std::to_string(i))});
    }
    Frames frames = encode(std::move(dones));
    REQUIRE(frames.size() == 3 + kMaxBatchEntries);
    CHECK(*static_cast<const std::uint8_t*>(frames[1].data()) == 0x1A);
    auto decoded = decode(frames);
    if (!decoded) FAIL("decode failed: " << to_string(decoded.error().code) << " " << decoded.error().detail);
    const auto& out = std::get<Dones>(decoded.value()).done;
    REQUIRE(out.size() == kMaxBatchEntries);
    CHECK(out[0].id == "job-0");
    CHECK(out[1023].id == "job-1023");
    CHECK(out[1023].attempt == 1024);
    CHECK(view_of(out[1023].payload) == "r1023");
    SECTION("one entry more is refused") {
        Dones over;
        for (std::uint32_t i = 0; i <= kMaxBatchEntries; ++i) over.done.push_back(Done{"j", 1, zmq::message_t()});
        Frames too_many = encode(std::move(over));
        auto refused = decode(too_many);
        REQUIRE_FALSE(refused);
        CHECK(refused.error().code == ErrorCode::bad_header);  // the decoder's 1024-entry array bound
    }
}

TEST_CASE("SUBMITS carries one payload frame per job, and each entry reads as the SUBMIT it stands for",
          "[protocol][codec]") {
    Submits batch;
    batch.shared.queue = "images";
    batch.shared.wants_result = true;
    batch.shared.priority = -5;
    batch.shared.retry.max_attempts = 7;
    batch.shared.retry.backoff_ms = 250;
    batch.shared.retry.backoff_max_ms = 9000;
    batch.shared.retry.backoff_jitter_pct = 0;
    batch.shared.timeout_ms = 30'000;
    batch.shared.run_at_ms = 1'900'000'000'000;
    batch.shared.accept_within_ms = 100;
    batch.shared.results_batch = 64;
    batch.entries.push_back(SubmitsEntry{"j1", make_payload(kBinary)});
    batch.entries.push_back(SubmitsEntry{"j2", zmq::message_t()});
    batch.entries.push_back(SubmitsEntry{std::string(kMaxJobIdBytes, 'j'), make_payload("three")});
    Frames frames = encode(std::move(batch));
    REQUIRE(frames.size() == 6);
    CHECK(*static_cast<const std::uint8_t*>(frames[1].data()) == 0x21);
    auto decoded = decode(frames);
    if (!decoded) FAIL("decode failed: " << to_string(decoded.error().code) << " " << decoded.error().detail);
    auto& out = std::get<Submits>(decoded.value());
    REQUIRE(out.entries.size() == 3);
    const Submit first = take_submit(out, 0);
    CHECK(first.id == "j1");
    CHECK(view_of(first.payload) == kBinary);
    CHECK(first.queue == "images");
    CHECK(first.wants_result);
    CHECK(first.priority == -5);
    CHECK(first.retry.max_attempts == 7u);
    CHECK(first.retry.backoff_ms == 250u);
    CHECK(first.retry.backoff_max_ms == 9000u);
    CHECK(first.retry.backoff_jitter_pct == 0u);
    CHECK(first.timeout_ms == 30'000u);
    CHECK(first.delay_ms == 0u);
    CHECK(first.run_at_ms == 1'900'000'000'000u);
    CHECK(first.unique_key.empty());
    CHECK(first.accept_within_ms == 100u);
    CHECK(first.results_batch == 64u);
    const Submit second = take_submit(out, 1);
    CHECK(second.id == "j2");
    CHECK(second.payload.size() == 0);
    CHECK(second.queue == "images");
    CHECK(second.timeout_ms == 30'000u);
    const Submit third = take_submit(out, 2);
    CHECK(third.id == std::string(kMaxJobIdBytes, 'j'));
    CHECK(view_of(third.payload) == "three");

    SECTION("a header that names more ids than there are payload frames is refused") {
        Submits two;
        two.shared.queue = "q";
        two.entries.push_back(SubmitsEntry{"a", make_payload("1")});
        two.entries.push_back(SubmitsEntry{"b", make_payload("2")});
        Frames short_of_one = encode(std::move(two));
        short_of_one.pop_back();
        auto refused = decode(short_of_one);
        REQUIRE_FALSE(refused);
        CHECK(refused.error().code == ErrorCode::bad_frame_count);
    }
}

TEST_CASE("RESULTS carries one result frame per ended job, and SUBMIT asks for it", "[protocol][codec]") {
    Results results;
    results.results.push_back(JobResult{"j1", JobState::done, 1, "", make_payload(kBinary)});
    results.results.push_back(JobResult{"j2", JobState::failed, 3, "boom", zmq::message_t()});
    results.results.push_back(JobResult{"j3", JobState::cancelled, 0, "cancelled", zmq::message_t()});
    Frames frames = encode(std::move(results));
    REQUIRE(frames.size() == 6);
    CHECK(*static_cast<const std::uint8_t*>(frames[1].data()) == 0x1B);
    auto decoded = decode(frames);
    if (!decoded) FAIL("decode failed: " << to_string(decoded.error().code) << " " << decoded.error().detail);
    const auto& out = std::get<Results>(decoded.value()).results;
    REQUIRE(out.size() == 3);
    CHECK(out[0].id == "j1");
    CHECK(out[0].state == JobState::done);
    CHECK(view_of(out[0].payload) == kBinary);
    CHECK(out[1].state == JobState::failed);
    CHECK(out[1].attempt == 3);
    CHECK(out[1].error == "boom");
    CHECK(out[2].state == JobState::cancelled);
    CHECK(out[2].attempt == 0);
    Submit submit = make_submit("j", "q", true, make_payload("x"));
    submit.results_batch = 64;
    CHECK(round_trip(std::move(submit)).results_batch == 64);
    CHECK(round_trip(make_submit("j", "q", true, make_payload("x"))).results_batch == 0);
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
    CHECK_FALSE(m.is_permanent);
    CHECK(round_trip(Fail{"j1", 1, ""}).error.empty());
    SECTION("a retryable FAIL does not write permanent") {
        CHECK(header_keys(encode(Fail{"j1", 1, "e"})[2]) == Keys{"id", "attempt", "error"});
    }
    SECTION("a permanent FAIL") {
        Frames frames = encode(Fail{"j1", 2, "malformed input", true});
        CHECK(header_keys(frames[2]) == Keys{"id", "attempt", "error", "permanent"});
        auto decoded = decode(frames);
        REQUIRE(decoded);
        const auto& permanent = std::get<Fail>(decoded.value());
        CHECK(permanent.is_permanent);
        CHECK(permanent.attempt == 2);
        CHECK(permanent.error == "malformed input");
    }
    SECTION("a FAIL for a command that could not be started") {
        Fail fail{"j1", 4, "command not found: /no/such/cmd"};
        fail.is_not_started = true;
        Frames frames = encode(std::move(fail));
        CHECK(header_keys(frames[2]) == Keys{"id", "attempt", "error", "not_started"});
        auto decoded = decode(frames);
        REQUIRE(decoded);
        const auto& not_started = std::get<Fail>(decoded.value());
        CHECK(not_started.is_not_started);
        CHECK_FALSE(not_started.is_permanent);
        CHECK_FALSE(round_trip(Fail{"j1", 1, "e"}).is_not_started);
    }
    SECTION("permanent: false written by another encoder") {
        Frames frames = test::message_with_fields(Command::fail, {test::str("id", "j1"), test::uint("attempt", 1),
                                                                  test::boolean("permanent", false)});
        auto decoded = decode(frames);
        REQUIRE(decoded);
        CHECK_FALSE(std::get<Fail>(decoded.value()).is_permanent);
    }
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
    SECTION("the broker's batch size") {
        auto m = round_trip(Heartbeat{1000u, 3u, kMaxBatchEntries});
        REQUIRE(m.batch);
        CHECK(*m.batch == kMaxBatchEntries);
        CHECK_FALSE(round_trip(Heartbeat{1000u, 3u}).batch);
    }    SECTION("the broker's payload limit") {
        auto m = round_trip(Heartbeat{1000u, 3u, kMaxBatchEntries, 20'000'000u});
        CHECK(m.max_payload_bytes == 20'000'000u);
        CHECK(round_trip(Heartbeat{1000u, 3u, std::nullopt, 1u}).max_payload_bytes == 1u);
        CHECK_FALSE(round_trip(Heartbeat{1000u, 3u}).max_payload_bytes);
    }
    SECTION("the broker's idle interval, up to kMaxIdleHeartbeatInterval") {
        const auto longest = static_cast<std::uint32_t>(kMaxIdleHeartbeatInterval.count());
        CHECK(round_trip(Heartbeat{1000u, 3u, kMaxBatchEntries, 1u, 10'000u}).idle_interval_ms == 10'000u);
        CHECK(round_trip(Heartbeat{60'000u, 3u, std::nullopt, std::nullopt, longest}).idle_interval_ms == longest);
        CHECK_FALSE(round_trip(Heartbeat{1000u, 3u}).idle_interval_ms);
    }
}

TEST_CASE("the broker's sockets take frames of the default limit even when --max-payload is lower",
          "[protocol][limits]") {
    CHECK(broker_max_message_bytes(1000) == kDefaultMaxPayloadBytes + kFrameOverheadBytes);
    CHECK(broker_max_message_bytes(kDefaultMaxPayloadBytes) == kDefaultMaxPayloadBytes + kFrameOverheadBytes);
    CHECK(broker_max_message_bytes(20'000'000) == 20'000'000 + kFrameOverheadBytes);
    CHECK(kClientMaxMessageBytes == broker_max_message_bytes(kMaxPayloadLimitBytes));
}

TEST_CASE("DRAIN round trips", "[protocol][codec]") {
    round_trip(Drain{});
    CHECK(text_of(encode(Drain{})[2]) == test::octets({0x80}));
}

TEST_CASE("DISCONNECT round trips", "[protocol][codec]") {
    CHECK(round_trip(Disconnect{"broker shutting down"}).reason == "broker shutting down");
    CHECK(round_trip(Disconnect{}).reason.empty());
}

TEST_CASE("CANCEL round trips", "[protocol][codec]") {
    Frames frames = encode(Cancel{"job-1"});
    CHECK(header_keys(frames[2]) == Keys{"id"});
    CHECK(round_trip(Cancel{"job-1"}).id == "job-1");
    CHECK(round_trip(Cancel{std::string(kMaxJobIdBytes, 'i')}).id == std::string(kMaxJobIdBytes, 'i'));
}

TEST_CASE("RETRY round trips for one dead job or a whole dead set", "[protocol][codec]") {
    SECTION("one job: only id is written") {
        CHECK(header_keys(encode(Retry{"job-1", ""})[2]) == Keys{"id"});
        auto m = round_trip(Retry{"job-1", ""});
        CHECK(m.id == "job-1");
        CHECK(m.queue.empty());
    }
    SECTION("a queue: only queue is written") {
        CHECK(header_keys(encode(Retry{"", "emails"})[2]) == Keys{"queue"});
        auto m = round_trip(Retry{"", "emails"});
        CHECK(m.id.empty());
        CHECK(m.queue == "emails");
    }
}

TEST_CASE("PURGE round trips for a dead set or one job in it", "[protocol][codec]") {
    SECTION("the whole dead set") {
        CHECK(header_keys(encode(Purge{"emails", ""})[2]) == Keys{"queue"});
        auto m = round_trip(Purge{"emails", ""});
        CHECK(m.queue == "emails");
        CHECK(m.id.empty());
    }
    SECTION("one job") {
        auto m = round_trip(Purge{"emails", "job-1"});
        CHECK(m.queue == "emails");
        CHECK(m.id == "job-1");
    }
}

TEST_CASE("DEAD round trips, and limit defaults to 100", "[protocol][codec]") {
    auto m = round_trip(DeadRequest{"emails", 25});
    CHECK(m.queue == "emails");
    CHECK(m.limit == 25);
    CHECK(round_trip(DeadRequest{"q", 1}).limit == 1);
    CHECK(round_trip(DeadRequest{"q", kMaxDeadListed}).limit == kMaxDeadListed);
    CHECK(round_trip(DeadRequest{"q"}).limit == 100);
    Frames frames = test::message_with_fields(Command::dead, {test::str("queue", "q")});
    auto decoded = decode(frames);
    REQUIRE(decoded);
    CHECK(std::get<DeadRequest>(decoded.value()).limit == 100);
}

TEST_CASE("DEAD_REPLY round trips with its jobs in the body frame", "[protocol][codec]") {
    SECTION("populated") {
        DeadReply reply;
        reply.queue = "emails";
        reply.total = 12;
        reply.jobs = {
            {"job-1", 3, 60'000, 2048, kMinPriority, {{1, "exit 1"}, {2, "exit 1"}, {3, "timed out after 30s"}}},
            {"job-2", 1, 0, 0, kMaxPriority, {{1, "bad input"}}}};
        Frames frames = encode(std::move(reply));
        REQUIRE(frames.size() == 4);
        CHECK(header_keys(frames[2]) == Keys{"queue", "total"});
        CHECK(header_keys(frames[3]) == Keys{"jobs"});
        auto decoded = decode(frames);
        REQUIRE(decoded);
        const auto& m = std::get<DeadReply>(decoded.value());
        CHECK(m.queue == "emails");
        CHECK(m.total == 12);
        REQUIRE(m.jobs.size() == 2);
        CHECK(m.jobs[0].id == "job-1");
        CHECK(m.jobs[0].attempts == 3);
        CHECK(m.jobs[0].died_ms_ago == 60'000);
        CHECK(m.jobs[0].payload_bytes == 2048);
        CHECK(m.jobs[0].priority == kMinPriority);
        REQUIRE(m.jobs[0].errors.size() == 3);
        CHECK(m.jobs[0].errors[2].attempt == 3);
        CHECK(m.jobs[0].errors[2].error == "timed out after 30s");
        CHECK(m.jobs[1].id == "job-2");
        CHECK(m.jobs[1].priority == kMaxPriority);
        REQUIRE(m.jobs[1].errors.size() == 1);
        CHECK(m.jobs[1].errors[0].error == "bad input");
    }
    SECTION("an empty dead set") {
        DeadReply reply;
        reply.queue = "q";
        auto m = round_trip(std::move(reply));
        CHECK(m.queue == "q");
        CHECK(m.total == 0);
        CHECK(m.jobs.empty());
    }
    SECTION("the most jobs one reply lists, past the header limit") {
        DeadReply reply;
        reply.queue = "q";
        reply.total = 50'000;
        for (std::uint32_t i = 0; i < kMaxDeadListed; ++i) {
            reply.jobs.push_back({"job-" + std::to_string(i), 3, i, 100, 0, {{1, "e"}, {2, "e"}, {3, "e"}}});
        }
        Frames frames = encode(std::move(reply));
        REQUIRE(frames.size() == 4);
        CHECK(frames[3].size() > kMaxHeaderBytes);
        auto decoded = decode(frames);
        REQUIRE(decoded);
        const auto& m = std::get<DeadReply>(decoded.value());
        CHECK(m.total == 50'000);
        REQUIRE(m.jobs.size() == kMaxDeadListed);
        CHECK(m.jobs.back().id == "job-" + std::to_string(kMaxDeadListed - 1));
        CHECK(m.jobs.back().errors.size() == 3);
    }
}

TEST_CASE("QUEUE round trips as a request with some fields and a reply with all", "[protocol][codec]") {
    SECTION("a request changing two fields leaves the others absent") {
        QueueSettings request;
        request.queue = "emails";
        request.is_paused = true;
        request.retry.max_attempts = 5;
        Frames frames = encode(std::move(request));
        CHECK(header_keys(frames[2]) == Keys{"queue", "paused", "max_attempts"});
        auto decoded = decode(frames);
        REQUIRE(decoded);
        const auto& m = std::get<QueueSettings>(decoded.value());
        CHECK(m.queue == "emails");
        CHECK(m.is_paused == true);
        CHECK(m.retry.max_attempts == 5u);
        CHECK_FALSE(m.max_length.has_value());
        CHECK_FALSE(m.retry.backoff_ms.has_value());
        CHECK_FALSE(m.retry.backoff_max_ms.has_value());
        CHECK_FALSE(m.retry.backoff_jitter_pct.has_value());
        CHECK_FALSE(m.timeout_ms.has_value());
        CHECK_FALSE(m.dead_max_count.has_value());
        CHECK_FALSE(m.dead_max_age_ms.has_value());
    }
    SECTION("a request with only the queue reads the settings") {
        QueueSettings request;
        request.queue = "emails";
        Frames frames = encode(std::move(request));
        CHECK(header_keys(frames[2]) == Keys{"queue"});
        auto m = round_trip(QueueSettings{"emails", {}, {}, {}, {}, {}, {}});
        CHECK_FALSE(m.is_paused.has_value());
    }
    SECTION("a reply with every field") {
        QueueSettings reply;
        reply.queue = "emails";
        reply.is_paused = false;
        reply.max_length = 0;
        reply.retry.max_attempts = kDefaultMaxAttempts;
        reply.retry.backoff_ms = static_cast<std::uint64_t>(kDefaultBackoff.count());
        reply.retry.backoff_max_ms = static_cast<std::uint64_t>(kDefaultBackoffMax.count());
        reply.retry.backoff_jitter_pct = kDefaultBackoffJitterPct;
        reply.timeout_ms = 0;
        reply.dead_max_count = kDefaultDeadMaxCount;
        reply.dead_max_age_ms = static_cast<std::uint64_t>(kDefaultDeadMaxAge.count());
        Frames frames = encode(std::move(reply));
        CHECK(header_keys(frames[2]) == Keys{"queue", "paused", "max_length", "max_attempts", "backoff_ms",
                                             "backoff_max_ms", "backoff_jitter_pct", "timeout_ms", "dead_max_count",
                                             "dead_max_age_ms"});
        auto decoded = decode(frames);
        REQUIRE(decoded);
        const auto& m = std::get<QueueSettings>(decoded.value());
        CHECK(m.is_paused == false);
        CHECK(m.max_length == std::uint64_t{0});
        CHECK(m.retry.max_attempts == kDefaultMaxAttempts);
        CHECK(m.retry.backoff_ms == std::uint64_t{1000});
        CHECK(m.retry.backoff_max_ms == std::uint64_t{600'000});
        CHECK(m.retry.backoff_jitter_pct == kDefaultBackoffJitterPct);
        CHECK(m.timeout_ms == std::uint64_t{0});
        CHECK(m.dead_max_count == kDefaultDeadMaxCount);
        CHECK(m.dead_max_age_ms == std::uint64_t{7ULL * 24 * 3'600'000});
    }
    SECTION("the largest values") {
        QueueSettings reply;
        reply.queue = "q";
        reply.max_length = UINT64_MAX;
        reply.timeout_ms = kMaxTimeoutMs;
        reply.dead_max_count = UINT64_MAX;
        reply.dead_max_age_ms = kMaxDeadAgeMs;
        auto m = round_trip(std::move(reply));
        CHECK(m.max_length == UINT64_MAX);
        CHECK(m.timeout_ms == kMaxTimeoutMs);
        CHECK(m.dead_max_count == UINT64_MAX);
        CHECK(m.dead_max_age_ms == kMaxDeadAgeMs);
    }
}

TEST_CASE("OK round trips the command it answers", "[protocol][codec]") {
    auto cancel = round_trip(Ok{"CANCEL", "job-1", 1});
    CHECK(cancel.command == "CANCEL");
    CHECK(cancel.id == "job-1");
    CHECK(cancel.count == 1);
    auto retry = round_trip(Ok{"RETRY", "emails", 0});
    CHECK(retry.command == "RETRY");
    CHECK(retry.id == "emails");
    CHECK(retry.count == 0);
    CHECK(round_trip(Ok{"PURGE", "", UINT64_MAX}).count == UINT64_MAX);
}

TEST_CASE("PROGRESS round trips", "[protocol][codec]") {
    auto m = round_trip(Progress{"job-1", 2, 40, "page 4 of 10"});
    CHECK(m.id == "job-1");
    CHECK(m.attempt == 2);
    CHECK(m.percent == 40);
    CHECK(m.message == "page 4 of 10");
    CHECK(round_trip(Progress{"j", 1, 0, ""}).percent == 0);
    auto full = round_trip(Progress{"j", 1, 100, std::string(kMaxProgressMessageBytes, 'm')});
    CHECK(full.percent == 100);
    CHECK(full.message.size() == kMaxProgressMessageBytes);
    Frames frames = test::message_with_fields(
        Command::progress, {test::str("id", "j"), test::uint("attempt", 1), test::uint("percent", 5)});
    auto decoded = decode(frames);
    REQUIRE(decoded);
    CHECK(std::get<Progress>(decoded.value()).message.empty());
}

TEST_CASE("ABANDON round trips with its reason", "[protocol][codec]") {
    auto timeout = round_trip(Abandon{"job-1", 3, "timeout"});
    CHECK(timeout.id == "job-1");
    CHECK(timeout.attempt == 3);
    CHECK(timeout.reason == "timeout");
    CHECK(round_trip(Abandon{"job-1", 1, "cancelled"}).reason == "cancelled");
    CHECK(round_trip(Abandon{"job-1", UINT32_MAX, ""}).attempt == UINT32_MAX);
    const auto recall = round_trip(Recall{"job-1", 7});
    CHECK(recall.id == "job-1");
    CHECK(recall.attempt == 7);
}

TEST_CASE("STATUS asks for the job's payload only when told, and the reply says which bytes it holds",
          "[protocol][codec]") {
    StatusRequest plain{"abc"};
    CHECK(header_keys(encode(StatusRequest{"abc"})[2]) == Keys{"id"});
    CHECK_FALSE(round_trip(std::move(plain)).wants_payload);
    StatusRequest asking{"abc", true};
    CHECK(round_trip(std::move(asking)).wants_payload);

    StatusReply reply = status_reply_of("abc", "q", JobState::done, 2, "w1", "", make_payload("the payload"));
    reply.created_ms = 1'700'000'000'000;
    reply.started_ms = 1'700'000'000'100;
    reply.finished_ms = 1'700'000'000'900;
    reply.holds_job_payload = true;
    const StatusReply m = round_trip(std::move(reply));
    CHECK(m.created_ms == std::optional<std::uint64_t>(1'700'000'000'000));
    CHECK(m.started_ms == std::optional<std::uint64_t>(1'700'000'000'100));
    CHECK(m.finished_ms == std::optional<std::uint64_t>(1'700'000'000'900));
    CHECK(m.holds_job_payload);
    CHECK(view_of(m.payload) == "the payload");
    CHECK(m.worker == "w1");

    const StatusReply without_times = round_trip(status_reply_of("abc", "q", JobState::pending, 0, "", "", {}));
    CHECK_FALSE(without_times.created_ms);
    CHECK_FALSE(without_times.started_ms);
    CHECK_FALSE(without_times.finished_ms);
    CHECK_FALSE(without_times.holds_job_payload);
}

TEST_CASE("STATS_REPLY round trips the broker's uptime and version and each queue's oldest pending age",
          "[protocol][codec]") {
    StatsReply reply;
    reply.uptime_ms = 90'000;
    reply.version = "0.1.0";
    QueueStats waiting;
    waiting.name = "emails";
    waiting.pending = 3;
    waiting.oldest_pending_ms = 1500;
    QueueStats idle;
    idle.name = "images";
    reply.queues = {waiting, idle};
    const StatsReply m = round_trip(std::move(reply));
    CHECK(m.uptime_ms == 90'000);
    CHECK(m.version == "0.1.0");
    REQUIRE(m.queues.size() == 2);
    CHECK(m.queues[0].oldest_pending_ms == std::optional<std::uint64_t>(1500));
    CHECK_FALSE(m.queues[1].oldest_pending_ms);
}

TEST_CASE("DEAD_REPLY round trips when each job died", "[protocol][codec]") {
    DeadReply reply;
    reply.queue = "q";
    reply.total = 1;
    DeadJob job;
    job.id = "j1";
    job.died_ms = 1'700'000'000'000;
    reply.jobs.push_back(job);
    const DeadReply m = round_trip(std::move(reply));
    REQUIRE(m.jobs.size() == 1);
    CHECK(m.jobs[0].died_ms == std::optional<std::uint64_t>(1'700'000'000'000));
}

TEST_CASE("QUEUE round trips its create request and created reply, written only when true", "[protocol][codec]") {
    QueueSettings request;
    request.queue = "q";
    CHECK(header_keys(encode(QueueSettings(request))[2]) == Keys{"queue"});
    request.should_create = true;
    CHECK(round_trip(QueueSettings(request)).should_create);
    QueueSettings reply;
    reply.queue = "q";
    reply.was_created = true;
    const QueueSettings m = round_trip(std::move(reply));
    CHECK(m.was_created);
    CHECK_FALSE(m.should_create);
}

TEST_CASE("LIST round trips its state, cursor and limit", "[protocol][codec]") {
    for (ListedState state : {ListedState::pending, ListedState::delayed, ListedState::running, ListedState::failed}) {
        INFO(to_string(state));
        const ListRequest m = round_trip(ListRequest{"emails", state, "job-7", 250});
        CHECK(m.queue == "emails");
        CHECK(m.state == state);
        CHECK(m.after == "job-7");
        CHECK(m.limit == 250);
    }
    CHECK(header_keys(encode(ListRequest{"q", ListedState::pending, "", 100})[2]) == Keys{"queue", "state", "limit"});
}

TEST_CASE("LIST_REPLY round trips its page with the jobs in the body frame", "[protocol][codec]") {
    ListReply reply;
    reply.queue = "emails";
    reply.state = ListedState::delayed;
    reply.total = 40;
    reply.next = "job-2";
    ListedJob first;
    first.id = "job-1";
    first.attempt = 1;
    first.max_attempts = 3;
    first.priority = -4;
    first.payload_bytes = 2048;
    first.created_ms = 1'700'000'000'000;
    first.ready_at_ms = 1'700'000'060'000;
    first.error = "exit 1";
    first.counted_attempts = 1;  // equal to attempt: not written
    ListedJob second;
    second.id = "job-2";
    second.attempt = 3;
    second.counted_attempts = 1;  // two leases given back uncharged
    second.worker = "w:1";
    second.is_held_ready = true;
    reply.jobs = {first, second};
    Frames frames = encode(ListReply(reply));
    REQUIRE(frames.size() == 4);
    CHECK(header_keys(frames[2]) == Keys{"queue", "state", "total", "next"});
    CHECK(header_keys(frames[3]) == Keys{"jobs"});
    const ListReply m = round_trip(std::move(reply));
    CHECK(m.queue == "emails");
    CHECK(m.state == ListedState::delayed);
    CHECK(m.total == 40);
    CHECK(m.next == "job-2");
    REQUIRE(m.jobs.size() == 2);
    CHECK(m.jobs[0].id == "job-1");
    CHECK(m.jobs[0].attempt == 1);
    CHECK(m.jobs[0].max_attempts == 3);
    CHECK(m.jobs[0].priority == -4);
    CHECK(m.jobs[0].payload_bytes == 2048);
    CHECK(m.jobs[0].created_ms == std::optional<std::uint64_t>(1'700'000'000'000));
    CHECK(m.jobs[0].ready_at_ms == std::optional<std::uint64_t>(1'700'000'060'000));
    CHECK_FALSE(m.jobs[0].started_ms);
    CHECK(m.jobs[0].error == "exit 1");
    CHECK_FALSE(m.jobs[0].counted_attempts);
    CHECK(m.jobs[1].id == "job-2");
    CHECK(m.jobs[1].attempt == 3);
    CHECK(m.jobs[1].counted_attempts == 1u);
    CHECK_FALSE(m.jobs[1].created_ms);
    CHECK(m.jobs[1].worker == "w:1");
    CHECK(m.jobs[1].is_held_ready);
    CHECK_FALSE(m.jobs[0].is_held_ready);
}

TEST_CASE("CLEAR round trips which waiting jobs it removes", "[protocol][codec]") {
    const Clear pending_only = round_trip(Clear{"q", true, false});
    CHECK(pending_only.includes_pending);
    CHECK_FALSE(pending_only.includes_delayed);
    const Clear both = round_trip(Clear{"q", true, true});
    CHECK(both.includes_delayed);
}

TEST_CASE("DELETE_QUEUE round trips, force written only when set", "[protocol][codec]") {
    CHECK(header_keys(encode(DeleteQueue{"q", false})[2]) == Keys{"queue"});
    CHECK_FALSE(round_trip(DeleteQueue{"q", false}).is_forced);
    CHECK(round_trip(DeleteQueue{"q", true}).is_forced);
}

TEST_CASE("a queue name outside the grammar is refused where it would create a queue, and kept elsewhere",
          "[protocol][codec]") {
    SECTION("SUBMIT refuses it, naming the reason") {
        Frames frames = encode(make_submit("j1", "bad\x1b[2Jname", false, make_payload("p")));
        auto decoded = decode(frames);
        REQUIRE_FALSE(decoded);
        CHECK(decoded.error().code == ErrorCode::bad_field_value);
        CHECK(decoded.error().detail == "queue: the queue name holds a control character");
    }
    SECTION("QUEUE without create and DELETE_QUEUE take it, so an old queue can still be removed") {
        QueueSettings show;
        show.queue = "old\nname";
        CHECK(round_trip(std::move(show)).queue == "old\nname");
        CHECK(round_trip(DeleteQueue{"old\nname", true}).queue == "old\nname");
    }
    SECTION("a name at the length limit of printable UTF-8 is taken") {
        std::string accented;
        for (std::size_t i = 0; i < kMaxQueueNameBytes / 2; ++i) accented += "\xc3\xa9";
        CHECK(round_trip(make_submit("j1", accented, false, make_payload("p"))).queue == accented);
    }
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

TEST_CASE("the worked example messages are encoded to the exact bytes in docs/protocol.md", "[protocol][codec]") {
    Frames frames = encode(make_submit("j1", "q", true, make_payload("hi")));
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

    // The broker's answer to READY carries all five fields (protocol.md §5.13), at its defaults.
    Frames heartbeat = encode(Heartbeat{1000u, 3u, kMaxBatchEntries, kDefaultMaxPayloadBytes, 10'000u});
    REQUIRE(heartbeat.size() == 3);
    CHECK(text_of(heartbeat[1]) == test::octets({0x14}));
    CHECK(text_of(heartbeat[2]) ==
          test::octets({0x85, 0xab, 0x69, 0x6e, 0x74, 0x65, 0x72, 0x76, 0x61, 0x6c, 0x5f, 0x6d, 0x73, 0xcd, 0x03,
                        0xe8, 0xa8, 0x6c, 0x69, 0x76, 0x65, 0x6e, 0x65, 0x73, 0x73, 0x03, 0xa5, 0x62, 0x61, 0x74,
                        0x63, 0x68, 0xcd, 0x04, 0x00, 0xb1, 0x6d, 0x61, 0x78, 0x5f, 0x70, 0x61, 0x79, 0x6c, 0x6f,
                        0x61, 0x64, 0x5f, 0x62, 0x79, 0x74, 0x65, 0x73, 0xce, 0x00, 0x80, 0x00, 0x00, 0xb0, 0x69,
                        0x64, 0x6c, 0x65, 0x5f, 0x69, 0x6e, 0x74, 0x65, 0x72, 0x76, 0x61, 0x6c, 0x5f, 0x6d, 0x73,
                        0xcd, 0x27, 0x10}));
    CHECK(heartbeat[2].size() == 78);
    CHECK(text_of(encode(Heartbeat{})[2]) == test::octets({0x80}));

    Frames accepted = encode(Accepted{"j1", false, "j1", 0x1122334455667788u});
    REQUIRE(accepted.size() == 3);
    CHECK(text_of(accepted[1]) == test::octets({0x02}));
    CHECK(text_of(accepted[2]) ==
          test::octets({0x84, 0xa2, 0x69, 0x64, 0xa2, 0x6a, 0x31, 0xa7, 0x65, 0x78, 0x69, 0x73, 0x74,
                        0x65, 0x64, 0xc2, 0xa6, 0x6a, 0x6f, 0x62, 0x5f, 0x69, 0x64, 0xa2, 0x6a, 0x31,
                        0xaf, 0x62, 0x72, 0x6f, 0x6b, 0x65, 0x72, 0x5f, 0x69, 0x6e, 0x73, 0x74, 0x61,
                        0x6e, 0x63, 0x65, 0xcf, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88}));
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
                                                test::pack_string(p, "id");
                                                test::pack_string(p, "j");
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
