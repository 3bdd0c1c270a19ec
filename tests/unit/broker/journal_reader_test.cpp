#include "journal_reader.hpp"

#include <catch2/catch.hpp>

#include "crc32c.hpp"
#include "journal_error.hpp"
#include "journal_file.hpp"
#include "journal_test_support.hpp"

namespace corsair::broker {
namespace {

using Kind = JournalEnding::Kind;
using test::journal_bytes;
using test::numbered_record;
using test::same_record;
using test::ScratchDir;
using test::write_bytes;

std::vector<JournalRecord> numbered_records(std::uint64_t count) {
    std::vector<JournalRecord> records;
    for (std::uint64_t n = 1; n <= count; ++n) records.push_back(numbered_record(n));
    return records;
}

std::vector<JournalRecord> read_all(JournalReader& reader) {
    std::vector<JournalRecord> records;
    while (auto record = reader.next()) records.push_back(std::move(*record));
    return records;
}

}  // namespace

TEST_CASE("a whole journal reads back every record and ends cleanly", "[broker][journal][journal_reader]") {
    ScratchDir dir;
    const auto records = test::one_record_of_each_type();
    const std::string bytes = journal_bytes(records);
    write_bytes(dir / "journal.log", bytes);

    JournalReader reader(dir / "journal.log");
    const auto read = read_all(reader);
    REQUIRE(read.size() == records.size());
    for (std::size_t i = 0; i < records.size(); ++i) CHECK(same_record(read[i], records[i]));
    CHECK(reader.ending().kind == Kind::clean);
    CHECK(reader.ending().valid_bytes == bytes.size());
    CHECK(reader.records_read() == records.size());
    CHECK_FALSE(reader.next().has_value());
}

TEST_CASE("a journal holding only its header has no records and ends cleanly", "[broker][journal][journal_reader]") {
    ScratchDir dir;
    write_bytes(dir / "journal.log", journal_bytes({}));
    JournalReader reader(dir / "journal.log");
    CHECK_FALSE(reader.next().has_value());
    CHECK(reader.ending().kind == Kind::clean);
    CHECK(reader.ending().valid_bytes == kJournalHeaderBytes);
}

TEST_CASE("a torn last record is cut where it starts, whatever byte the write stopped at",
          "[broker][journal][journal_reader]") {
    ScratchDir dir;
    auto records = numbered_records(4);
    records.push_back(test::one_record_of_each_type().front());  // the last: a submitted with every field
    std::vector<std::size_t> starts;
    const std::string bytes = journal_bytes(records, &starts);
    const std::size_t last_start = starts.back();

    for (std::size_t size = last_start + 1; size < bytes.size(); ++size) {
        INFO("file cut to " << size << " bytes; last record spans " << last_start << ".." << bytes.size());
        write_bytes(dir / "journal.log", bytes.substr(0, size));
        JournalReader reader(dir / "journal.log");
        const auto read = read_all(reader);
        CHECK(read.size() == records.size() - 1);
        CHECK(reader.ending().kind == Kind::torn_tail);
        CHECK(reader.ending().valid_bytes == last_start);
        CHECK(reader.ending().file_bytes == size);
    }
}

TEST_CASE("a bad checksum in the last record, with nothing after it, is a torn tail",
          "[broker][journal][journal_reader]") {
    ScratchDir dir;
    std::vector<std::size_t> starts;
    const std::string bytes = journal_bytes(numbered_records(4), &starts);
    for (std::size_t position = starts.back(); position < bytes.size(); ++position) {
        INFO("flipped byte at " << position);
        std::string damaged = bytes;
        damaged[position] = static_cast<char>(damaged[position] ^ 0x5A);
        write_bytes(dir / "journal.log", damaged);
        JournalReader reader(dir / "journal.log");
        CHECK(read_all(reader).size() == 3);
        CHECK(reader.ending().kind == Kind::torn_tail);
        CHECK(reader.ending().valid_bytes == starts.back());
    }
}

TEST_CASE("a torn tail is cut off by truncate_journal and the file then reads cleanly",
          "[broker][journal][journal_reader]") {
    ScratchDir dir;
    std::vector<std::size_t> starts;
    const std::string bytes = journal_bytes(numbered_records(3), &starts);
    write_bytes(dir / "journal.log", bytes.substr(0, bytes.size() - 5));
    std::uint64_t cut_at = 0;
    {
        JournalReader reader(dir / "journal.log");
        read_all(reader);
        REQUIRE(reader.ending().kind == Kind::torn_tail);
        cut_at = reader.ending().valid_bytes;
    }
    truncate_journal(dir / "journal.log", cut_at);
    JournalReader reader(dir / "journal.log");
    CHECK(read_all(reader).size() == 2);
    CHECK(reader.ending().kind == Kind::clean);
}

TEST_CASE("a file cut inside its header is a torn tail at 0", "[broker][journal][journal_reader]") {
    ScratchDir dir;
    const std::string header = journal_bytes({});
    for (std::size_t size = 0; size < kJournalHeaderBytes; ++size) {
        INFO("size=" << size);
        write_bytes(dir / "journal.log", header.substr(0, size));
        JournalReader reader(dir / "journal.log");
        CHECK_FALSE(reader.next().has_value());
        CHECK(reader.ending().kind == Kind::torn_tail);
        CHECK(reader.ending().valid_bytes == 0);
    }
}

TEST_CASE("zeros after the last record (space allocated but never written) are a torn tail",
          "[broker][journal][journal_reader]") {
    ScratchDir dir;
    const std::string bytes = journal_bytes(numbered_records(3));
    write_bytes(dir / "journal.log", bytes + std::string(4096, '\0'));
    JournalReader reader(dir / "journal.log");
    CHECK(read_all(reader).size() == 3);
    CHECK(reader.ending().kind == Kind::torn_tail);
    CHECK(reader.ending().valid_bytes == bytes.size());
}

TEST_CASE("a flipped byte in the middle of the file is corruption at the damaged record's offset",
          "[broker][journal][journal_reader]") {
    ScratchDir dir;
    std::vector<std::size_t> starts;
    const std::string bytes = journal_bytes(numbered_records(5), &starts);
    const std::size_t damaged_start = starts[2];
    const std::size_t next_start = starts[3];

    // Every byte of the third record in turn: length, checksum, type and body.
    for (std::size_t position = damaged_start; position < next_start; ++position) {
        INFO("flipped byte at " << position);
        std::string damaged = bytes;
        damaged[position] = static_cast<char>(damaged[position] ^ 0x5A);
        write_bytes(dir / "journal.log", damaged);
        JournalReader reader(dir / "journal.log");
        const auto read = read_all(reader);
        CHECK(read.size() == 2);
        const JournalEnding& ending = reader.ending();
        CHECK(ending.kind == Kind::corrupt);
        CHECK(ending.valid_bytes == damaged_start);
        CHECK(ending.resumes_at == next_start);
        CHECK(ending.path == dir / "journal.log");
    }
}

TEST_CASE("corruption is described with the path and byte offset", "[broker][journal][journal_reader]") {
    ScratchDir dir;
    std::vector<std::size_t> starts;
    std::string bytes = journal_bytes(numbered_records(3), &starts);
    bytes[starts[1] + 12] ^= 0x01;
    write_bytes(dir / "journal.log", bytes);
    JournalReader reader(dir / "journal.log");
    read_all(reader);
    const std::string text = reader.ending().describe();
    CHECK_THAT(text, Catch::Contains((dir / "journal.log").string()));
    CHECK_THAT(text, Catch::Contains("corrupt at byte " + std::to_string(starts[1])));
    CHECK_THAT(text, Catch::Contains("checksum mismatch"));
}

TEST_CASE("a record with a good checksum but an undecodable body is corruption even at the tail",
          "[broker][journal][journal_reader]") {
    ScratchDir dir;
    std::string bytes = journal_bytes(numbered_records(2));
    const std::size_t bad_start = bytes.size();
    // dispatched with an empty map: framed correctly, but "id" and "attempt" are missing.
    std::string frame = std::string("\x01\x00\x00\x00", 4) + std::string(4, '\0') + "\x02\x80";
    const std::uint32_t crc = crc32c(frame.data() + 8, 2);
    for (int i = 0; i < 4; ++i) frame[4 + i] = static_cast<char>((crc >> (8 * i)) & 0xFF);
    write_bytes(dir / "journal.log", bytes + frame);

    JournalReader reader(dir / "journal.log");
    CHECK(read_all(reader).size() == 2);
    CHECK(reader.ending().kind == Kind::corrupt);
    CHECK(reader.ending().valid_bytes == bad_start);
    CHECK_THAT(reader.ending().reason, Catch::Contains("missing key=id"));
}

TEST_CASE("a file that is not a journal of a known version is refused when opened", "[broker][journal][journal_reader]") {
    ScratchDir dir;
    SECTION("bad magic") {
        write_bytes(dir / "journal.log", "NOPE" + journal_bytes({}).substr(4));
        CHECK_THROWS_WITH(JournalReader(dir / "journal.log"), Catch::Contains("not a Corsair journal"));
    }
    SECTION("a later format version") {
        write_bytes(dir / "journal.log", std::string("CSRJ\x05\x00\x00\x00", 8));
        CHECK_THROWS_WITH(JournalReader(dir / "journal.log"),
                          Catch::Contains("format version 5") && Catch::Contains("reads versions 1 to 4"));
    }
    SECTION("a missing file") { CHECK_THROWS_AS(JournalReader(dir / "absent.log"), JournalError); }
}

}  // namespace corsair::broker
