// The job lifecycle of docs/jobs.md with real processes: the broker, exec workers running shell
// commands, and the `corsair` CLI. Waits are conditions with deadlines; time bounds are checked
// from one side only (never "finished within"), so a slow machine cannot fail them.
#include <sys/wait.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <set>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "child_process.hpp"
#include "cli_runner.hpp"
#include "cluster.hpp"
#include "deadline.hpp"

using namespace std::chrono_literals;
using corsair::test::ChildProcess;
using corsair::test::Cluster;
using corsair::test::corsair_cli;
using corsair::test::json_lines;
using nlohmann::json;

namespace {

std::vector<std::string> shell(const std::string& script) { return {"--", "/bin/sh", "-c", script}; }

// `corsair CMD... --json`, expecting exit 0 and exactly one JSON line.
json cli_json(Cluster& cluster, std::vector<std::string> args) {
    args.push_back("--json");
    auto run = corsair_cli(cluster, args);
    INFO("corsair output: " << run.out);
    REQUIRE(run.exit_code == 0);
    auto lines = json_lines(run.out);
    REQUIRE(lines.size() == 1);
    return lines[0];
}

json status_of(Cluster& cluster, const std::string& id) { return cli_json(cluster, {"status", id}); }

// Waits until `corsair status ID` shows `state`.
bool wait_for_state(Cluster& cluster, const std::string& id, const std::string& state,
                    std::chrono::milliseconds timeout = 20s) {
    return corsair::test::wait_until([&] { return status_of(cluster, id)["state"] == state; }, timeout, 50ms);
}

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::size_t start = 0;
    while (start < text.size()) {
        auto end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        if (end > start) lines.push_back(text.substr(start, end - start));
        start = end + 1;
    }
    return lines;
}

}  // namespace

TEST_CASE("a command failing twice then succeeding ends done on attempt 3 with both errors recorded",
          "[integration][lifecycle]") {
    Cluster cluster;
    cluster.start_worker("w", shell("if [ \"$CORSAIR_ATTEMPT\" -lt 3 ]; then echo \"flaky $CORSAIR_ATTEMPT\" >&2; "
                                    "exit 1; fi; echo ok"),
                         "flaky", 1);
    REQUIRE(cluster.wait_for_workers(1));
    auto run = corsair_cli(cluster, {"submit", "flaky", "x", "--wait", "--json", "--backoff", "50ms"});
    REQUIRE(run.exit_code == 0);
    auto lines = json_lines(run.out);
    REQUIRE_FALSE(lines.empty());
    const json& outcome = lines.back();
    CHECK(outcome["state"] == "done");
    CHECK(outcome["attempt"] == 3);
    CHECK(outcome["result"] == "ok\n");
    auto status = status_of(cluster, outcome["id"]);
    REQUIRE(status["errors"].size() == 2);
    CHECK(status["errors"][0]["attempt"] == 1);
    CHECK(status["errors"][0]["error"].get<std::string>().find("flaky 1") != std::string::npos);
    CHECK(status["errors"][1]["attempt"] == 2);
    CHECK(status["errors"][1]["error"].get<std::string>().find("flaky 2") != std::string::npos);
}

