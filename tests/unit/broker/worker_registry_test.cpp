#include "worker_registry.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <set>
#include <utility>

#include "queue_state.hpp"

using namespace corsair::broker;
using namespace std::chrono_literals;

namespace {

struct Registry {
    Registry() : workers(dirty, HeartbeatRhythm{1s, 10s, 3}) { queue.name = "q"; }
    WorkerRecord& announce(const std::string& id, std::uint32_t capacity = 2, std::uint32_t batch = 0) {
        WorkerRecord& worker = *workers.announce(id, id, {"q"}, {&queue}, capacity, batch, now).first;
        workers.refresh_listing(worker);
        return worker;
    }
    std::vector<std::string> idle() const {
        std::vector<std::string> names;
        for (const WorkerRecord* w : queue.idle_workers) names.push_back(w->name);
        return names;
    }

    std::chrono::steady_clock::time_point now{std::chrono::seconds(100)};
    QueueState queue;
    DirtyQueues dirty;
    WorkerRegistry workers;
};

}  // namespace

TEST_CASE("the worker state table has one row per move and no way out of gone", "[broker][worker_registry]") {
    std::set<std::pair<WorkerState, WorkerState>> seen;
    for (const auto& row : kWorkerTransitions) {
        CHECK(seen.insert({row.from, row.to}).second);
        CHECK(row.from != WorkerState::gone);
    }
    CHECK_FALSE(is_allowed(WorkerState::draining, WorkerState::congested));
}

TEST_CASE("idle workers are taken least recently used first", "[broker][worker_registry]") {
    Registry r;
    WorkerRecord& a = r.announce("a");
    r.announce("b");
    CHECK(r.idle() == std::vector<std::string>{"a", "b"});
    r.workers.note_leased(a, r.queue);  // a has credit left: to the back
    CHECK(r.idle() == std::vector<std::string>{"b", "a"});
}

TEST_CASE("a worker of short jobs listed again goes first, others last", "[broker][worker_registry]") {
    Registry r;
    WorkerRecord& a = r.announce("a", 2, 64);
    r.announce("b");
    r.workers.note_leased(a, r.queue);
    REQUIRE(r.idle() == std::vector<std::string>{"b", "a"});
    // Its attempts end `gap` apart: its pace.
    const auto paced = [&](std::chrono::microseconds gap) {
        a.ready_depth.attempt_ended(std::chrono::steady_clock::time_point::min(), r.now);
        a.ready_depth.attempt_ended(std::chrono::steady_clock::time_point::min(), r.now + gap);
    };
    const auto listed_again = [&] {
        r.workers.move_worker(a, WorkerState::congested);
        REQUIRE(r.idle() == std::vector<std::string>{"b"});
        r.workers.heard_from(a, r.now);
        return r.idle();
    };
    SECTION("jobs of 100 µs: first") {
        paced(100us);
        CHECK(a.pass_share() == 64);
        CHECK(listed_again() == std::vector<std::string>{"a", "b"});
    }
    SECTION("its pace not known: last") { CHECK(listed_again() == std::vector<std::string>{"b", "a"}); }
    SECTION("jobs of 20 ms: last") {
        paced(20000us);
        CHECK(a.pass_share() == 1);
        CHECK(listed_again() == std::vector<std::string>{"b", "a"});
    }
    SECTION("its last attempt failed: last") {
        paced(100us);
        a.did_last_attempt_fail = true;
        CHECK(listed_again() == std::vector<std::string>{"b", "a"});
    }
    SECTION("a worker without batches: last") {
        paced(100us);
        a.batch = 0;
        CHECK(listed_again() == std::vector<std::string>{"b", "a"});
    }
}

TEST_CASE("a worker is listed exactly while it is serving with credit", "[broker][worker_registry]") {
    Registry r;
    WorkerRecord& w = r.announce("w");
    REQUIRE(r.idle().size() == 1);
    SECTION("congested until it speaks") {
        r.workers.move_worker(w, WorkerState::congested);
        CHECK(r.idle().empty());
        r.workers.heard_from(w, r.now + 1s);
        CHECK(w.state == WorkerState::serving);
        CHECK(r.idle().size() == 1);
        CHECK(w.last_heard == r.now + 1s);
    }
    SECTION("draining for good, until READY starts a new session") {
        r.workers.move_worker(w, WorkerState::draining);
        r.workers.heard_from(w, r.now + 1s);
        CHECK(r.idle().empty());
        r.announce("w");
        CHECK(w.state == WorkerState::serving);
        CHECK(r.idle().size() == 1);
    }
    SECTION("gone, then forgotten") {
        r.workers.move_worker(w, WorkerState::gone);
        CHECK(r.idle().empty());
        r.workers.erase(w);
        CHECK(r.workers.size() == 0);
        CHECK(r.workers.find("w") == nullptr);
    }
}

TEST_CASE("listing a worker marks its queues dirty only when jobs are pending", "[broker][worker_registry]") {
    Registry r;
    r.announce("a");
    CHECK(r.dirty.take() == nullptr);
}

TEST_CASE("a worker is silent once liveness x heartbeat has passed without a word", "[broker][worker_registry]") {
    Registry r;
    WorkerRecord& w = r.announce("w");
    CHECK_FALSE(r.workers.is_silent(w, r.now + 2999ms));
    CHECK(r.workers.is_silent(w, r.now + 3s));
    r.workers.heard_from(w, r.now + 2s);
    CHECK_FALSE(r.workers.is_silent(w, r.now + 3s));
}
