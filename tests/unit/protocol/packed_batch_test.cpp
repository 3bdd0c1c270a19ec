// A batch's payloads packed in one frame (docs/protocol.md §3.1): the four batches round trip
// packed, the frame's bytes are as documented, a batch too large to pack travels unpacked, every
// malformed packed frame is refused with a typed error, and the capability fields round trip.
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "corsair/protocol/protocol.hpp"
#include "frame_builder.hpp"

namespace corsair::protocol {
namespace {

using test::boolean;
using test::Fields;
using test::frames_of;
using test::map_of;
using test::text_of;
using test::uint;

const std::string kBinary("\x00\x01\xff\x00\xc1\x80zero\x00", 11);

zmq::message_t payload_of(const std::string& text) { return zmq::message_t(text.data(), text.size()); }

// Encodes `message`, requires the packed layout (signature, command, header, one frame), and
// returns the decoded message of the same type.
template <class T>
T packed_round_trip(T message) {
    Frames frames = encode(std::move(message));
    REQUIRE(frames.size() == 4u);
    auto decoded = decode(frames);
    if (!decoded) FAIL("decode failed: " << to_string(decoded.error().code) << " " << decoded.error().detail);
    T* typed = std::get_if<T>(&decoded.value());
    REQUIRE(typed != nullptr);
    CHECK(typed->is_packed);
    return std::move(*typed);
}

// A hand-made JOBS of `ids` with a `packed` header and the given frames after the header.
Frames packed_jobs(const std::vector<std::string>& ids, const std::vector<std::string>& after, bool packed = true) {
    Fields fields{test::raw("jobs", [ids](test::Packer& p) {
        p.pack_array(static_cast<std::uint32_t>(ids.size()));
        for (const auto& id : ids) {
            p.pack_array(3);
            test::pack_string(p, id);
            test::pack_string(p, "q");
            p.pack_uint32(1);
        }
    })};
    if (packed) fields.push_back(boolean("packed", true));
    std::vector<std::string> parts{test::signature_bytes(), test::command_bytes(Command::jobs), map_of(fields)};
    parts.insert(parts.end(), after.begin(), after.end());
    return frames_of(parts);
}

// The packed frame of `payloads` with sizes as given (which a test may make lie).
std::string packed_bytes(const std::vector<std::uint32_t>& sizes, const std::string& bytes) {
    std::string frame;
    for (const std::uint32_t size : sizes) {
        char le[4];
        detail::set_u32(le, size);
        frame.append(le, 4);
    }
    return frame + bytes;
}

DecodeError refusal(Frames frames, DecodeLimits limits = {}) {
    auto decoded = decode(frames, 0, limits);
    REQUIRE_FALSE(decoded);
    return decoded.error();
}

TEST_CASE("each batch round trips packed in one frame, empty and binary payloads included", "[protocol][packed]") {
    SECTION("JOBS") {
        Jobs jobs;
        jobs.is_packed = true;
        jobs.jobs.push_back(Job{"j1", "emails", 1, payload_of(kBinary)});
        jobs.jobs.push_back(Job{"j2", "images", 7, zmq::message_t()});
        jobs.jobs.push_back(Job{"j3", "emails", 2, payload_of("third")});
        const Jobs out = packed_round_trip(std::move(jobs));
        REQUIRE(out.jobs.size() == 3);
        CHECK(out.jobs[0].id == "j1");
        CHECK(view_of(out.jobs[0].payload) == kBinary);
        CHECK(out.jobs[1].attempt == 7);
        CHECK(out.jobs[1].payload.size() == 0);
        CHECK(view_of(out.jobs[2].payload) == "third");
    }
    SECTION("DONES") {
        Dones dones;
        dones.is_packed = true;
        for (std::uint32_t i = 0; i < kMaxBatchEntries; ++i) {
            dones.done.push_back(Done{"job-" + std::to_string(i), i + 1, payload_of("r" + std::to_string(i))});
        }
        const Dones out = packed_round_trip(std::move(dones));
        REQUIRE(out.done.size() == kMaxBatchEntries);
        CHECK(out.done[1023].id == "job-1023");
        CHECK(view_of(out.done[1023].payload) == "r1023");
    }
    SECTION("RESULTS") {
        Results results;
        results.is_packed = true;
        results.results.push_back(JobResult{"j1", JobState::done, 1, "", payload_of(kBinary)});
        results.results.push_back(JobResult{"j2", JobState::failed, 3, "boom", zmq::message_t()});
        const Results out = packed_round_trip(std::move(results));
        REQUIRE(out.results.size() == 2);
        CHECK(view_of(out.results[0].payload) == kBinary);
        CHECK(out.results[1].error == "boom");
    }
    SECTION("SUBMITS") {
        Submits batch;
        batch.is_packed = true;
        batch.shared.queue = "images";
        batch.shared.reads_packed = true;
        batch.entries.push_back(SubmitsEntry{"a", payload_of("one")});
        batch.entries.push_back(SubmitsEntry{"b", payload_of(kBinary)});
        Submits out = packed_round_trip(std::move(batch));
        REQUIRE(out.entries.size() == 2);
        const Submit second = take_submit(out, 1);
        CHECK(second.id == "b");
        CHECK(view_of(second.payload) == kBinary);
        CHECK(second.reads_packed);
    }
}

TEST_CASE("the packed frame is the sizes, 4 bytes little-endian each, then the payloads", "[protocol][packed]") {
    Jobs jobs;
    jobs.is_packed = true;
    jobs.jobs.push_back(Job{"a", "q", 1, payload_of("xyz")});
    jobs.jobs.push_back(Job{"b", "q", 1, zmq::message_t()});
    jobs.jobs.push_back(Job{"c", "q", 1, payload_of(std::string(258, 'w'))});
    Frames frames = encode(std::move(jobs));
    REQUIRE(frames.size() == 4u);
    const std::string expected =
        std::string("\x03\x00\x00\x00\x00\x00\x00\x00\x02\x01\x00\x00", 12) + "xyz" + std::string(258, 'w');
    CHECK(text_of(frames[3]) == expected);
    // The header ends with `packed: true`, after the list.
    const std::string header = text_of(frames[2]);
    CHECK(header.substr(header.size() - 8) == std::string("\xa6packed\xc3", 8));
}

TEST_CASE("a batch asked to pack but over kMaxPackedFrameBytes travels a frame per payload", "[protocol][packed]") {
    Dones dones;
    dones.is_packed = true;
    dones.done.push_back(Done{"small", 1, payload_of("s")});
    dones.done.push_back(Done{"big", 1, payload_of(std::string(kMaxPackedFrameBytes, 'b'))});
    Frames frames = encode(std::move(dones));
    REQUIRE(frames.size() == 5u);
    auto decoded = decode(frames);
    REQUIRE(decoded);
    const auto& out = std::get<Dones>(decoded.value());
    CHECK_FALSE(out.is_packed);
    CHECK(out.done[1].payload.size() == kMaxPackedFrameBytes);
}

TEST_CASE("a batch not asked to pack keeps a frame per payload, as before packing existed", "[protocol][packed]") {
    Jobs jobs;
    jobs.jobs.push_back(Job{"a", "q", 1, payload_of("1")});
    jobs.jobs.push_back(Job{"b", "q", 1, payload_of("2")});
    Frames frames = encode(std::move(jobs));
    REQUIRE(frames.size() == 5u);
    CHECK(text_of(frames[2]).find("packed") == std::string::npos);
}

TEST_CASE("a malformed packed frame is refused with a typed error naming the command", "[protocol][packed]") {
    SECTION("a valid hand-made one decodes") {
        Frames frames = packed_jobs({"a", "b"}, {packed_bytes({2, 0}, "hi")});
        auto decoded = decode(frames);
        REQUIRE(decoded);
        CHECK(view_of(std::get<Jobs>(decoded.value()).jobs[0].payload) == "hi");
    }
    SECTION("shorter than its sizes") {
        const DecodeError error = refusal(packed_jobs({"a", "b"}, {std::string("\x01\x00\x00", 3)}));
        CHECK(error.code == ErrorCode::bad_frame_count);
        CHECK(error.detail.rfind("JOBS: ", 0) == 0);
    }
    SECTION("sizes that run past the end") {
        const DecodeError error = refusal(packed_jobs({"a", "b"}, {packed_bytes({2, 5}, "hi")}));
        CHECK(error.code == ErrorCode::bad_frame_count);
        CHECK(error.detail == "JOBS: the packed sizes add up to 15 bytes, the frame has 10");
    }
    SECTION("bytes after the last payload") {
        const DecodeError error = refusal(packed_jobs({"a"}, {packed_bytes({2}, "hi!")}));
        CHECK(error.code == ErrorCode::bad_frame_count);
    }
    SECTION("a size near 4 GiB does not wrap") {
        const DecodeError error = refusal(packed_jobs({"a", "b"}, {packed_bytes({0xffffffffu, 2}, "hi")}),
                                          DecodeLimits{std::size_t{1} << 33});
        CHECK(error.code == ErrorCode::bad_frame_count);
    }
    SECTION("packed, but a frame per payload") {
        const DecodeError error = refusal(packed_jobs({"a", "b"}, {"x", "y"}));
        CHECK(error.code == ErrorCode::bad_frame_count);
        CHECK(error.detail == "JOBS: packed in one frame");
    }
    SECTION("a packed payload over the payload limit") {
        const DecodeError error =
            refusal(packed_jobs({"a", "b"}, {packed_bytes({1, 600}, "x" + std::string(600, 'y'))}), DecodeLimits{512});
        CHECK(error.code == ErrorCode::payload_too_large);
    }
    SECTION("a packed frame over kMaxPackedFrameBytes, though each payload is under the limit") {
        const std::string half(kMaxPackedFrameBytes / 2, 'h');
        const DecodeError error =
            refusal(packed_jobs({"a", "b", "c"}, {packed_bytes({static_cast<std::uint32_t>(half.size()),
                                                                static_cast<std::uint32_t>(half.size()), 1},
                                                               half + half + "!")}),
                    DecodeLimits{kMaxPackedFrameBytes});
        CHECK(error.code == ErrorCode::payload_too_large);
    }
    SECTION("one unpacked payload over the payload limit, under the packed bound") {
        const DecodeError error = refusal(packed_jobs({"a"}, {std::string(600, 'y')}, false), DecodeLimits{512});
        CHECK(error.code == ErrorCode::payload_too_large);
    }
    SECTION("`packed` that is not a boolean") {
        Frames frames = packed_jobs({"a"}, {packed_bytes({1}, "x")}, false);
        const std::string header = map_of(Fields{test::raw("jobs",
                                                           [](test::Packer& p) {
                                                               p.pack_array(1);
                                                               p.pack_array(3);
                                                               test::pack_string(p, "a");
                                                               test::pack_string(p, "q");
                                                               p.pack_uint32(1);
                                                           }),
                                                 uint("packed", 1)});
        frames[2] = zmq::message_t(header.data(), header.size());
        const DecodeError error = refusal(std::move(frames));
        CHECK(error.code == ErrorCode::bad_field_type);
        CHECK(error.detail.find("packed") != std::string::npos);
    }
}

TEST_CASE("the fields that say who reads packed batches round trip, and are absent by default", "[protocol][packed]") {
    auto decoded_as = [](auto message) {
        using T = decltype(message);
        Frames frames = encode(std::move(message));
        auto decoded = decode(frames);
        REQUIRE(decoded);
        return std::get<T>(std::move(decoded.value()));
    };
    Ready ready;
    ready.queues = {"q"};
    CHECK_FALSE(decoded_as(ready).reads_packed);
    ready.reads_packed = true;
    CHECK(decoded_as(ready).reads_packed);
    Heartbeat heartbeat;
    CHECK_FALSE(decoded_as(heartbeat).reads_packed);
    heartbeat.reads_packed = true;
    CHECK(decoded_as(heartbeat).reads_packed);
    Accepted accepted{"j", false, "j", 7};
    CHECK_FALSE(decoded_as(accepted).reads_packed);
    accepted.reads_packed = true;
    CHECK(decoded_as(std::move(accepted)).reads_packed);
    Submit submit = make_submit("j", "q", true, payload_of("x"));
    submit.reads_packed = true;
    CHECK(decoded_as(std::move(submit)).reads_packed);
    CHECK_FALSE(decoded_as(make_submit("j", "q", true, payload_of("x"))).reads_packed);
}

}  // namespace
}  // namespace corsair::protocol
