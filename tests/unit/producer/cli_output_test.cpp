#include "cli_output.hpp"
#include "cli_inspect.hpp"

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

// A LIST page of queue "q"'s running jobs.
protocol::ListReply running_page(std::vector<protocol::ListedJob> jobs) {
    protocol::ListReply page;
    page.queue = "q";
    page.state = protocol::ListedState::running;
    page.total = jobs.size();
    page.jobs = std::move(jobs);
    return page;
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
            cli::json_line(cli::outcome_json(Outcome{"j-1", protocol::JobState::done, 1, "42", "", "j-1"}, "q"));
        CHECK(line == R"({"attempt":1,"error":null,"id":"j-1","queue":"q","result":"42","state":"done"})");
    }
    SECTION("failed") {
        const auto line =
            cli::json_line(cli::outcome_json(Outcome{"j-2", protocol::JobState::failed, 3, "", "boom", "j-2"}, "q"));
        CHECK(line == R"({"attempt":3,"error":"boom","id":"j-2","queue":"q","result":null,"state":"failed"})");
    }
    SECTION("cancelled") {
        const auto j = cli::outcome_json(Outcome{"j-3", protocol::JobState::cancelled, 1, "", "by operator", ""}, "q");
        CHECK(j["id"] == "j-3");
        CHECK(j["error"] == "by operator");
    }
    SECTION("another job's outcome, through a unique key: id is that job") {
        const auto j = cli::outcome_json(Outcome{"mine", protocol::JobState::done, 1, "r", "", "holder"}, "q");
        CHECK(j["id"] == "holder");
        CHECK_FALSE(j.contains("job_id"));
    }
    SECTION("binary results are base64 beside a null result, never U+FFFD") {
        const Outcome binary{"j", protocol::JobState::done, 1, std::string("\xff\n\0", 3), "", ""};
        const auto line = cli::json_line(cli::outcome_json(binary, "q"));
        CHECK(line.find('\n') == std::string::npos);
        const auto j = json::parse(line);
        CHECK(j["result"] == nullptr);
        CHECK(j["result_base64"] == "/woA");
    }
}

TEST_CASE("peer text that is not UTF-8 stays distinct in JSON", "[producer][cli_output]") {
    CHECK(cli::json_text("plain \xc3\xa9") == "plain \xc3\xa9");
    CHECK(cli::json_text("a\xff") == "a\\xff");
    CHECK(cli::json_text("a\xfe") != cli::json_text("a\xff"));
    json j;
    cli::put_bytes(j, "payload", "text");
    CHECK(j == json{{"payload", "text"}});
    cli::put_bytes(j, "payload", std::string("\x80", 1));
    CHECK(j == json{{"payload", nullptr}, {"payload_base64", "gA=="}});
    // Every string goes through json_text: nothing is left to replace at dump time.
    protocol::StatsReply stats;
    stats.queues.push_back({"bad\xff\x1b[2J", 0, 0, 0, 0, 0, 0, false});
    CHECK(cli::json_line(cli::stats_json(stats)).find("bad\\\\xff\\u001b[2J") != std::string::npos);
}

TEST_CASE("text output escapes what a peer chose", "[producer][cli_output]") {
    protocol::StatsReply stats;
    stats.queues.push_back({"evil\x1b[2J\nname", 0, 0, 0, 0, 0, 0, false});
    stats.workers.push_back({"w\x1b]0;title\x07", {"q\tx"}, 1, 0, 5, false, 0, 0, "", ""});
    const auto table = cli::stats_table(stats);
    CHECK(table.find('\x1b') == std::string::npos);
    CHECK(table.find('\x07') == std::string::npos);
    CHECK_THAT(table, Catch::Contains("evil\\x1b[2J\\nname") && Catch::Contains("q\\tx"));
    auto status = status_of(protocol::JobState::failed);
    status.error = "boom\x1b[31m";
    CHECK_THAT(cli::status_text(status), Catch::Contains("error:     boom\\x1b[31m\n"));
}

TEST_CASE("acceptances and progress reports print as JSON and text", "[producer][cli_output]") {
    Event accepted;
    accepted.id = "mine";
    accepted.job_id = "mine";
    CHECK(cli::accepted_json(accepted, "q") == json{{"id", "mine"}, {"queue", "q"}, {"existed", false}});
    accepted.job_id = "holder";
    accepted.existed = true;
    CHECK(cli::accepted_json(accepted, "q") == json{{"id", "holder"}, {"queue", "q"}, {"existed", true}});

    const JobProgress progress{2, 40, "resizing\nimages"};
    CHECK(cli::json_line(cli::progress_json("j", "q", progress)) ==
          R"({"attempt":2,"id":"j","progress":40,"progress_message":"resizing\nimages","queue":"q","state":"running"})");
    CHECK(cli::progress_json("j", "q", JobProgress{1, 5, ""})["progress_message"] == nullptr);
    CHECK(cli::progress_text("j", progress) == "job j: 40% resizing\\nimages");
    CHECK(cli::progress_text("j", JobProgress{1, 100, ""}) == "job j: 100%");
}

