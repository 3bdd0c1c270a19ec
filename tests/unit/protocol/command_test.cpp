// The command table: codes, names, payload rule and message-type mapping.
#include <catch2/catch.hpp>

#include <set>
#include <string>

#include "corsair/protocol/command.hpp"
#include "corsair/protocol/messages.hpp"

namespace corsair::protocol {
namespace {

struct CommandRow {
    Command command;
    std::uint8_t code;
    const char* name;
    bool carries_payload;
};

// docs/protocol.md §4, row by row.
constexpr CommandRow kTable[] = {
    {Command::submit, 0x01, "SUBMIT", true},
    {Command::accepted, 0x02, "ACCEPTED", false},
    {Command::result, 0x03, "RESULT", true},
    {Command::status, 0x04, "STATUS", false},
    {Command::status_reply, 0x05, "STATUS_REPLY", true},
    {Command::stats, 0x06, "STATS", false},
    {Command::stats_reply, 0x07, "STATS_REPLY", true},
    {Command::error, 0x08, "ERROR", false},
    {Command::cancel, 0x09, "CANCEL", false},
    {Command::retry, 0x0A, "RETRY", false},
    {Command::purge, 0x0B, "PURGE", false},
    {Command::dead, 0x0C, "DEAD", false},
    {Command::dead_reply, 0x0D, "DEAD_REPLY", true},
    {Command::queue, 0x0E, "QUEUE", false},
    {Command::ok, 0x0F, "OK", false},
    {Command::ready, 0x10, "READY", false},
    {Command::job, 0x11, "JOB", true},
    {Command::done, 0x12, "DONE", true},
    {Command::fail, 0x13, "FAIL", false},
    {Command::heartbeat, 0x14, "HEARTBEAT", false},
    {Command::drain, 0x15, "DRAIN", false},
    {Command::disconnect, 0x16, "DISCONNECT", false},
    {Command::progress, 0x17, "PROGRESS", false},
    {Command::abandon, 0x18, "ABANDON", false},
    {Command::jobs, 0x19, "JOBS", false},  // one payload frame per entry: is_batch, not carries_payload
    {Command::dones, 0x1A, "DONES", false},
    {Command::results, 0x1B, "RESULTS", false},
};

TEST_CASE("each command has its code, name and payload rule", "[protocol][command]") {
    for (const auto& row : kTable) {
        INFO(row.name);
        CHECK(static_cast<std::uint8_t>(row.command) == row.code);
        CHECK(to_string(row.command) == row.name);
        CHECK(carries_payload(row.command) == row.carries_payload);
        CHECK(is_known_command(row.code));
        CHECK(is_batch(row.command) == (row.command == Command::jobs || row.command == Command::dones ||
                                        row.command == Command::results));
    }
}

TEST_CASE("exactly the twenty-seven table codes are known: 0x01..0x0F and 0x10..0x1B", "[protocol][command]") {
    std::set<int> known;
    for (int code = 0; code <= 0xff; ++code) {
        if (is_known_command(static_cast<std::uint8_t>(code))) known.insert(code);
    }
    std::set<int> expected;
    for (const auto& row : kTable) expected.insert(row.code);
    CHECK(expected.size() == 27);
    CHECK(known == expected);
    std::set<std::string> names;
    for (const auto& row : kTable) names.insert(row.name);
    CHECK(names.size() == 27);
}

TEST_CASE("an unknown command code has the name ?", "[protocol][command]") {
    CHECK(to_string(static_cast<Command>(0x00)) == "?");
    CHECK(to_string(static_cast<Command>(0x1C)) == "?");
}

TEST_CASE("each message type maps to its command", "[protocol][command]") {
    CHECK(kCommandOf<Submit> == Command::submit);
    CHECK(kCommandOf<Accepted> == Command::accepted);
    CHECK(kCommandOf<JobResult> == Command::result);
    CHECK(kCommandOf<StatusRequest> == Command::status);
    CHECK(kCommandOf<StatusReply> == Command::status_reply);
    CHECK(kCommandOf<StatsRequest> == Command::stats);
    CHECK(kCommandOf<StatsReply> == Command::stats_reply);
    CHECK(kCommandOf<Error> == Command::error);
    CHECK(kCommandOf<Cancel> == Command::cancel);
    CHECK(kCommandOf<Retry> == Command::retry);
    CHECK(kCommandOf<Purge> == Command::purge);
    CHECK(kCommandOf<DeadRequest> == Command::dead);
    CHECK(kCommandOf<DeadReply> == Command::dead_reply);
    CHECK(kCommandOf<QueueSettings> == Command::queue);
    CHECK(kCommandOf<Ok> == Command::ok);
    CHECK(kCommandOf<Ready> == Command::ready);
    CHECK(kCommandOf<Job> == Command::job);
    CHECK(kCommandOf<Done> == Command::done);
    CHECK(kCommandOf<Fail> == Command::fail);
    CHECK(kCommandOf<Heartbeat> == Command::heartbeat);
    CHECK(kCommandOf<Drain> == Command::drain);
    CHECK(kCommandOf<Disconnect> == Command::disconnect);
    CHECK(kCommandOf<Progress> == Command::progress);
    CHECK(kCommandOf<Jobs> == Command::jobs);
    CHECK(kCommandOf<Dones> == Command::dones);
    CHECK(kCommandOf<Results> == Command::results);
    CHECK(kCommandOf<Abandon> == Command::abandon);
    CHECK(command_of(Message(Fail{})) == Command::fail);
    CHECK(command_of(Message(StatsReply{})) == Command::stats_reply);
    CHECK(command_of(Message(DeadReply{})) == Command::dead_reply);
    CHECK(command_of(Message(Abandon{})) == Command::abandon);
}

}  // namespace
}  // namespace corsair::protocol
