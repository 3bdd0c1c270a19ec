// The command table (kCommands) against docs/protocol.md §4, and the predicates that read it.
#include "corsair/protocol/command.hpp"

#include <catch2/catch.hpp>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "corsair/protocol/messages.hpp"

namespace corsair::protocol {
namespace {

// One row of the table in docs/protocol.md §4: | `0x01` | SUBMIT | producer -> broker | yes: ... | ... |
struct DocumentedRow {
    int code = 0;
    std::string name;
    std::string directions;  // e.g. "producer -> broker, broker -> producer"
    std::string payload;     // "no", "yes: ..." or "one per entry: ..."
};

std::vector<std::string> cells_of(const std::string& line) {
    std::vector<std::string> cells;
    std::stringstream stream(line.substr(1));
    std::string cell;
    while (std::getline(stream, cell, '|')) {
        const auto first = cell.find_first_not_of(' ');
        const auto last = cell.find_last_not_of(' ');
        cells.push_back(first == std::string::npos ? "" : cell.substr(first, last - first + 1));
    }
    return cells;
}

std::vector<DocumentedRow> documented_rows() {
    std::ifstream doc(CORSAIR_PROTOCOL_DOC);
    REQUIRE(doc.good());
    std::vector<DocumentedRow> rows;
    bool in_table = false;
    for (std::string line; std::getline(doc, line);) {
        if (line.rfind("## 4. Command table", 0) == 0) in_table = true;
        if (!in_table) continue;
        if (line.rfind("## 5.", 0) == 0) break;
        if (line.rfind("| `0x", 0) != 0) continue;
        const auto cells = cells_of(line);
        REQUIRE(cells.size() >= 4);
        rows.push_back({std::stoi(cells[0].substr(1, 4), nullptr, 16), cells[1], cells[2], cells[3]});
    }
    return rows;
}

// The directions a row names, as the document spells them, in any order.
std::set<std::string> directions_named(Directions directions) {
    std::set<std::string> names;
    if (directions.contains(Direction::producer_to_broker)) names.insert("producer -> broker");
    if (directions.contains(Direction::broker_to_producer)) names.insert("broker -> producer");
    if (directions.contains(Direction::worker_to_broker)) names.insert("worker -> broker");
    if (directions.contains(Direction::broker_to_worker)) names.insert("broker -> worker");
    return names;
}

std::set<std::string> directions_named(const std::string& cell) {
    std::set<std::string> names;
    std::stringstream stream(cell);
    for (std::string name; std::getline(stream, name, ',');) names.insert(name.substr(name.find_first_not_of(' ')));
    return names;
}

FrameRule frame_rule_of(const std::string& payload_cell) {
    if (payload_cell == "no") return FrameRule::header_only;
    if (payload_cell.rfind("yes", 0) == 0) return FrameRule::payload;
    if (payload_cell.rfind("one per entry", 0) == 0) return FrameRule::batch;
    FAIL("unknown payload cell: " << payload_cell);
    return FrameRule::header_only;
}

TEST_CASE("the command table is docs/protocol.md's, row by row", "[protocol][command]") {
    const auto documented = documented_rows();
    REQUIRE(documented.size() == kCommandCount);
    for (std::size_t i = 0; i < kCommandCount; ++i) {
        const CommandInfo& row = kCommands[i];
        INFO(row.name);
        CHECK(static_cast<int>(row.command) == documented[i].code);
        CHECK(row.name == documented[i].name);
        CHECK(directions_named(row.directions) == directions_named(documented[i].directions));
        CHECK(row.frames == frame_rule_of(documented[i].payload));
    }
}

TEST_CASE("each command's predicates read its row", "[protocol][command]") {
    for (const CommandInfo& row : kCommands) {
        INFO(row.name);
        const auto code = static_cast<std::uint8_t>(row.command);
        CHECK(is_known_command(code));
        CHECK(find_command(code) == &row);
        CHECK(&kCommands[row_of(row.command)] == &row);
        CHECK(to_string(row.command) == row.name);
        CHECK(carries_payload(row.command) == (row.frames == FrameRule::payload));
        CHECK(is_batch(row.command) == (row.frames == FrameRule::batch));
        CHECK(is_producer_command(row.command) == row.directions.contains(Direction::producer_to_broker));
        CHECK(is_worker_command(row.command) == row.directions.contains(Direction::worker_to_broker));
    }
    CHECK(is_batch(Command::jobs));
    CHECK_FALSE(carries_payload(Command::jobs));
    CHECK(carries_payload(Command::stats_reply));
    CHECK(is_producer_command(Command::queue));
    CHECK_FALSE(is_producer_command(Command::ready));
    CHECK(is_worker_command(Command::heartbeat));
    CHECK_FALSE(is_worker_command(Command::job));
}

TEST_CASE("exactly the table's codes are known: 0x01..0x0F, 0x10..0x1F, 0x20 and 0x21", "[protocol][command]") {
    std::set<int> known;
    for (int code = 0; code <= 0xff; ++code) {
        if (is_known_command(static_cast<std::uint8_t>(code))) known.insert(code);
    }
    std::set<int> expected;
    for (int code = 0x01; code <= 0x21; ++code) expected.insert(code);
    CHECK(known == expected);
    std::set<std::string_view> names;
    for (const auto& row : kCommands) names.insert(row.name);
    CHECK(names.size() == 33);
}

TEST_CASE("an unknown command code has the name ?", "[protocol][command]") {
    CHECK(to_string(static_cast<Command>(0x00)) == "?");
    CHECK(to_string(static_cast<Command>(0x22)) == "?");
    CHECK(find_command(std::uint8_t{0x22}) == nullptr);
    CHECK_FALSE(is_producer_command(static_cast<Command>(0x22)));
    CHECK_FALSE(carries_payload(static_cast<Command>(0x00)));
}

TEST_CASE("each message type maps to its command", "[protocol][command]") {
    CHECK(kCommandOf<Submit> == Command::submit);
    CHECK(kCommandOf<JobResult> == Command::result);
    CHECK(kCommandOf<StatusRequest> == Command::status);
    CHECK(kCommandOf<QueueSettings> == Command::queue);
    CHECK(kCommandOf<DeadRequest> == Command::dead);
    CHECK(kCommandOf<Results> == Command::results);
    CHECK(command_of(Message(Fail{})) == Command::fail);
    CHECK(command_of(Message(StatsReply{})) == Command::stats_reply);
    CHECK(command_of(Message(DeadReply{})) == Command::dead_reply);
    CHECK(command_of(Message(Abandon{})) == Command::abandon);
    CHECK(command_of(Message(Recall{})) == Command::recall);
    CHECK(command_of(Message(Results{})) == Command::results);
}

}  // namespace
}  // namespace corsair::protocol
