// Durability with real processes (docs/durability.md): a broker killed with SIGKILL while a
// producer streams jobs to four workers, restarted on the same data directory, loses nothing
// it acknowledged and completes every job once in its records.
//
// These tests also guard a libzmq 4.3.4 abort a producer once hit here: with ZMQ_IMMEDIATE a DEALER
// whose broker dies mid-stream fails "!_more (src/fq.cpp:112)" (see producer.cpp).
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>

#include <catch2/catch.hpp>

#include "cluster.hpp"
#include "corsair/broker/journal_record.hpp"
#include "deadline.hpp"
#include "journal_reader.hpp"

using namespace std::chrono_literals;
using corsair::test::Cluster;
namespace p = corsair::protocol;

namespace {

constexpr int kWorkers = 4;
constexpr int kCapacity = 8;

// How many times each job id appears in the workers' "job done" debug lines: executions.
std::map<std::string, int> executions(Cluster& cluster) {
    std::map<std::string, int> runs;
    for (int i = 0; i < kWorkers; ++i) {
        std::istringstream log(cluster.worker_log("w" + std::to_string(i)));
        const std::string marker = "job done job=";
        for (std::string line; std::getline(log, line);) {
            const auto at = line.find(marker);
            if (at == std::string::npos) continue;
            const auto start = at + marker.size();
            ++runs[line.substr(start, line.find(' ', start) - start)];
        }
    }
    return runs;
}

// DONE records per job in the broker's journal.
std::map<std::string, int> done_records(Cluster& cluster) {
    std::map<std::string, int> done;
    corsair::broker::JournalReader reader(cluster.log_dir() + "/data/journal.log");
    while (auto record = reader.next()) {
        if (auto* d = std::get_if<corsair::broker::JournalDone>(&*record)) ++done[d->id];
        // A compaction snapshot restates a kept result as one `job` record (format 3).
        if (auto* j = std::get_if<corsair::broker::JournalJob>(&*record)) {
            if (j->state == corsair::broker::JournalJob::State::done) ++done[j->id];
        }
    }
    CHECK(reader.ending().kind == corsair::broker::JournalEnding::Kind::clean);
    return done;
}

struct Streamed {
    std::set<std::string> ids;
    std::map<std::string, int> results;
    int kills = 0;
    std::size_t in_flight_at_kills = 0;  // summed over the kills (kill_and_restart_broker)
};

// Kills the broker and restarts it on its endpoints and data directory. Returns how many jobs
// were in flight at the kill: leased to a worker (at most workers x capacity), or run by a
// worker without their RESULT having reached the producer (a RESULT is sent only once the
// completion is on disk, so these are exactly the completions a crash can lose).
std::size_t in_flight_now(Cluster& cluster, const std::map<std::string, int>& results) {
    std::size_t unacknowledged = 0;
    for (const auto& [id, count] : executions(cluster)) {
        if (results.count(id) == 0) ++unacknowledged;
    }
    return unacknowledged + kWorkers * kCapacity;
}

std::size_t kill_and_restart_broker(Cluster& cluster, const std::map<std::string, int>& results) {
    const auto in_flight = in_flight_now(cluster, results);
    const auto endpoints = cluster.endpoints();
    cluster.kill_broker();
    cluster.start_broker(endpoints);
    return in_flight;
}

// Streams `total` jobs, calling `crash(results so far)` after every pump; `crash` returns how
// many jobs were in flight at a kill it made (kill_and_restart_broker), or nullopt.
Streamed stream_jobs(Cluster& cluster, int total,
                     const std::function<std::optional<std::size_t>(const std::map<std::string, int>&)>& crash) {
    Streamed s;
    auto producer = cluster.make_producer();
    int submitted = 0;
    const auto deadline = std::chrono::steady_clock::now() + 240s;
    while (s.results.size() < static_cast<std::size_t>(total) && std::chrono::steady_clock::now() < deadline) {
        for (int i = 0; i < 200 && submitted < total; ++i, ++submitted) {
            s.ids.insert(producer->submit_async("q", "job-" + std::to_string(submitted), true));
        }
        for (auto& event : producer->poll(20ms)) {
            if (event.kind != corsair::producer::Event::Kind::result) continue;
            ++s.results[event.id];
            CHECK(event.outcome.state == p::JobState::done);
        }
        if (auto running = crash(s.results)) {
            ++s.kills;
            s.in_flight_at_kills += *running;
        }
    }
    return s;
}

void check_exactly_once(Cluster& cluster, const Streamed& s, int total) {
    REQUIRE(s.ids.size() == static_cast<std::size_t>(total));
    CHECK(s.results.size() == s.ids.size());
    for (const auto& [id, count] : s.results) CHECK(count == 1);
    // Stop the broker cleanly so its journal is complete, then read its records.
    cluster.broker().signal(SIGTERM);
    REQUIRE(cluster.broker().wait_exit(20s));
    const auto done = done_records(cluster);
    std::size_t missing = 0;
    for (const auto& id : s.ids) {
        auto it = done.find(id);
        if (it == done.end()) {
            ++missing;
            continue;
        }
        CHECK(it->second == 1);
    }
    CHECK(missing == 0);
    // A job in flight at a crash (leased, or done but not yet on disk) may run twice; nothing
    // else may. The journal says how many were in flight at each kill.
    const auto runs = executions(cluster);
    std::size_t repeated = 0;
    for (const auto& [id, count] : runs) repeated += static_cast<std::size_t>(count - 1);
    std::printf("[measure] %d jobs, %d broker kills: %zu ran more than once; bound (in flight at the kills) %zu\n",
                total, s.kills, repeated, s.in_flight_at_kills);
    CHECK(repeated <= s.in_flight_at_kills);
}

void start_workers(Cluster& cluster) {
    for (int i = 0; i < kWorkers; ++i) {
        cluster.start_worker("w" + std::to_string(i), {"--builtin", "echo", "--log-level", "debug"}, "q", kCapacity);
    }
    REQUIRE(cluster.wait_for_workers(kWorkers));
}

}  // namespace

