#include "result_store.hpp"

#include <catch2/catch.hpp>

using corsair::broker::EndedJob;
using corsair::broker::ResultStore;
using namespace std::chrono_literals;

namespace {
const std::string kQueue = "q";

EndedJob ended_at(std::chrono::steady_clock::time_point at, std::size_t result_bytes = 10) {
    EndedJob job;
    job.queue = &kQueue;
    job.result = zmq::message_t(std::string(result_bytes, 'r').data(), result_bytes);
    job.ended_at = at;
    return job;
}
}  // namespace

TEST_CASE("results are found until their TTL passes", "[broker][result_store]") {
    ResultStore store(10s, 1 << 20);
    const std::chrono::steady_clock::time_point t0{100s};
    store.add("a", ended_at(t0));
    store.add("b", ended_at(t0 + 5s));
    CHECK(store.find("a") != nullptr);
    CHECK(store.expire(t0 + 9s) == 0);
    CHECK(store.expire(t0 + 10s) == 1);
    CHECK(store.find("a") == nullptr);
    CHECK(store.find("b") != nullptr);
    CHECK(store.expire(t0 + 15s) == 1);
    CHECK(store.size() == 0);
    CHECK(store.bytes() == 0);
}

TEST_CASE("a TTL of 0 is no age limit: only the memory bound drops results", "[broker][result_store]") {
    ResultStore store(0s, 1 << 20);
    const std::chrono::steady_clock::time_point t0{100s};
    store.add("a", ended_at(t0));
    CHECK(store.expire(t0 + 24h * 365) == 0);
    CHECK(store.find("a") != nullptr);
}

TEST_CASE("the oldest results are dropped to stay under the memory bound", "[broker][result_store]") {
    ResultStore store(1h, 4000);
    const std::chrono::steady_clock::time_point t0{100s};
    for (int i = 0; i < 10; ++i) store.add(std::to_string(i), ended_at(t0, 1000));
    CHECK(store.bytes() <= 4000);
    CHECK(store.find("9") != nullptr);
    CHECK(store.find("0") == nullptr);
    CHECK(store.evicted() == 10 - store.size());
}

TEST_CASE("a kept result keeps its fields, a small result copied and a large one shared", "[broker][result_store]") {
    ResultStore store(1h, 1 << 30);
    const std::chrono::steady_clock::time_point t0{100s};
    SECTION("small") {
        EndedJob job = ended_at(t0, 64);
        job.state = corsair::protocol::JobState::cancelled;
        job.attempt = 3;
        job.priority = -7;
        job.max_attempts = 5;
        job.error = "cancelled";
        job.errors = {{1, "boom"}, {2, "bang"}};
        store.add("job-0123456789abcdef-42", job);
        CHECK(job.result.size() == 64);  // still the caller's to send
        const auto* kept = store.find("job-0123456789abcdef-42");
        REQUIRE(kept != nullptr);
        CHECK(kept->id() == "job-0123456789abcdef-42");
        CHECK(*kept->queue == "q");
        CHECK(kept->state == corsair::protocol::JobState::cancelled);
        CHECK(kept->attempt == 3);
        CHECK(kept->priority == -7);
        CHECK(kept->max_attempts == 5);
        CHECK(kept->error() == "cancelled");
        REQUIRE(kept->errors().size() == 2);
        CHECK(kept->errors()[1].error == "bang");
        CHECK(kept->result() == std::string(64, 'r'));
        CHECK(kept->result_message().to_string() == std::string(64, 'r'));
        CHECK(kept->ended_at == t0);
    }
    SECTION("large") {
        EndedJob job = ended_at(t0, 100000);
        const void* buffer = job.result.data();
        store.add("big", job);
        const auto* kept = store.find("big");
        REQUIRE(kept != nullptr);
        CHECK(kept->result().data() == buffer);  // the same buffer, not a copy
        CHECK(kept->result().size() == 100000);
        CHECK(kept->error().empty());
        CHECK(kept->errors().empty());
    }
    SECTION("empty") {
        store.add("none", ended_at(t0, 0));
        REQUIRE(store.find("none") != nullptr);
        CHECK(store.find("none")->result().empty());
        CHECK(store.find("none")->result_message().size() == 0);
    }
}

TEST_CASE("results are listed oldest first and a second add of an id is ignored", "[broker][result_store]") {
    ResultStore store(1h, 1 << 30);
    const std::chrono::steady_clock::time_point t0{100s};
    for (int i = 0; i < 100; ++i) store.add("id-" + std::to_string(i), ended_at(t0 + std::chrono::seconds(i)));
    store.add("id-5", ended_at(t0 + 500s));
    CHECK(store.size() == 100);
    std::vector<std::string> ids;
    store.for_each([&](const corsair::broker::KeptResult& kept) { ids.emplace_back(kept.id()); });
    REQUIRE(ids.size() == 100);
    CHECK(ids.front() == "id-0");
    CHECK(ids.back() == "id-99");
    CHECK(store.expire(t0 + 1h + 50s) == 51);
    CHECK(store.find("id-50") == nullptr);
    CHECK(store.find("id-51") != nullptr);
}