TEST_CASE("a permanently failing job lands in the dead set after one attempt and corsair retry brings it back",
          "[integration][lifecycle]") {
    Cluster cluster;
    const std::string fixed = cluster.log_dir() + "/fixed";
    cluster.start_worker("w", shell("if [ -e " + fixed + " ]; then echo repaired; exit 0; fi; "
                                    "echo 'bad input' >&2; exit 100"),
                         "strict", 1);
    REQUIRE(cluster.wait_for_workers(1));
    auto run = corsair_cli(cluster, {"submit", "strict", "x", "--wait", "--json"});
    CHECK(run.exit_code == 1);
    auto lines = json_lines(run.out);
    REQUIRE_FALSE(lines.empty());
    CHECK(lines.back()["state"] == "failed");
    CHECK(lines.back()["attempt"] == 1);  // permanent: no second attempt despite 3 allowed
    const std::string id = lines.back()["id"];

    auto dead = corsair_cli(cluster, {"dead", "strict", "--json"});
    REQUIRE(dead.exit_code == 0);
    const auto dead_set = json_lines(dead.out).at(0);
    const auto& dead_jobs = dead_set["jobs"];
    REQUIRE(dead_jobs.size() == 1);
    CHECK(dead_jobs[0]["id"] == id);
    CHECK(dead_jobs[0]["errors"].at(0)["error"].get<std::string>().find("bad input") != std::string::npos);

    std::ofstream(fixed) << "yes";
    CHECK(corsair_cli(cluster, {"retry", id}).exit_code == 0);
    REQUIRE(wait_for_state(cluster, id, "done"));
    CHECK(status_of(cluster, id)["attempt"] == 2);
    CHECK(json_lines(corsair_cli(cluster, {"dead", "strict", "--json"}).out).at(0)["jobs"].empty());
}

TEST_CASE("priorities reorder a backlog", "[integration][lifecycle]") {
    Cluster cluster;
    const std::string order = cluster.log_dir() + "/order";
    // Held while paused, so the whole backlog is queued before anything runs.
    REQUIRE(corsair_cli(cluster, {"queue", "create", "ranked"}).exit_code == 0);
    REQUIRE(corsair_cli(cluster, {"pause", "ranked"}).exit_code == 0);
    const std::vector<std::pair<std::string, std::string>> backlog = {
        {"low-a", "-5"}, {"normal-a", "0"}, {"urgent-a", "10"}, {"normal-b", "0"}, {"urgent-b", "10"}, {"low-b", "-5"}};
    for (const auto& [payload, priority] : backlog) {
        REQUIRE(corsair_cli(cluster, {"submit", "ranked", payload, "--priority", priority}).exit_code == 0);
    }
    cluster.start_worker("w", shell("cat >> " + order + "; echo >> " + order), "ranked", 1);
    REQUIRE(cluster.wait_for_workers(1));
    REQUIRE(corsair_cli(cluster, {"resume", "ranked"}).exit_code == 0);
    REQUIRE(corsair::test::wait_until([&] { return lines_of(read_file(order)).size() == backlog.size(); }, 20s));
    CHECK(lines_of(read_file(order)) ==
          std::vector<std::string>{"urgent-a", "urgent-b", "normal-a", "normal-b", "low-a", "low-b"});
}

TEST_CASE("a delayed job does not run early", "[integration][lifecycle]") {
    Cluster cluster;
    cluster.start_worker("w", shell("date +%s%N"), "later", 1);
    REQUIRE(cluster.wait_for_workers(1));
    const auto submitted_at = std::chrono::system_clock::now();
    auto run = corsair_cli(cluster, {"submit", "later", "x", "--delay", "1500ms", "--wait", "--json"});
    REQUIRE(run.exit_code == 0);
    const auto ran_at_ns = std::stoll(json_lines(run.out).back()["result"].get<std::string>());
    const auto ran_at = std::chrono::system_clock::time_point(std::chrono::nanoseconds(ran_at_ns));
    const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(ran_at - submitted_at);
    std::printf("[measure] --delay 1500ms: the command ran %lld ms after the submit started\n",
                static_cast<long long>(waited.count()));
    CHECK(waited >= 1500ms);
}

