#include "result_store.hpp"

#include <catch2/catch.hpp>

using corsair::broker::EndedJob;
using corsair::broker::ResultStore;
using namespace std::chrono_literals;

namespace {
EndedJob ended_at(std::chrono::steady_clock::time_point at, std::size_t result_bytes = 10) {
    EndedJob job;
    job.queue = "q";
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

TEST_CASE("the oldest results are dropped to stay under the memory bound", "[broker][result_store]") {
    ResultStore store(1h, 4000);
    const std::chrono::steady_clock::time_point t0{100s};
    for (int i = 0; i < 10; ++i) store.add(std::to_string(i), ended_at(t0, 1000));
    CHECK(store.bytes() <= 4000);
    CHECK(store.find("9") != nullptr);
    CHECK(store.find("0") == nullptr);
    CHECK(store.evicted() == 10 - store.size());
}
