// GET /metrics's body: exact series for a crafted STATS_REPLY, and promtool's lint on it.
#include <catch2/catch.hpp>

#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "metrics_exposition.hpp"
#include "scratch_dir.hpp"

namespace corsair::http {
namespace {

namespace p = corsair::protocol;

const std::string kOddQueue = "we\"ird\\q";  // a quote and a backslash: valid in the grammar

p::StatsReply crafted_stats() {
    p::StatsReply stats;
    p::QueueStats emails{"emails", 3, 2, 40, 5, 1, 4, true, 1500};
    emails.submitted = 55;
    emails.retried = 6;
    emails.requeued = 7;
    emails.timed_out = 8;
    emails.cancelled = 9;
    emails.wait = p::Histogram{{100, 1000, 10000}, {1, 2, 0, 4}, 12'345'678};
    emails.run = p::Histogram{{250'000}, {3, 0}, 600'000};
    p::QueueStats odd{kOddQueue};
    stats.queues = {emails, odd};
    stats.workers = {{"a:1", {"emails", kOddQueue}, 8, 3, 10, false, 0, 0},
                     {"b:2", {"emails"}, 4, 4, 10, false, 0, 0},
                     {"c:3", {"emails"}, 5, 0, 10, true, 0, 0}};
    stats.counters = {{"jobs_done", 40}, {"workers_joined", 3}, {"storage_unavailable", 1}, {"results_kept", 12},
                      {"malformed_messages", 2}};
    stats.uptime_ms = 90'500;
    stats.version = "0.1.0";
    stats.last_job_ended_at_ms = 1'700'000'000'250;
    stats.journal_fsync = p::Histogram{{10, 25}, {0, 5, 1}, 150};
    stats.journal_records_per_fsync = p::Histogram{{1, 2, 4}, {2, 1, 0, 3}, 40};
    return stats;
}

std::string exposition(const p::StatsReply& stats) {
    prometheus::Registry registry;
    add_broker_metrics(registry, stats);
    return serialize_metrics(registry);
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

bool has_line(const std::string& text, const std::string& line) {
    for (const auto& candidate : lines_of(text)) {
        if (candidate == line) return true;
    }
    return false;
}

#define CHECK_SERIES(text, line) \
    do {                         \
        INFO("series: " << line); \
        CHECK(has_line(text, line)); \
    } while (false)

TEST_CASE("a queue's gauges and counters appear under its label with their STATS values", "[http][metrics]") {
    const std::string text = exposition(crafted_stats());
    INFO(text);
    CHECK_SERIES(text, "corsair_queue_pending_jobs{queue=\"emails\"} 3");
    CHECK_SERIES(text, "corsair_queue_in_flight_jobs{queue=\"emails\"} 2");
    CHECK_SERIES(text, "corsair_queue_delayed_jobs{queue=\"emails\"} 1");
    CHECK_SERIES(text, "corsair_queue_dead_jobs{queue=\"emails\"} 4");
    CHECK_SERIES(text, "corsair_queue_paused{queue=\"emails\"} 1");
    CHECK_SERIES(text, "corsair_queue_oldest_pending_seconds{queue=\"emails\"} 1.5");
    CHECK_SERIES(text, "corsair_jobs_submitted_total{queue=\"emails\"} 55");
    CHECK_SERIES(text, "corsair_jobs_done_total{queue=\"emails\"} 40");
    CHECK_SERIES(text, "corsair_jobs_failed_total{queue=\"emails\"} 5");
    CHECK_SERIES(text, "corsair_jobs_retried_total{queue=\"emails\"} 6");
    CHECK_SERIES(text, "corsair_jobs_requeued_total{queue=\"emails\"} 7");
    CHECK_SERIES(text, "corsair_jobs_timed_out_total{queue=\"emails\"} 8");
    CHECK_SERIES(text, "corsair_jobs_cancelled_total{queue=\"emails\"} 9");
    CHECK_SERIES(text, "# TYPE corsair_jobs_done_total counter");
    CHECK_SERIES(text, "# TYPE corsair_queue_pending_jobs gauge");
}

TEST_CASE("an odd queue name is escaped in the label, and a name that is not UTF-8 is shown escaped",
          "[http][metrics]") {
    const std::string text = exposition(crafted_stats());
    CHECK_SERIES(text, "corsair_queue_pending_jobs{queue=\"we\\\"ird\\\\q\"} 0");
    CHECK_SERIES(text, "corsair_queue_oldest_pending_seconds{queue=\"we\\\"ird\\\\q\"} 0");
    p::StatsReply stats;
    stats.queues = {p::QueueStats{std::string("old\xff\n", 5)}};
    CHECK_SERIES(exposition(stats), "corsair_queue_pending_jobs{queue=\"old\\\\xff\\\\n\"} 0");
}

TEST_CASE("wait and run histograms are in seconds with cumulated buckets", "[http][metrics]") {
    const std::string text = exposition(crafted_stats());
    INFO(text);
    CHECK_SERIES(text, "# TYPE corsair_job_wait_seconds histogram");
    CHECK_SERIES(text, "corsair_job_wait_seconds_bucket{queue=\"emails\",le=\"0.0001\"} 1");
    CHECK_SERIES(text, "corsair_job_wait_seconds_bucket{queue=\"emails\",le=\"0.001\"} 3");
    CHECK_SERIES(text, "corsair_job_wait_seconds_bucket{queue=\"emails\",le=\"0.01\"} 3");
    CHECK_SERIES(text, "corsair_job_wait_seconds_bucket{queue=\"emails\",le=\"+Inf\"} 7");
    CHECK_SERIES(text, "corsair_job_wait_seconds_count{queue=\"emails\"} 7");
    CHECK_SERIES(text, "corsair_job_wait_seconds_sum{queue=\"emails\"} 12.345678");
    CHECK_SERIES(text, "corsair_job_run_seconds_bucket{queue=\"emails\",le=\"0.25\"} 3");
    CHECK_SERIES(text, "corsair_job_run_seconds_bucket{queue=\"emails\",le=\"+Inf\"} 3");
    CHECK_SERIES(text, "corsair_job_run_seconds_sum{queue=\"emails\"} 0.6");
    // A queue from a broker that sent no histogram has none.
    CHECK(text.find("corsair_job_wait_seconds_count{queue=\"we") == std::string::npos);
}

TEST_CASE("workers are counted per queue, with free credit that leaves out draining workers", "[http][metrics]") {
    const std::string text = exposition(crafted_stats());
    INFO(text);
    CHECK_SERIES(text, "corsair_workers_connected 3");
    CHECK_SERIES(text, "corsair_workers_draining 1");
    CHECK_SERIES(text, "corsair_queue_workers{queue=\"emails\"} 3");
    CHECK_SERIES(text, "corsair_queue_workers{queue=\"we\\\"ird\\\\q\"} 1");
    // a:1 has 5 free, b:2 none, c:3 drains.
    CHECK_SERIES(text, "corsair_worker_free_credit{queue=\"emails\"} 5");
    CHECK_SERIES(text, "corsair_worker_free_credit{queue=\"we\\\"ird\\\\q\"} 5");
    CHECK(text.find("a:1") == std::string::npos);  // no per-worker series
}

TEST_CASE("broker-wide counters, states, journal histograms, uptime and build info", "[http][metrics]") {
    const std::string text = exposition(crafted_stats());
    INFO(text);
    CHECK_SERIES(text, "corsair_workers_joined_total 3");
    CHECK_SERIES(text, "corsair_malformed_messages_total 2");
    CHECK_SERIES(text, "# TYPE corsair_storage_unavailable gauge");
    CHECK_SERIES(text, "corsair_storage_unavailable 1");
    CHECK_SERIES(text, "corsair_results_kept 12");
    // jobs_done is the sum of the per-queue family: not mixed into it without a label.
    CHECK_FALSE(has_line(text, "corsair_jobs_done_total 40"));
    CHECK_SERIES(text, "corsair_journal_fsync_seconds_bucket{le=\"1e-05\"} 0");
    CHECK_SERIES(text, "corsair_journal_fsync_seconds_bucket{le=\"2.5e-05\"} 5");
    CHECK_SERIES(text, "corsair_journal_fsync_seconds_bucket{le=\"+Inf\"} 6");
    CHECK_SERIES(text, "corsair_journal_fsync_seconds_sum 0.00015");
    CHECK_SERIES(text, "corsair_journal_records_per_fsync_bucket{le=\"1\"} 2");
    CHECK_SERIES(text, "corsair_journal_records_per_fsync_bucket{le=\"2\"} 3");
    CHECK_SERIES(text, "corsair_journal_records_per_fsync_bucket{le=\"4\"} 3");
    CHECK_SERIES(text, "corsair_journal_records_per_fsync_bucket{le=\"+Inf\"} 6");
    CHECK_SERIES(text, "corsair_journal_records_per_fsync_sum 40");
    CHECK_SERIES(text, "corsair_broker_uptime_seconds 90.5");
    CHECK_SERIES(text, "corsair_build_info{version=\"0.1.0\"} 1");
    CHECK_SERIES(text, "corsair_last_job_ended_timestamp_seconds 1700000000.25");
}

TEST_CASE("a broker without a journal or a finished job reports neither", "[http][metrics]") {
    const std::string text = exposition(p::StatsReply{});
    CHECK(text.find("corsair_journal_") == std::string::npos);
    CHECK(text.find("corsair_last_job_ended") == std::string::npos);
    CHECK_SERIES(text, "corsair_workers_connected 0");
}

TEST_CASE("the process's series carry the standard names and this process's values", "[http][metrics]") {
    ProcessSample crafted;
    crafted.resident_bytes = 4096;
    crafted.open_fds = 7;
    crafted.cpu_seconds = 1.25;
    crafted.start_time_seconds = 1'700'000'000;
    prometheus::Registry registry;
    add_process_metrics(registry, crafted);
    const std::string text = serialize_metrics(registry);
    CHECK_SERIES(text, "process_resident_memory_bytes 4096");
    CHECK_SERIES(text, "process_open_fds 7");
    CHECK_SERIES(text, "process_cpu_seconds_total 1.25");
    CHECK_SERIES(text, "process_start_time_seconds 1700000000");
    CHECK(text.find("process_max_fds") == std::string::npos);  // absent: not sampled

    const ProcessSample sample = sample_process();
    REQUIRE(sample.resident_bytes);
    CHECK(*sample.resident_bytes > 0);
    REQUIRE(sample.open_fds);
    CHECK(*sample.open_fds >= 3);  // stdin, stdout, stderr at least
    REQUIRE(sample.cpu_seconds);
    CHECK(*sample.cpu_seconds >= 0);
    REQUIRE(sample.start_time_seconds);
    CHECK(*sample.start_time_seconds <= double(std::time(nullptr)) + 1);
    CHECK(*sample.start_time_seconds > double(std::time(nullptr)) - 24 * 3600);
}

TEST_CASE("promtool check metrics accepts the whole output without a warning", "[http][metrics]") {
    const std::string promtool = CORSAIR_PROMTOOL;
    if (promtool.empty() || promtool.find("NOTFOUND") != std::string::npos) {
        FAIL("promtool not found at configure time: install Debian's `prometheus` package and reconfigure");
    }
    prometheus::Registry registry;
    add_broker_metrics(registry, crafted_stats());
    add_process_metrics(registry, sample_process());
    test::ScratchDir scratch("metrics-test");
    const auto path = scratch / "metrics.txt";
    std::ofstream(path) << serialize_metrics(registry);
    const std::string command = "'" + promtool + "' check metrics < '" + path.string() + "' 2>&1";
    FILE* pipe = ::popen(command.c_str(), "r");
    REQUIRE(pipe != nullptr);
    std::string output;
    char buffer[4096];
    while (const std::size_t read = std::fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, read);
    const int status = ::pclose(pipe);
    INFO("promtool said: " << output);
    CHECK(status == 0);
    CHECK(output.empty());
}

}  // namespace
}  // namespace corsair::http