TEST_CASE("a job exceeding its timeout has its process group killed and is retried", "[integration][lifecycle]") {
    Cluster cluster;
    const std::string pid_file = cluster.log_dir() + "/pid";
    // Attempt 1 hangs in a grandchild; attempt 2 finishes at once.
    cluster.start_worker("w", shell("if [ \"$CORSAIR_ATTEMPT\" = 1 ]; then sleep 60 & echo $! > " + pid_file +
                                    "; wait; fi; echo attempt $CORSAIR_ATTEMPT"),
                         "slow", 1);
    REQUIRE(cluster.wait_for_workers(1));
    auto run = corsair_cli(cluster, {"submit", "slow", "x", "--timeout", "500ms", "--backoff", "50ms", "--wait",
                                     "--json"});
    REQUIRE(run.exit_code == 0);
    const json outcome = json_lines(run.out).back();
    CHECK(outcome["state"] == "done");
    CHECK(outcome["attempt"] == 2);
    CHECK(outcome["result"] == "attempt 2\n");
    auto status = status_of(cluster, outcome["id"]);
    REQUIRE(status["errors"].size() == 1);
    CHECK(status["errors"][0]["error"] == "timed out after 500ms");
    const auto pid = static_cast<pid_t>(std::stol(read_file(pid_file)));
    CHECK(corsair::test::wait_until([pid] { return corsair::test::process_has_ended(pid); }, 10s));
}

TEST_CASE("cancel of pending and running jobs", "[integration][lifecycle]") {
    Cluster cluster;
    SECTION("a pending job is removed") {
        const std::string id = cli_json(cluster, {"submit", "nobody-serves-this", "x"})["id"];
        CHECK(corsair_cli(cluster, {"cancel", id}).exit_code == 0);
        CHECK(status_of(cluster, id)["state"] == "cancelled");
        CHECK(corsair_cli(cluster, {"cancel", id}).exit_code == 5);  // already ended: wrong_state
    }
    SECTION("a running job's command is killed and its waiting producer told") {
        const std::string pid_file = cluster.log_dir() + "/pid";
        const std::string id_file = cluster.log_dir() + "/id";
        cluster.start_worker("w", shell("echo $CORSAIR_JOB_ID > " + id_file + "; echo $$ > " + pid_file +
                                        "; exec sleep 60"),
                             "long", 1);
        REQUIRE(cluster.wait_for_workers(1));
        ChildProcess waiter({CORSAIR_CLI_BIN, "submit", "long", "x", "--wait", "--json"},
                            {"CORSAIR_PRODUCER_ENDPOINT=" + cluster.endpoints().producers}, cluster.log_dir() + "/waiter.log");
        REQUIRE(corsair::test::wait_until([&] { return lines_of(read_file(pid_file)).size() == 1; }, 20s));
        const std::string id = lines_of(read_file(id_file)).at(0);
        const auto pid = static_cast<pid_t>(std::stol(read_file(pid_file)));
        CHECK(status_of(cluster, id)["state"] == "running");
        CHECK(corsair_cli(cluster, {"cancel", id}).exit_code == 0);
        CHECK(status_of(cluster, id)["state"] == "cancelled");
        CHECK(corsair::test::wait_until([pid] { return corsair::test::process_has_ended(pid); }, 10s));
        auto exit_status = waiter.wait_exit(20s);
        REQUIRE(exit_status);
        CHECK(WEXITSTATUS(*exit_status) == 1);
        while (waiter.read_line(1s)) {
        }
        auto lines = json_lines(waiter.stdout_text());
        REQUIRE_FALSE(lines.empty());
        CHECK(lines.back()["state"] == "cancelled");
        // The worker is free again: its credit came back with the revoked lease.
        const std::string next = cli_json(cluster, {"submit", "long", "next"})["id"];
        CHECK(wait_for_state(cluster, next, "running"));
        CHECK(corsair_cli(cluster, {"cancel", next}).exit_code == 0);
    }
}

TEST_CASE("two submits with the same uniqueness key produce one job", "[integration][lifecycle]") {
    Cluster cluster;
    auto first = cli_json(cluster, {"submit", "reports", "a", "--unique", "daily-report"});
    auto second = cli_json(cluster, {"submit", "reports", "b", "--unique", "daily-report"});
    CHECK(second["id"] == first["id"]);  // `id` is always the job
    CHECK(second["existed"] == true);
    auto stats = cli_json(cluster, {"stats"});
    CHECK(stats["counters"]["jobs_submitted"] == 1);
    CHECK(stats["counters"]["unique_hits"] == 1);
    CHECK(stats["queues"].at(0)["pending"] == 1);
}