TEST_CASE("refusals print as JSON error objects", "[producer][cli_output]") {
    CHECK(cli::error_json(refusal(protocol::ErrorCode::bad_field_value, "queue too long")) ==
          json{{"error", {{"code", "bad_field_value"}, {"message", "queue too long"}, {"id", "j"}}}});
    CHECK(cli::error_json("usage", "bad")["error"]["id"] == nullptr);
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
              "attempt:   2\n"
              "charged:   2 of 5 attempts\n"
              "priority:  -3\n"
              "ready in:  1m30s\n"
              "error:     exit status 2\n"
              "errors:\n"
              "  attempt 1: exit status 1\\nsee log\n"
              "  attempt 2: exit status 2\n");
        const auto j = cli::status_json(status);
        CHECK(j["state"] == "delayed");
        CHECK(j["ready_in_ms"] == 90'000);
        CHECK(j["max_attempts"] == 5);
        CHECK(j["priority"] == -3);
        CHECK(j["progress"] == nullptr);
        CHECK(j["errors"] == json::array({{{"attempt", 1}, {"error", "exit status 1\nsee log"}},
                                          {{"attempt", 2}, {"error", "exit status 2"}}}));
        CHECK(j["result"] == nullptr);
        CHECK(j["worker"] == nullptr);
        CHECK(j["progress_message"] == nullptr);
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
        CHECK(j["held_ready"] == false);
    }
    SECTION("a running job its worker holds ready, not started") {
        auto status = status_of(protocol::JobState::running);
        status.worker = "host:42";
        status.is_held_ready = true;
        CHECK_THAT(cli::status_text(status), Catch::Contains("worker:    host:42 (held ready, not started)\n"));
        CHECK(cli::status_json(status)["held_ready"] == true);
    }
    SECTION("a done job") {
        auto status = status_of(protocol::JobState::done);
        status.payload = protocol::make_payload("r");
        CHECK_THAT(cli::status_text(status), Catch::Contains("result:    1 bytes\n"));
        CHECK(cli::status_json(status)["result"] == "r");
    }
    SECTION("a job whose first lease was given back: the lease number and the charged count apart") {
        auto status = status_of(protocol::JobState::done);
        status.attempt = 2;
        status.counted_attempts = 1;
        status.max_attempts = 1;
        CHECK_THAT(cli::status_text(status),
                   Catch::Contains("attempt:   2\ncharged:   1 of 1 attempts\n") && !Catch::Contains("2 of 1"));
        CHECK(cli::status_json(status)["counted_attempts"] == 1);
        CHECK(cli::status_json(status)["attempt"] == 2);
    }
    SECTION("a broker that reports no max attempts") {
        auto status = status_of(protocol::JobState::cancelled);
        status.max_attempts = 0;
        CHECK_THAT(cli::status_text(status), Catch::Contains("attempt:   2\n") && Catch::Contains("cancelled") &&
                                                 !Catch::Contains("charged"));
    }
}

TEST_CASE("a LIST page shows each job's lease number and its charged attempts apart", "[producer][cli_output]") {
    protocol::ListedJob job;
    job.id = "j";
    job.attempt = 2;
    job.counted_attempts = 1;
    job.max_attempts = 1;
    const auto page = running_page({job});
    const std::string table = cli::list_table(page);
    CHECK_THAT(table, Catch::Contains("ID\tATTEMPT\tCHARGED\t") && Catch::Contains("j\t2\t1/1\t") &&
                          !Catch::Contains("2/1"));
    CHECK(cli::listed_job_json("q", page.state, job)["counted_attempts"] == 1);
    CHECK(cli::listed_job_json("q", page.state, job)["held_ready"] == false);
}

TEST_CASE("a LIST page marks a running job held ready, not started", "[producer][cli_output]") {
    protocol::ListedJob runs;
    runs.id = "a";
    runs.worker = "host:42";
    protocol::ListedJob waits = runs;
    waits.id = "b";
    waits.is_held_ready = true;
    const auto page = running_page({runs, waits});
    const std::string table = cli::list_table(page);
    CHECK_THAT(table, Catch::Contains("\thost:42\n") && Catch::Contains("\thost:42 (held ready)\n"));
    CHECK(cli::listed_job_json("q", page.state, waits)["held_ready"] == true);
}

