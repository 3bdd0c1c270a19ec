#include "cli_output.hpp"

#include <catch2/catch.hpp>

namespace cli = corsair::producer::cli;
namespace protocol = corsair::protocol;
using corsair::producer::Event;
using corsair::producer::JobProgress;
using corsair::producer::Outcome;
using nlohmann::json;

namespace {

protocol::StatusReply status_of(protocol::JobState state) {
    protocol::StatusReply status;
    status.id = "j";
    status.queue = "q";
    status.state = state;
    status.attempt = 2;
    status.max_attempts = 5;
    status.priority = -3;
    return status;
}

protocol::Error refusal(protocol::ErrorCode code, std::string message) {
    protocol::Error error;
    error.code = code;
    error.message = std::move(message);
    error.id = "j";
    return error;
}

}  // namespace

TEST_CASE("outcomes print as one JSON object with result or error", "[producer][cli_output]") {
    SECTION("done") {
        const auto line =
            cli::json_line(cli::outcome_json(Outcome{"j-1", protocol::JobState::done, 1, "42", "", "j-1"}));
        CHECK(line == R"({"attempt":1,"id":"j-1","result":"42","state":"done"})");
    }
    SECTION("failed") {
        const auto line =
            cli::json_line(cli::outcome_json(Outcome{"j-2", protocol::JobState::failed, 3, "", "boom", "j-2"}));
        CHECK(line == R"({"attempt":3,"error":"boom","id":"j-2","state":"failed"})");
    }
    SECTION("cancelled") {
        const auto line =
            cli::json_line(cli::outcome_json(Outcome{"j-3", protocol::JobState::cancelled, 1, "", "by operator", ""}));
        CHECK(line == R"({"attempt":1,"error":"by operator","id":"j-3","state":"cancelled"})");
    }
    SECTION("another job's outcome, through a unique key") {
        const auto j = cli::outcome_json(Outcome{"mine", protocol::JobState::done, 1, "r", "", "holder"});
        CHECK(j["id"] == "mine");
        CHECK(j["job_id"] == "holder");
    }
    SECTION("binary results do not break the JSON") {
        const Outcome binary{"j", protocol::JobState::done, 1, std::string("\xff\n", 2), "", ""};
        const auto line = cli::json_line(cli::outcome_json(binary));
        CHECK(line.find('\n') == std::string::npos);
        CHECK_NOTHROW(json::parse(line));
    }
}

TEST_CASE("acceptances and progress reports print as JSON and text", "[producer][cli_output]") {
    Event accepted;
    accepted.id = "mine";
    accepted.job_id = "mine";
    CHECK(cli::accepted_json(accepted) == json{{"id", "mine"}});
    accepted.job_id = "holder";
    accepted.existed = true;
    CHECK(cli::accepted_json(accepted) == json{{"id", "mine"}, {"existed", true}, {"job_id", "holder"}});

    const JobProgress progress{2, 40, "resizing\nimages"};
    CHECK(cli::json_line(cli::progress_json("j", progress)) ==
          R"({"id":"j","message":"resizing\nimages","progress":40,"state":"running"})");
    CHECK(cli::progress_json("mine", progress, "holder")["job_id"] == "holder");
    CHECK(cli::progress_text("j", progress) == "job j: 40% resizing images");
    CHECK(cli::progress_text("j", JobProgress{1, 100, ""}) == "job j: 100%");
}

TEST_CASE("refusals print as JSON", "[producer][cli_output]") {
    const auto refused = cli::refused_json("j", refusal(protocol::ErrorCode::bad_field_value, "queue too long"));
    CHECK(refused["state"] == "refused");
    CHECK(refused["error"] == "bad_field_value: queue too long");
    CHECK(cli::error_text(refusal(protocol::ErrorCode::queue_full, "")) == "queue_full");
}

