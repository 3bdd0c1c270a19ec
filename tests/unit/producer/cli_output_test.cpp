#include "cli_output.hpp"

#include <catch2/catch.hpp>

namespace cli = corsair::producer::cli;
namespace protocol = corsair::protocol;
using corsair::producer::Outcome;

TEST_CASE("outcomes print as one JSON object with result or error", "[producer][cli_output]") {
    SECTION("done") {
        const auto line = cli::json_line(cli::outcome_json(Outcome{"j-1", protocol::JobState::done, 1, "42", ""}));
        CHECK(line == R"({"attempt":1,"id":"j-1","result":"42","state":"done"})");
    }
    SECTION("failed") {
        const auto line = cli::json_line(cli::outcome_json(Outcome{"j-2", protocol::JobState::failed, 3, "", "boom"}));
        CHECK(line == R"({"attempt":3,"error":"boom","id":"j-2","state":"failed"})");
    }
    SECTION("binary results do not break the JSON") {
        const auto line =
            cli::json_line(cli::outcome_json(Outcome{"j", protocol::JobState::done, 1, std::string("\xff\n", 2), ""}));
        CHECK(line.find('\n') == std::string::npos);
        CHECK_NOTHROW(nlohmann::json::parse(line));
    }
}

TEST_CASE("refusals and statuses print as JSON", "[producer][cli_output]") {
    const auto refused =
        cli::refused_json("j", protocol::Error{protocol::ErrorCode::bad_field_value, "queue too long", "j"});
    CHECK(refused["state"] == "refused");
    CHECK(refused["error"] == "bad_field_value: queue too long");
    const auto status =
        cli::status_json(protocol::StatusReply{"j", "q", protocol::JobState::done, 2, "w1", "", protocol::make_payload("r")});
    CHECK(status["state"] == "done");
    CHECK(status["result"] == "r");
    CHECK(status["worker"] == "w1");
}

TEST_CASE("stats print as tables and as one JSON object", "[producer][cli_output]") {
    protocol::StatsReply stats;
    stats.queues.push_back({"wordcount", 5, 2, 100, 1});
    stats.workers.push_back({"host:42", {"wordcount", "images"}, 4, 2, 120, false});
    stats.counters["jobs_submitted"] = 108;
    const auto table = cli::stats_table(stats);
    CHECK_THAT(table, Catch::Contains("QUEUE") && Catch::Contains("wordcount") && Catch::Contains("host:42") &&
                          Catch::Contains("wordcount,images") && Catch::Contains("120ms ago") &&
                          Catch::Contains("jobs_submitted"));
    const auto json = cli::stats_json(stats);
    CHECK(json["queues"][0]["pending"] == 5);
    CHECK(json["workers"][0]["last_heartbeat_ms"] == 120);
    CHECK(json["counters"]["jobs_submitted"] == 108);
    CHECK_THAT(cli::stats_table({}), Catch::Contains("(none)"));
}