TEST_CASE("stats print as tables and as one JSON object", "[producer][cli_output]") {
    protocol::StatsReply stats;
    stats.queues.push_back({"wordcount", 5, 2, 100, 1, 7, 3, true});
    stats.queues[0].submitted = 116;
    stats.queues[0].requeued = 2;
    stats.workers.push_back({"host:42", {"wordcount", "images"}, 4, 2, 120, false, 0, 0, "10.0.0.7", ""});
    stats.counters["jobs_submitted"] = 108;
    const auto table = cli::stats_table(stats);
    CHECK_THAT(table, Catch::Contains("QUEUE      PENDING  DELAYED  IN-FLIGHT  DONE  FAILED  DEAD  STATE   OLDEST PENDING\n"
                                      "wordcount        5        7          2   100       1     3  paused               -\n"));
    CHECK_THAT(table, Catch::Contains("host:42") && Catch::Contains("wordcount,images") &&
                          Catch::Contains("120ms ago") && Catch::Contains("jobs_submitted"));
    const auto j = cli::stats_json(stats);
    CHECK(j["queues"][0] == json{{"queue", "wordcount"}, {"pending", 5},    {"delayed", 7},
                                 {"in_flight", 2},       {"done", 100},   {"failed", 1},
                                 {"dead", 3},            {"paused", true}, {"oldest_pending_ms", nullptr},
                                 {"submitted", 116},     {"retried", 0},  {"requeued", 2},
                                 {"timed_out", 0},       {"cancelled", 0}});
    CHECK(j["workers"][0]["worker"] == "host:42");
    CHECK(j["workers"][0]["address"] == "10.0.0.7");
    CHECK(j["workers"][0]["last_heartbeat_ago_ms"] == 120);
    CHECK(j["workers"][0]["prefetch"] == 0);
    CHECK(j["workers"][0]["held_ready"] == 0);
    CHECK(j["counters"]["jobs_submitted"] == 108);
    CHECK_THAT(cli::stats_table({}), Catch::Contains("(none)"));

    // A worker holding jobs ready beyond its capacity (READY prefetch): its leases past capacity.
    stats.workers.push_back({"prefetcher", {"wordcount"}, 4, 6, 5, false, 0, 0, "10.0.0.8", "", 8});
    const auto with_ready = cli::stats_json(stats);
    CHECK(with_ready["workers"][1]["prefetch"] == 8);
    CHECK(with_ready["workers"][1]["in_flight"] == 6);
    CHECK(with_ready["workers"][1]["held_ready"] == 2);
    CHECK_THAT(cli::stats_table(stats), Catch::Contains("4+8") && Catch::Contains("6 (2 ready)"));
}

TEST_CASE("a dead set prints as a table and as one JSON document", "[producer][cli_output]") {
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
          "d-1          3  1h02m ago  line one\\nline two\n"
          "d-22         1  800ms ago  " +
              std::string(80, 'x') + "...(+120 bytes)\n");
    CHECK(cli::dead_json(dead)["jobs"][0] ==
          json{{"queue", "images"},
               {"id", "d-1"},
               {"attempt", 3},
               {"died_ago_ms", 3'720'000},
               {"died_at_ms", nullptr},
               {"payload_bytes", 10},
               {"priority", 5},
               {"error", "line one\nline two"},
               {"errors", json::array({{{"attempt", 1}, {"error", "timed out after 30s"}},
                                       {{"attempt", 2}, {"error", "exit status 1"}},
                                       {{"attempt", 3}, {"error", "line one\nline two"}}})}});
    CHECK(cli::dead_json(dead)["total"] == 3);
    protocol::DeadReply empty;
    empty.queue = "images";
    CHECK(cli::dead_table(empty) == "Dead jobs in queue images: 0\n");
    CHECK(cli::json_line(cli::dead_json(empty)) == R"({"jobs":[],"queue":"images","total":0})");
}

TEST_CASE("a dead_max_count of 0 prints as unlimited, as max_length 0 does", "[producer][cli_output]") {
    protocol::QueueSettings settings;
    settings.queue = "images";
    settings.max_length = 0;
    settings.dead_max_count = 0;
    const std::string text = cli::queue_settings_text(settings);
    CHECK_THAT(text, Catch::Contains("max length:    unlimited\n"));
    CHECK_THAT(text, Catch::Contains("dead max:      unlimited\n"));
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