TEST_CASE("a status shows state, attempts, priority, readiness, progress and errors", "[producer][cli_output]") {
    SECTION("a delayed job that failed twice") {
        auto status = status_of(protocol::JobState::delayed);
        status.ready_in_ms = 90'000;
        status.error = "exit status 2";
        status.errors = {{1, "exit status 1\nsee log"}, {2, "exit status 2"}};
        CHECK(cli::status_text(status) ==
              "id:        j\n"
              "queue:     q\n"
              "state:     delayed\n"
              "attempt:   2/5\n"
              "priority:  -3\n"
              "ready in:  1m30s\n"
              "error:     exit status 2\n"
              "errors:\n"
              "  attempt 1: exit status 1 see log\n"
              "  attempt 2: exit status 2\n");
        const auto j = cli::status_json(status);
        CHECK(j["state"] == "delayed");
        CHECK(j["ready_in_ms"] == 90'000);
        CHECK(j["max_attempts"] == 5);
        CHECK(j["priority"] == -3);
        CHECK(j["progress"] == nullptr);
        CHECK(j["errors"] == json::array({{{"attempt", 1}, {"error", "exit status 1\nsee log"}},
                                          {{"attempt", 2}, {"error", "exit status 2"}}}));
        CHECK_FALSE(j.contains("result"));
    }
    SECTION("a running job with progress") {
        auto status = status_of(protocol::JobState::running);
        status.worker = "host:42";
        status.progress = 75;
        status.progress_message = "encoding";
        CHECK_THAT(cli::status_text(status), Catch::Contains("worker:    host:42\n") &&
                                                 Catch::Contains("progress:  75% encoding\n") &&
                                                 !Catch::Contains("ready in"));
        const auto j = cli::status_json(status);
        CHECK(j["progress"] == 75);
        CHECK(j["progress_message"] == "encoding");
    }
    SECTION("a done job") {
        auto status = status_of(protocol::JobState::done);
        status.payload = protocol::make_payload("r");
        CHECK_THAT(cli::status_text(status), Catch::Contains("result:    1 bytes\n"));
        CHECK(cli::status_json(status)["result"] == "r");
    }
    SECTION("a broker that reports no max attempts") {
        auto status = status_of(protocol::JobState::cancelled);
        status.max_attempts = 0;
        CHECK_THAT(cli::status_text(status), Catch::Contains("attempt:   2\n") && Catch::Contains("cancelled"));
    }
}

TEST_CASE("stats print as tables and as one JSON object", "[producer][cli_output]") {
    protocol::StatsReply stats;
    stats.queues.push_back({"wordcount", 5, 2, 100, 1, 7, 3, true});
    stats.workers.push_back({"host:42", {"wordcount", "images"}, 4, 2, 120, false, 0, 0});
    stats.counters["jobs_submitted"] = 108;
    const auto table = cli::stats_table(stats);
    CHECK_THAT(table, Catch::Contains("QUEUE      PENDING  DELAYED  IN-FLIGHT  DONE  FAILED  DEAD  STATE   OLDEST PENDING\n"
                                      "wordcount        5        7          2   100       1     3  paused               -\n"));
    CHECK_THAT(table, Catch::Contains("host:42") && Catch::Contains("wordcount,images") &&
                          Catch::Contains("120ms ago") && Catch::Contains("jobs_submitted"));
    const auto j = cli::stats_json(stats);
    CHECK(j["queues"][0] == json{{"name", "wordcount"}, {"pending", 5},    {"delayed", 7},
                                 {"in_flight", 2},      {"done", 100},   {"failed", 1},
                                 {"dead", 3},           {"paused", true}, {"oldest_pending_ms", nullptr}});
    CHECK(j["workers"][0]["last_heartbeat_ms"] == 120);
    CHECK(j["counters"]["jobs_submitted"] == 108);
    CHECK_THAT(cli::stats_table({}), Catch::Contains("(none)"));
}

TEST_CASE("a dead set prints as a table and as one JSON object per job", "[producer][cli_output]") {
    protocol::DeadReply dead;
    dead.queue = "images";
    dead.total = 3;
    protocol::DeadJob first;
    first.id = "d-1";
    first.attempts = 3;
    first.died_ms_ago = 3'720'000;
    first.payload_bytes = 10;
    first.priority = 5;
    first.errors = {{1, "timed out after 30s"}, {2, "exit status 1"}, {3, "line one\nline two"}};
    protocol::DeadJob second;
    second.id = "d-22";
    second.attempts = 1;
    second.died_ms_ago = 800;
    second.errors = {{1, std::string(200, 'x')}};
    dead.jobs = {first, second};
    const auto table = cli::dead_table(dead);
    CHECK(table ==
          "Dead jobs in queue images: 3 (showing the newest 2)\n"
          "ID    ATTEMPTS       DIED  LAST ERROR\n"
          "d-1          3  1h02m ago  line one line two\n"
          "d-22         1  800ms ago  " +
              std::string(77, 'x') + "...\n");
    CHECK(cli::dead_job_json("images", first) ==
          json{{"queue", "images"},
               {"id", "d-1"},
               {"attempts", 3},
               {"died_ms_ago", 3'720'000},
               {"died_ms", nullptr},
               {"payload_bytes", 10},
               {"priority", 5},
               {"errors", json::array({{{"attempt", 1}, {"error", "timed out after 30s"}},
                                       {{"attempt", 2}, {"error", "exit status 1"}},
                                       {{"attempt", 3}, {"error", "line one\nline two"}}})}});
    protocol::DeadReply empty;
    empty.queue = "images";
    CHECK(cli::dead_table(empty) == "Dead jobs in queue images: 0\n");
}

TEST_CASE("queue settings print as lines and as JSON", "[producer][cli_output]") {
    protocol::QueueSettings settings;
    settings.queue = "images";
    settings.is_paused = true;
    settings.max_length = 0;
    settings.retry.max_attempts = 3;
    settings.retry.backoff_ms = 1000;
    settings.retry.backoff_max_ms = 600'000;
    settings.retry.backoff_jitter_pct = 20;
    settings.timeout_ms = 0;
    settings.dead_max_count = 10'000;
    settings.dead_max_age_ms = 7ULL * 24 * 3'600'000;
    CHECK(cli::queue_settings_text(settings) ==
          "queue:         images\n"
          "paused:        yes\n"
          "max length:    unlimited\n"
          "max attempts:  3\n"
          "backoff:       1s\n"
          "backoff max:   10m\n"
          "jitter:        20%\n"
          "timeout:       none\n"
          "dead max:      10000\n"
          "dead max age:  168h\n");
    CHECK(cli::queue_settings_json(settings) == json{{"queue", "images"},
                                                     {"paused", true},
                                                     {"max_length", 0},
                                                     {"max_attempts", 3},
                                                     {"backoff_ms", 1000},
                                                     {"backoff_max_ms", 600'000},
                                                     {"backoff_jitter_pct", 20},
                                                     {"timeout_ms", 0},
                                                     {"dead_max_count", 10'000},
                                                     {"dead_max_age_ms", 604'800'000}});
    protocol::QueueSettings sparse;
    sparse.queue = "q";
    CHECK_THAT(cli::queue_settings_text(sparse), Catch::Contains("paused:        -\n") &&
                                                     Catch::Contains("timeout:       -\n"));
    CHECK(cli::queue_settings_json(sparse)["max_attempts"] == nullptr);
}