TEST_CASE("progress reaches corsair status", "[integration][lifecycle]") {
    Cluster cluster;
    const std::string id_file = cluster.log_dir() + "/id";
    cluster.start_worker("w", shell("echo $CORSAIR_JOB_ID > " + id_file +
                                    "; echo 'corsair-progress 40 resized 4 of 10' >&2; exec sleep 60"),
                         "thumbs", 1);
    REQUIRE(cluster.wait_for_workers(1));
    const std::string id = cli_json(cluster, {"submit", "thumbs", "x"})["id"];
    REQUIRE(corsair::test::wait_until([&] { return status_of(cluster, id).contains("progress"); }, 20s, 50ms));
    auto status = status_of(cluster, id);
    CHECK(status["state"] == "running");
    CHECK(status["progress"] == 40);
    CHECK(status["progress_message"] == "resized 4 of 10");
    CHECK(corsair_cli(cluster, {"cancel", id}).exit_code == 0);
}

TEST_CASE("pause holds jobs and resume releases them", "[integration][lifecycle]") {
    Cluster cluster;
    // One worker serves both queues: the control queue shows it is taking jobs meanwhile.
    cluster.start_worker("w", {"--builtin", "echo", "--queue", "control"}, "held", 2);
    REQUIRE(cluster.wait_for_workers(1));
    REQUIRE(corsair_cli(cluster, {"pause", "held"}).exit_code == 0);
    const std::string held = cli_json(cluster, {"submit", "held", "x"})["id"];
    auto control = corsair_cli(cluster, {"submit", "control", "y", "--wait"});
    CHECK(control.exit_code == 0);
    CHECK(status_of(cluster, held)["state"] == "pending");
    auto stats = cli_json(cluster, {"stats"});
    for (const auto& queue : stats["queues"]) {
        if (queue["queue"] == "held") CHECK(queue["paused"] == true);
    }
    REQUIRE(corsair_cli(cluster, {"resume", "held"}).exit_code == 0);
    CHECK(wait_for_state(cluster, held, "done"));
}

TEST_CASE("queue_full at the limit loses nothing", "[integration][lifecycle]") {
    Cluster cluster;
    REQUIRE(corsair_cli(cluster, {"queue", "create", "bounded", "--max-length", "3"}).exit_code == 0);
    REQUIRE(corsair_cli(cluster, {"pause", "bounded"}).exit_code == 0);
    std::vector<std::string> ids;
    for (int i = 0; i < 3; ++i) ids.push_back(cli_json(cluster, {"submit", "bounded", "job" + std::to_string(i)})["id"]);
    auto refused = corsair_cli(cluster, {"submit", "bounded", "one too many"});
    CHECK(refused.exit_code == 3);  // queue_full: try later; the error is on stderr
    cluster.start_worker("w", {"--builtin", "echo"}, "bounded", 1);
    REQUIRE(cluster.wait_for_workers(1));
    REQUIRE(corsair_cli(cluster, {"resume", "bounded"}).exit_code == 0);
    for (const auto& id : ids) CHECK(wait_for_state(cluster, id, "done"));
    auto stats = cli_json(cluster, {"stats"});
    CHECK(stats["counters"]["jobs_done"] == 3);
    CHECK(stats["counters"]["queue_full_refusals"] == 1);
}

