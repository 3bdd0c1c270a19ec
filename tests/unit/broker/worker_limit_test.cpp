// --max-workers: a READY that would connect one worker more than the limit is refused with
// too_many_workers, counted, and logged at most once a minute.
#include <map>

#include <catch2/catch.hpp>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>

#include "corsair/broker/scheduler.hpp"
#include "recording_outbox.hpp"
#include "scheduler_fixture.hpp"

namespace p = corsair::protocol;
using corsair::broker::BrokerOptions;
using corsair::broker::Scheduler;
using corsair::broker::test::RecordingOutbox;
using corsair::broker::test::worker_count;

namespace {

struct WorkerLimitedBroker {
    explicit WorkerLimitedBroker(std::uint64_t max_workers)
        : scheduler(options(max_workers), outbox,
                    std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::ostream_sink_st>(log))) {}

    static BrokerOptions options(std::uint64_t max_workers) {
        BrokerOptions o;
        o.max_workers = max_workers;
        o.random_seed = 42;
        return o;
    }
    // READY from `worker` over the network (`address`), or in-process with an empty address.
    void ready(const std::string& worker, std::string_view address = "10.0.0.1", std::uint64_t instance = 0) {
        p::Ready ready{{"q"}, 1, worker};
        ready.instance = instance;
        scheduler.on_worker_message(worker + "-connection", std::move(ready), now, corsair::broker::Peer{address, false, {}, std::nullopt});
    }
    void ready_on(const std::string& connection, const std::string& name, std::uint64_t instance) {
        p::Ready ready{{"q"}, 1, name};
        ready.instance = instance;
        scheduler.on_worker_message(connection, std::move(ready), now, corsair::broker::Peer{"10.0.0.1", false, {}, std::nullopt});
    }
    // Every ERROR sent to `worker`'s connection so far (the outbox hands each out once).
    std::vector<p::Error> errors(const std::string& worker) {
        auto& seen = errors_seen[worker];
        for (auto& error : outbox.to_worker_of<p::Error>(worker + "-connection")) seen.push_back(std::move(error));
        return seen;
    }
    std::map<std::string, std::vector<p::Error>> errors_seen;
    std::size_t log_lines_with(const std::string& text) const {
        std::size_t count = 0;
        std::istringstream lines(log.str());
        for (std::string line; std::getline(lines, line);) count += line.find(text) != std::string::npos;
        return count;
    }

    std::ostringstream log;
    RecordingOutbox outbox;
    Scheduler scheduler;
    Scheduler::TimePoint now{std::chrono::seconds(1000)};
};

}  // namespace

TEST_CASE("a READY past --max-workers is refused with too_many_workers, the connected workers go on",
          "[broker][scheduler][worker_limit]") {
    WorkerLimitedBroker b(2);
    b.ready("w1");
    b.ready("w2");
    b.ready("w3");
    auto errors = b.errors("w3");
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].code == p::ErrorCode::too_many_workers);
    CHECK(errors[0].command == "READY");
    CHECK(errors[0].message == "the broker has 2 workers connected, its --max-workers; try again later");
    CHECK(worker_count(b.scheduler, b.now) == 2);
    CHECK(b.scheduler.counters().worker_limit_refusals == 1);
    CHECK(b.scheduler.stats(b.now).counters.at("worker_limit_refusals") == 1);

    SECTION("a connected worker announcing itself again is not refused") {
        b.ready("w1");
        CHECK(b.errors("w1").empty());
        CHECK(worker_count(b.scheduler, b.now) == 2);
    }
    SECTION("once a worker leaves, the refused one is taken") {
        b.scheduler.on_worker_message("w1-connection", p::Disconnect{"bye"}, b.now);
        b.ready("w3");
        CHECK(b.errors("w3").size() == 1);
        CHECK(worker_count(b.scheduler, b.now) == 2);
    }
    SECTION("the refused worker is not known: its HEARTBEAT gets unknown_worker") {
        b.scheduler.on_worker_message("w3-connection", p::Heartbeat{}, b.now);
        auto later = b.errors("w3");
        REQUIRE(later.size() == 2);
        CHECK(later[1].code == p::ErrorCode::unknown_worker);
    }
}

TEST_CASE("a worker reconnecting on a new connection at --max-workers takes its old place",
          "[broker][scheduler][worker_limit]") {
    WorkerLimitedBroker b(1);
    b.ready_on("old", "w", 7);
    b.ready_on("new", "w", 7);
    CHECK(b.outbox.to_worker_of<p::Error>("new").empty());
    CHECK(worker_count(b.scheduler, b.now) == 1);
    CHECK(b.scheduler.counters().worker_limit_refusals == 0);
}

TEST_CASE("in-process workers do not count against --max-workers", "[broker][scheduler][worker_limit]") {
    WorkerLimitedBroker b(1);
    b.ready("w1");
    b.ready("http-1", "");
    b.ready("http-2", "");
    CHECK(b.errors("http-1").empty());
    CHECK(b.errors("http-2").empty());
    CHECK(worker_count(b.scheduler, b.now) == 3);
    b.ready("w2");
    CHECK(b.errors("w2").size() == 1);
}

TEST_CASE("READYs refused at --max-workers are logged once a minute, not once each",
          "[broker][scheduler][worker_limit]") {
    WorkerLimitedBroker b(1);
    b.ready("w1");
    for (int i = 0; i < 5; ++i) b.ready("late" + std::to_string(i));
    CHECK(b.log_lines_with("workers refused") == 1);
    CHECK(b.scheduler.counters().worker_limit_refusals == 5);
    b.now += std::chrono::seconds(61);
    b.ready("late-again");
    CHECK(b.log_lines_with("workers refused") == 2);
    CHECK(b.log_lines_with("refused_since_last_line=5") == 1);
}

TEST_CASE("a --max-workers of 0 takes any number of workers", "[broker][scheduler][worker_limit]") {
    WorkerLimitedBroker b(0);
    for (int i = 0; i < 50; ++i) b.ready("w" + std::to_string(i));
    CHECK(worker_count(b.scheduler, b.now) == 50);
}