TEST_CASE("10,000 streamed jobs survive three kill -9 of the broker at random moments",
          "[integration][durability]") {
    constexpr int kJobs = 10'000;
    const unsigned seed = 20261123;
    std::mt19937 random(seed);
    // One kill in each third of the run, at a random point within it.
    std::vector<std::size_t> kill_at = {std::uniform_int_distribution<std::size_t>(500, 3000)(random),
                                        std::uniform_int_distribution<std::size_t>(3500, 6500)(random),
                                        std::uniform_int_distribution<std::size_t>(7000, 9500)(random)};
    INFO("seed " << seed << ", kills after " << kill_at[0] << ", " << kill_at[1] << ", " << kill_at[2] << " results");
    Cluster cluster;
    start_workers(cluster);
    std::size_t next = 0;
    auto s = stream_jobs(cluster, kJobs, [&](const std::map<std::string, int>& results) {
        if (next >= kill_at.size() || results.size() < kill_at[next]) return std::optional<std::size_t>();
        ++next;
        return std::optional<std::size_t>(kill_and_restart_broker(cluster, results));
    });
    CHECK(s.kills == 3);
    check_exactly_once(cluster, s, kJobs);
}

TEST_CASE("a compaction under load, killed in the middle, loses nothing", "[integration][durability]") {
    constexpr int kJobs = 8'000;
    // Tiny thresholds: ratio 1 compacts whenever the journal outgrows the live state (here mostly
    // results, which a journal of ended jobs exceeds by about a third), so the broker compacts
    // every few hundred jobs while they stream.
    Cluster cluster({"--heartbeat", "200ms", "--liveness", "3", "--compact-min-bytes", "100000", "--compact-ratio",
                     "1"});
    start_workers(cluster);
    const std::string compacting = cluster.log_dir() + "/data/journal.log.compact";
    int tries = 0;
    int caught = 0;  // kills that landed while the compaction file existed, before its rename
    std::size_t next_try = 500;
    auto s = stream_jobs(cluster, kJobs, [&](const std::map<std::string, int>& results) {
        if (tries >= 10 || caught >= 2 || results.size() < next_try) return std::optional<std::size_t>();
        ++tries;
        next_try = results.size() + 400;
        // A compaction writes journal.log.compact, syncs it and renames it over journal.log.
        if (!corsair::test::wait_until([&] { return std::filesystem::exists(compacting); }, 3s, 1ms)) {
            return std::optional<std::size_t>();
        }
        const auto endpoints = cluster.endpoints();
        cluster.kill_broker();
        // Killed before the rename if the compaction file is still there after the kill.
        if (std::filesystem::exists(compacting)) ++caught;
        // Counted after the kill: jobs run since were leased at the kill, so this only loosens it.
        const auto in_flight = in_flight_now(cluster, results);
        cluster.start_broker(endpoints);
        return std::optional<std::size_t>(in_flight);
    });
    std::printf("[measure] compaction test: %d kills, %d of them while a compaction was being written\n", s.kills,
                caught);
    CHECK(caught >= 1);
    check_exactly_once(cluster, s, kJobs);
    // Compactions also finished (the log holds every broker run), and none failed.
    const auto log = cluster.broker_log();
    CHECK(log.find("journal compacted") != std::string::npos);
    CHECK(log.find("compaction abandoned") == std::string::npos);
    CHECK(log.find("compaction not started") == std::string::npos);
}

