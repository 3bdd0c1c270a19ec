#include "journal_salvage.hpp"

#include <catch2/catch.hpp>

#include "journal_error.hpp"
#include "journal_reader.hpp"
#include "journal_test_support.hpp"

namespace corsair::broker {
namespace {

using test::journal_bytes;
using test::numbered_record;
using test::same_record;
using test::ScratchDir;
using test::write_bytes;

std::vector<JournalRecord> numbered_records(std::uint64_t count) {
    std::vector<JournalRecord> records;
    for (std::uint64_t n = 1; n <= count; ++n) records.push_back(numbered_record(n, 20 + 7 * n));
    return records;
}

// Reads `path` and checks it holds exactly `expected`, in order, and ends cleanly.
void check_holds(const std::filesystem::path& path, const std::vector<JournalRecord>& expected) {
    JournalReader reader(path);
    std::size_t index = 0;
    while (auto record = reader.next()) {
        REQUIRE(index < expected.size());
        CHECK(same_record(*record, expected[index]));
        ++index;
    }
    CHECK(index == expected.size());
    CHECK(reader.ending().kind == JournalEnding::Kind::clean);
}

}  // namespace

TEST_CASE("salvage keeps every intact record around a corrupted one", "[broker][journal][journal_salvage]") {
    ScratchDir dir;
    const auto records = numbered_records(7);
    std::vector<std::size_t> starts;
    std::string bytes = journal_bytes(records, &starts);
    const std::size_t damaged = 3;
    const std::size_t damaged_bytes = starts[damaged + 1] - starts[damaged];

    // Each header byte (length, checksum, type), and the body's first, middle and last bytes.
    std::vector<std::size_t> positions;
    for (std::size_t i = 0; i <= kJournalFrameHeaderBytes; ++i) positions.push_back(starts[damaged] + i);
    positions.push_back((starts[damaged] + starts[damaged + 1]) / 2);
    positions.push_back(starts[damaged + 1] - 1);
    for (const std::size_t position : positions) {
        INFO("flipped byte at " << position);
        std::string copy = bytes;
        copy[position] = static_cast<char>(copy[position] ^ 0xFF);
        write_bytes(dir / "in.log", copy);
        std::filesystem::remove(dir / "out.log");

        const SalvageReport report = salvage_journal(dir / "in.log", dir / "out.log");
        CHECK(report.records_kept == records.size() - 1);
        CHECK(report.bytes_skipped == damaged_bytes);
        CHECK(report.damaged_regions == 1);
        auto expected = records;
        expected.erase(expected.begin() + damaged);
        check_holds(dir / "out.log", expected);
    }
}

TEST_CASE("salvage resynchronises after several damaged regions and a torn tail",
          "[broker][journal][journal_salvage]") {
    ScratchDir dir;
    const auto records = numbered_records(10);
    std::vector<std::size_t> starts;
    std::string bytes = journal_bytes(records, &starts);
    // Garbage inserted between records 2 and 3, record 6 damaged, and the last record torn.
    const std::string garbage = "\x05\x00\x00\x00 not a record \x01\x02\x03";
    std::string damaged = bytes.substr(0, starts[2]) + garbage + bytes.substr(starts[2], bytes.size() - starts[2] - 4);
    damaged[starts[6] + garbage.size() + 10] ^= 0x40;
    write_bytes(dir / "in.log", damaged);

    const SalvageReport report = salvage_journal(dir / "in.log", dir / "out.log");
    CHECK(report.records_kept == 8);
    CHECK(report.damaged_regions == 3);
    CHECK(report.bytes_skipped == garbage.size() + (starts[7] - starts[6]) + (bytes.size() - starts[9] - 4));
    auto expected = records;
    expected.erase(expected.begin() + 9);
    expected.erase(expected.begin() + 6);
    check_holds(dir / "out.log", expected);
}

TEST_CASE("salvage of an intact journal copies it unchanged", "[broker][journal][journal_salvage]") {
    ScratchDir dir;
    const std::string bytes = journal_bytes(test::one_record_of_each_type());
    write_bytes(dir / "in.log", bytes);
    const SalvageReport report = salvage_journal(dir / "in.log", dir / "out.log");
    CHECK(report.records_kept == test::one_record_of_each_type().size());
    CHECK(report.bytes_skipped == 0);
    CHECK(report.damaged_regions == 0);
    CHECK(test::read_bytes(dir / "out.log") == bytes);
}

TEST_CASE("salvage reads past a damaged header", "[broker][journal][journal_salvage]") {
    ScratchDir dir;
    std::string bytes = journal_bytes(numbered_records(3));
    bytes[0] = 'X';
    write_bytes(dir / "in.log", bytes);
    const SalvageReport report = salvage_journal(dir / "in.log", dir / "out.log");
    CHECK(report.records_kept == 3);
    check_holds(dir / "out.log", numbered_records(3));
}

TEST_CASE("salvage never overwrites an existing file", "[broker][journal][journal_salvage]") {
    ScratchDir dir;
    write_bytes(dir / "in.log", journal_bytes(numbered_records(2)));
    write_bytes(dir / "out.log", "precious");
    CHECK_THROWS_AS(salvage_journal(dir / "in.log", dir / "out.log"), JournalError);
    CHECK(test::read_bytes(dir / "out.log") == "precious");
    CHECK_THROWS_AS(salvage_journal(dir / "in.log", dir / "in.log"), JournalError);
    CHECK_THROWS_AS(salvage_journal(dir / "absent.log", dir / "out2.log"), JournalError);
    CHECK_FALSE(std::filesystem::exists(dir / "out2.log"));
}

}  // namespace corsair::broker

namespace corsair::broker {

TEST_CASE("salvage names the jobs whose history may be incomplete", "[broker][journal][journal_salvage]") {
    ScratchDir dir;
    // job-1 and job-2 are submitted; job-2 then ends done; job-3's submit is followed by its DONE.
    std::vector<JournalRecord> records = {numbered_record(1), numbered_record(2),
                                          JournalDone{"job-2", 1, "result", 0}, numbered_record(3),
                                          JournalDone{"job-3", 1, "result", 0}};
    std::vector<std::size_t> starts;
    std::string bytes = journal_bytes(records, &starts);

    SECTION("a damaged record's id is named when still legible") {
        bytes[starts[2] + 1] = static_cast<char>(bytes[starts[2] + 1] ^ 0xFF);  // job-2's DONE: checksum
        write_bytes(dir / "in.log", bytes);
        const SalvageReport report = salvage_journal(dir / "in.log", dir / "out.log");
        CHECK(report.affected_ids == std::vector<std::string>{"job-2"});
    }
    SECTION("a job whose submit was lost but whose later records were kept is named") {
        bytes[starts[3] + 1] = static_cast<char>(bytes[starts[3] + 1] ^ 0xFF);  // job-3's submit
        write_bytes(dir / "in.log", bytes);
        const SalvageReport report = salvage_journal(dir / "in.log", dir / "out.log");
        CHECK(report.affected_ids == std::vector<std::string>{"job-3"});
    }
    SECTION("an intact journal names none") {
        write_bytes(dir / "in.log", bytes);
        CHECK(salvage_journal(dir / "in.log", dir / "out.log").affected_ids.empty());
    }
}

}  // namespace corsair::broker
