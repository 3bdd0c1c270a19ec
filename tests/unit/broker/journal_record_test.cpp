#include "corsair/broker/journal_record.hpp"

#include <catch2/catch.hpp>
#include <iterator>
#include <string>
#include <msgpack.hpp>

#include "crc32c.hpp"
#include "journal_test_support.hpp"

namespace corsair::broker {
namespace {

using test::one_record_of_each_type;
using test::same_record;
using Status = JournalFrame::Status;

// A frame around hand-made body bytes, with a correct checksum.
std::string frame_of(JournalRecordType type, const std::string& body) {
    std::string frame(kJournalFrameHeaderBytes, '\0');
    const auto length = static_cast<std::uint32_t>(body.size());
    frame[8] = static_cast<char>(type);
    frame += body;
    const std::uint32_t crc = crc32c(frame.data() + 8, body.size() + 1);
    for (int i = 0; i < 4; ++i) {
        frame[i] = static_cast<char>((length >> (8 * i)) & 0xFF);
        frame[4 + i] = static_cast<char>((crc >> (8 * i)) & 0xFF);
    }
    return frame;
}

// A msgpack map body written key by key: `write` packs the entries after a map of `keys`.
template <class Write>
std::string msgpack_map(std::uint32_t keys, Write write) {
    msgpack::sbuffer buffer;
    msgpack::packer<msgpack::sbuffer> packer(buffer);
    packer.pack_map(keys);
    write(packer);
    return {buffer.data(), buffer.size()};
}

// Bytes as lowercase hex, for pinning what encode() writes.
std::string hex_of(const std::string& bytes) {
    static const char kDigits[] = "0123456789abcdef";
    std::string hex;
    for (unsigned char byte : bytes) {
        hex += kDigits[byte >> 4];
        hex += kDigits[byte & 0x0f];
    }
    return hex;
}

}  // namespace

TEST_CASE("every journal record type round trips through encode and decode", "[broker][journal][journal_record]") {
    for (const auto& original : one_record_of_each_type()) {
        INFO("type=" << to_string(type_of(original)));
        std::string bytes;
        encode(original, bytes);
        const JournalFrame frame = check_frame(bytes);
        REQUIRE(frame.status == Status::intact);
        CHECK(frame.type == type_of(original));
        CHECK(frame.frame_bytes == bytes.size());
        auto decoded = decode_body(frame.type, frame.body);
        REQUIRE(decoded.has_value());
        CHECK(same_record(*decoded, original));
    }
}

TEST_CASE("absent optional fields stay absent after a round trip", "[broker][journal][journal_record]") {
    SECTION("submitted with the queue's defaults") {
        JournalSubmitted original;
        original.id = "plain";
        original.queue = "q";
        std::string bytes;
        encode(original, bytes);
        auto decoded = decode_body(JournalRecordType::submitted, check_frame(bytes).body);
        REQUIRE(decoded.has_value());
        const auto& submitted = std::get<JournalSubmitted>(*decoded);
        CHECK_FALSE(submitted.retry.max_attempts.has_value());
        CHECK_FALSE(submitted.retry.backoff_ms.has_value());
        CHECK_FALSE(submitted.timeout_ms.has_value());
        CHECK(submitted.payload.empty());
        CHECK(same_record(*decoded, original));
    }
    SECTION("queue settings naming only the queue") {
        JournalQueueSettings original;
        original.settings.queue = "q";
        std::string bytes;
        encode(original, bytes);
        auto decoded = decode_body(JournalRecordType::queue_settings, check_frame(bytes).body);
        REQUIRE(decoded.has_value());
        const auto& settings = std::get<JournalQueueSettings>(*decoded).settings;
        CHECK_FALSE(settings.is_paused.has_value());
        CHECK_FALSE(settings.dead_max_age_ms.has_value());
        CHECK(same_record(*decoded, original));
    }
}

TEST_CASE("encode appends after what the buffer already holds", "[broker][journal][journal_record]") {
    const auto records = one_record_of_each_type();
    std::string bytes;
    for (const auto& record : records) encode(record, bytes);
    std::size_t offset = 0;
    for (const auto& record : records) {
        const JournalFrame frame = check_frame(std::string_view(bytes).substr(offset));
        REQUIRE(frame.status == Status::intact);
        CHECK(same_record(*decode_body(frame.type, frame.body), record));
        offset += frame.frame_bytes;
    }
    CHECK(offset == bytes.size());
}

TEST_CASE("the frame layout is length, checksum, type, msgpack body", "[broker][journal][journal_record]") {
    std::string bytes;
    encode(JournalPurged{"x"}, bytes);
    const std::uint32_t body_bytes = static_cast<std::uint8_t>(bytes[0]) | static_cast<std::uint8_t>(bytes[1]) << 8;
    CHECK(body_bytes + kJournalFrameHeaderBytes == bytes.size());
    CHECK(bytes[2] == 0);
    CHECK(bytes[3] == 0);
    CHECK(static_cast<std::uint8_t>(bytes[8]) == 8);
    std::uint32_t crc = 0;
    for (int i = 0; i < 4; ++i) crc |= static_cast<std::uint32_t>(static_cast<std::uint8_t>(bytes[4 + i])) << (8 * i);
    CHECK(crc == crc32c(bytes.data() + 8, bytes.size() - 8));
    // Body: {"id": "x"} as a fixmap.
    CHECK(bytes.substr(9) == std::string("\x81\xa2id\xa1x", 6));
}

// Journals outlive the broker that wrote them: the bytes of each record type must never change
// within a format version.
TEST_CASE("each record type is written to the same bytes as always", "[broker][journal][journal_record]") {
    const char* const kExpected[] = {
        "b50000006afd4d01018ca26964a56a6f622d31a57175657565a6656d61696c73a77061796c6f6164c409706179006c6f"
        "6164ffa87072696f72697479efac6d61785f617474656d70747305aa6261636b6f66665f6d73ccfaae6261636b6f6666"
        "5f6d61785f6d73cdea60b26261636b6f66665f6a69747465725f7063740faa74696d656f75745f6d73cd7530ab726561"
        "64795f61745f6d73cf0000018bcfe5687baa756e697175655f6b6579a7757365722d3432a873657175656e636563",
        "1300000007bd156b0282a26964a56a6f622d31a7617474656d707403",
        "38000000743999600384a26964a56a6f622d31a7617474656d707403a6726573756c74c40772657300756c74ab656e64"
        "65645f61745f6d73cf0000018bcfe569c8",
        "4c000000cc0e95420485a26964a56a6f622d31a7617474656d707402a56572726f72b2636f6e6e656374696f6e207265"
        "6675736564a97065726d616e656e74c3ab72657472795f61745f6d73cf0000018bcfe56be8",
        "1e0000004882c9740582a26964a56a6f622d31aa646965645f61745f6d73cf0000018bcfe56fd0",
        "1f00000023824d2f0682a26964a56a6f622d32ab656e6465645f61745f6d73cf0000018bcfe573b8",
        "0a0000007fc82f740781a26964a56a6f622d31",
        "0a00000010814bd30881a26964a56a6f622d33",
        "95000000be5a136f098aa57175657565a6656d61696c73a6706175736564c3aa6d61785f6c656e677468cd03e8ac6d61"
        "785f617474656d70747307aa6261636b6f66665f6d7364ae6261636b6f66665f6d61785f6d73cd1388b26261636b6f66"
        "665f6a69747465725f70637400aa74696d656f75745f6d7300ae646561645f6d61785f636f756e740caf646561645f6d"
        "61785f6167655f6d73ce05265c00",
        "0a000000887c8e2c0a81a26964a56a6f622d34",
        "0c0100002565d8d70bde0010a26964a56a6f622d35a57175657565a6656d61696c73a57374617465a764656c61796564"
        "a77061796c6f6164c408706179006c6f6164a87072696f7269747903ac6d61785f617474656d70747305aa6261636b6f"
        "66665f6d73ccfaaa74696d656f75745f6d73cd03e8aa756e697175655f6b6579a7757365722d3433a873657175656e63"
        "6564a7617474656d707404b2756e636f756e7465645f617474656d70747301a66572726f72739282a7617474656d7074"
        "02a56572726f72a5666972737482a7617474656d707404a56572726f72a67365636f6e64aa6c6173745f6572726f72ad"
        "7365636f6e642c2077686f6c65a561745f6d73cf0000018bcfe577a0a6726573756c74c400",
        "0c0000009e14d2170c81a57175657565a47479706f",
    };
    const auto records = one_record_of_each_type();
    REQUIRE(records.size() == std::size(kExpected));
    for (std::size_t i = 0; i < records.size(); ++i) {
        INFO("type=" << to_string(type_of(records[i])));
        std::string bytes;
        encode(records[i], bytes);
        CHECK(hex_of(bytes) == kExpected[i]);
    }
    JournalSubmitted plain;
    plain.id = "j";
    plain.queue = "q";
    std::string bytes;
    encode(plain, bytes);
    CHECK(hex_of(bytes) ==
          "45000000ab3506280187a26964a16aa57175657565a171a77061796c6f6164c400a87072696f7269747900ab72656164"
          "795f61745f6d7300aa756e697175655f6b6579a0a873657175656e636500");
}

TEST_CASE("check_frame tells intact, truncated and damaged frames apart", "[broker][journal][journal_record]") {
    std::string bytes;
    encode(JournalDispatched{"job-1", 2}, bytes);

    SECTION("every proper prefix is truncated") {
        for (std::size_t size = 0; size < bytes.size(); ++size) {
            INFO("size=" << size);
            CHECK(check_frame(std::string_view(bytes).substr(0, size)).status == Status::truncated);
        }
    }
    SECTION("a flipped body byte fails the checksum") {
        bytes.back() ^= 0x01;
        const JournalFrame frame = check_frame(bytes);
        CHECK(frame.status == Status::damaged);
        CHECK(std::string(frame.reason) == "checksum mismatch");
    }
    SECTION("type 0 and unknown types are damage") {
        for (unsigned type : {0u, 10u, 255u}) {
            std::string copy = bytes;
            copy[8] = static_cast<char>(type);
            CHECK(check_frame(copy).status == Status::damaged);
        }
    }
    SECTION("zero-filled space is never a record") {
        CHECK(check_frame(std::string(64, '\0')).status == Status::damaged);
    }
    SECTION("a length over the limit is damage, not a long wait for more bytes") {
        std::string copy = bytes;
        copy[3] = '\x7f';
        CHECK(check_frame(copy).status == Status::damaged);
    }
}

TEST_CASE("decode_body names what is wrong instead of throwing", "[broker][journal][journal_record]") {
    SECTION("a missing required key") {
        auto decoded =
            decode_body(JournalRecordType::dispatched,
                        msgpack_map(1, [](auto& p) { p.pack(std::string("id")), p.pack(std::string("a")); }));
        REQUIRE_FALSE(decoded.has_value());
        CHECK(decoded.error() == "missing key=attempt");
    }
    SECTION("a key of the wrong type") {
        auto decoded = decode_body(JournalRecordType::dispatched, msgpack_map(2, [](auto& p) {
                                       p.pack(std::string("id")), p.pack(1);
                                       p.pack(std::string("attempt")), p.pack(1);
                                   }));
        REQUIRE_FALSE(decoded.has_value());
        CHECK(decoded.error() == "not a string key=id");
    }
    SECTION("a number too large for its field") {
        auto decoded = decode_body(JournalRecordType::dispatched, msgpack_map(2, [](auto& p) {
                                       p.pack(std::string("id")), p.pack(std::string("a"));
                                       p.pack(std::string("attempt")), p.pack(std::uint64_t{1} << 40);
                                   }));
        REQUIRE_FALSE(decoded.has_value());
        CHECK(decoded.error() == "out of range key=attempt");
    }
    SECTION("a job record in a state no broker writes") {
        JournalJob job;
        job.id = "a";
        job.queue = "q";
        std::string framed;
        encode(job, framed);
        std::string body = framed.substr(kJournalFrameHeaderBytes);
        const std::string pending = "\xa7pending";
        const auto at = body.find(pending);
        REQUIRE(at != std::string::npos);
        body.replace(at, pending.size(), "\xa7zombied");
        auto decoded = decode_body(JournalRecordType::job, body);
        REQUIRE_FALSE(decoded.has_value());
        CHECK(decoded.error() == "unknown job state key=state");
    }
    SECTION("bytes that are not msgpack") {
        auto decoded = decode_body(JournalRecordType::purged, std::string("\x81\xa2id", 4));
        CHECK_FALSE(decoded.has_value());
    }
    SECTION("a body that is not a map") {
        auto decoded = decode_body(JournalRecordType::purged, std::string("\x93\x01\x02\x03", 4));
        REQUIRE_FALSE(decoded.has_value());
        CHECK(decoded.error() == "body is not a map");
    }
}

TEST_CASE("unknown keys are ignored, so optional keys can be added within a format version",
          "[broker][journal][journal_record]") {
    const std::string body = msgpack_map(3, [](auto& p) {
        p.pack(std::string("id")), p.pack(std::string("job-1"));
        p.pack(std::string("attempt")), p.pack(4);
        p.pack(std::string("worker_hint")), p.pack(std::string("from a later broker"));
    });
    const std::string frame = frame_of(JournalRecordType::dispatched, body);
    const JournalFrame checked = check_frame(frame);
    REQUIRE(checked.status == Status::intact);
    auto decoded = decode_body(checked.type, checked.body);
    REQUIRE(decoded.has_value());
    CHECK(same_record(*decoded, JournalDispatched{"job-1", 4}));
}

TEST_CASE("find_next_record skips damage to the next intact record", "[broker][journal][journal_record]") {
    std::string bytes = "garbage that is not a record at all";
    const std::size_t first = bytes.size();
    encode(JournalRetried{"job-1"}, bytes);
    CHECK(find_next_record(bytes, 0) == first);
    CHECK(find_next_record(bytes, first) == first);
    CHECK_FALSE(find_next_record(bytes, first + 1).has_value());
}

TEST_CASE("the optional times and worker of done and job records round trip, and their absence too",
          "[broker][journal][journal_record]") {
    JournalDone done{"job-5", 1, "r", 1'700'000'005'000, 1'700'000'004'500, "host:42"};
    JournalJob job;
    job.id = "job-6";
    job.queue = "q";
    job.state = JournalJob::State::done;
    job.created_ms = 1'700'000'000'000;
    job.started_ms = 1'700'000'000'100;
    job.worker = "host:43";
    JournalSubmitted submitted;
    submitted.id = "job-7";
    submitted.queue = "q";
    submitted.created_ms = 1'700'000'000'200;
    for (const JournalRecord& original : {JournalRecord(done), JournalRecord(job), JournalRecord(submitted)}) {
        std::string bytes;
        encode(original, bytes);
        const JournalFrame frame = check_frame(bytes);
        auto decoded = decode_body(frame.type, frame.body);
        REQUIRE(decoded.has_value());
        CHECK(same_record(*decoded, original));
    }
    std::string bytes;
    encode(JournalDone{"job-8", 1, "r", 1'700'000'005'000, std::nullopt, {}}, bytes);
    const auto decoded = decode_body(JournalRecordType::done, check_frame(bytes).body);
    REQUIRE(decoded.has_value());
    CHECK_FALSE(std::get<JournalDone>(*decoded).started_ms);
    CHECK(std::get<JournalDone>(*decoded).worker.empty());
}

}  // namespace corsair::broker