TEST_CASE("a full disk refuses new jobs with storage_unavailable, and the broker resumes by itself without losing "
          "what it acknowledged",
          "[integration][durability]") {
    // A file size limit (prlimit --fsize) fails the journal's writes as a full disk would,
    // without needing one; `prlimit --pid` lifts it from outside, as freeing space would.
    Cluster cluster;
    const auto endpoints = cluster.endpoints();
    cluster.run_broker_under({"/usr/bin/prlimit", "--fsize=65536:unlimited", "--"});
    cluster.start_broker(endpoints);
    auto producer = cluster.make_producer();
    const std::string payload(1024, 'x');
    std::vector<std::string> acknowledged;
    std::vector<std::string> unanswered;  // taken, but their ACCEPTED waited for the journal
    std::optional<corsair::producer::ProducerError> refusal;
    for (int i = 0; i < 200 && !refusal; ++i) {
        const std::string id = "job-" + std::to_string(i);
        try {
            producer->submit("q", payload, {}, 1500ms, id);
            acknowledged.push_back(id);
        } catch (const corsair::producer::ProducerError& e) {
            if (e.is_timeout()) {
                unanswered.push_back(id);
            } else {
                refusal = e;
            }
        }
    }
    REQUIRE(refusal);
    CHECK(refusal->code() == p::ErrorCode::storage_unavailable);
    CHECK(refusal->broker_message().find("File too large") != std::string::npos);
    CHECK(acknowledged.size() > 20);
    CHECK(acknowledged.size() < 64);  // 64 KiB of 1 KiB jobs
    CHECK(cluster.counter("storage_unavailable") == 1);
    CHECK(cluster.broker().is_running());
    // A worker's results are still taken meanwhile, but no job is handed out.
    cluster.start_worker("w", {"--builtin", "echo"});
    REQUIRE(cluster.wait_for_workers(1));
    CHECK(cluster.stats()->counters.at("jobs_dispatched") == 0);

    // Space comes back: the broker takes jobs and dispatches again by itself.
    const std::string pid = std::to_string(cluster.broker_pid());
    corsair::test::ChildProcess lift({"/usr/bin/prlimit", "--pid", pid, "--fsize=unlimited:unlimited"});
    REQUIRE(lift.wait_exit(5s) == 0);
    REQUIRE(corsair::test::wait_until([&] { return cluster.counter("storage_unavailable") == 0; }, 10s, 50ms));
    producer->submit("q", payload, {}, 5s, "after");
    REQUIRE(corsair::test::wait_until([&] { return cluster.counter("jobs_done") >= acknowledged.size() + 1; }, 20s,
                                      50ms));
    const auto log = cluster.broker_log();
    CHECK(log.find("journal cannot be written") != std::string::npos);
    CHECK(log.find("journal writable again") != std::string::npos);

    // Every job it acknowledged (and those whose ACCEPTED waited) is in the journal: a kill -9
    // and restart knows them all, done.
    cluster.kill_broker();
    cluster.start_broker(endpoints);
    auto after = cluster.make_producer();
    acknowledged.insert(acknowledged.end(), unanswered.begin(), unanswered.end());
    acknowledged.push_back("after");
    for (const auto& id : acknowledged) {
        INFO(id);
        CHECK(after->status(id).state == p::JobState::done);
    }
}