TEST_CASE("a short job held ready behind a long one is recalled and runs at once on an idle worker",
          "[integration][lifecycle][prefetch]") {
    Cluster cluster;
    // Capacity 1 and the default prefetch: "short" is held ready behind "long" (its pace unknown yet:
    // one job held ready).
    cluster.start_worker("holder", {"--builtin", "sleep"}, "q", 1);
    REQUIRE(cluster.wait_for_workers(1));
    auto producer = cluster.make_producer();
    const auto long_job = producer->submit_async("q", "60000", true);
    const auto short_job = producer->submit_async("q", "0", true);
    REQUIRE(corsair::test::wait_until([&] { return cluster.counter("jobs_dispatched") >= 2; }, 10s, 20ms));
    CHECK(producer->status(short_job).state == corsair::protocol::JobState::running);  // leased to "holder", waiting

    // An idle worker arrives: the broker asks "short" back and hands it over; "long" runs on.
    cluster.start_worker("idle", {"--builtin", "sleep"}, "q", 1);
    const auto outcome = producer->wait_result(short_job, 20s);
    CHECK(outcome.state == corsair::protocol::JobState::done);
    CHECK(outcome.result == "slept 0 ms");
    CHECK(producer->status(long_job).state == corsair::protocol::JobState::running);
    CHECK(cluster.counter("recalls_sent") == 1);
    CHECK(cluster.counter("jobs_recalled") == 1);
    CHECK(cluster.counter("attempts_not_started") == 0);
    const auto status = producer->status(short_job);
    CHECK(status.attempt == 2);                                      // its second lease ...
    CHECK(status.counted_attempts.value_or(status.attempt) == 1);  // ... the first one it ran
    producer->cancel(long_job);
    CHECK(producer->wait_result(long_job, 20s).state == corsair::protocol::JobState::cancelled);
}

TEST_CASE("a worker stopped with SIGTERM gives back the job it holds ready at once, uncounted, and finishes "
          "the one it runs",
          "[integration][lifecycle][prefetch]") {
    Cluster cluster;
    // Capacity 1 and the default prefetch: "held" waits behind "running" on the one worker.
    // Each job leaves a mark when it starts, and sleeps for its payload's seconds.
    const std::string marks = cluster.log_dir();
    auto& holder = cluster.start_worker(
        "holder", shell("touch " + marks + "/\"$CORSAIR_JOB_ID\".started; sleep \"$(cat)\""), "q", 1);
    REQUIRE(cluster.wait_for_workers(1));
    auto producer = cluster.make_producer();
    const auto running_job = producer->submit_async("q", "1.5", true);
    const auto held_job = producer->submit_async("q", "0", true);
    REQUIRE(corsair::test::wait_until([&] { return cluster.counter("jobs_dispatched") >= 2; }, 10s, 20ms));
    // Signalled before the worker has read its jobs, it would leave at once with nothing in flight
    // (DISCONNECT gives both back): wait until "running" runs.
    REQUIRE(corsair::test::wait_until(
        [&] { return std::filesystem::exists(marks + "/" + running_job + ".started"); }, 10s, 20ms));

    holder.signal(SIGTERM);
    // Back in its queue while "running" still runs: no other worker, so it waits there.
    REQUIRE(corsair::test::wait_until(
        [&] { return producer->status(held_job).state == corsair::protocol::JobState::pending; }, 10s, 20ms));
    CHECK(producer->status(running_job).state == corsair::protocol::JobState::running);
    CHECK(cluster.counter("attempts_not_started") == 1);
    // The job it started ends done, then the worker leaves.
    CHECK(producer->wait_result(running_job, 20s).state == corsair::protocol::JobState::done);
    const auto wait_status = holder.wait_exit(20s);
    REQUIRE(wait_status);
    CHECK(WIFEXITED(*wait_status));
    CHECK(WEXITSTATUS(*wait_status) == 0);

    CHECK_FALSE(std::filesystem::exists(marks + "/" + held_job + ".started"));  // it never ran there
    cluster.start_worker("next", {"--builtin", "sleep"}, "q", 1);
    const auto outcome = producer->wait_result(held_job, 20s);
    CHECK(outcome.state == corsair::protocol::JobState::done);
    const auto status = producer->status(held_job);
    CHECK(status.attempt == 2);
    CHECK(status.counted_attempts.value_or(status.attempt) == 1);  // the lease given back is not counted
    CHECK(cluster.counter("jobs_failed") == 0);
}
