#include "retry_backoff.hpp"

#include <catch2/catch.hpp>
#include <set>

using corsair::broker::retry_backoff;
using namespace std::chrono_literals;

TEST_CASE("the backoff doubles per failure up to its cap", "[broker][retry_backoff]") {
    std::mt19937_64 random(1);
    CHECK(retry_backoff(1000ms, 600'000ms, 0, 1, random) == 1000ms);
    CHECK(retry_backoff(1000ms, 600'000ms, 0, 2, random) == 2000ms);
    CHECK(retry_backoff(1000ms, 600'000ms, 0, 5, random) == 16'000ms);
    CHECK(retry_backoff(1000ms, 600'000ms, 0, 11, random) == 600'000ms);
    CHECK(retry_backoff(1000ms, 600'000ms, 0, 4'000'000'000u, random) == 600'000ms);  // no overflow
    CHECK(retry_backoff(0ms, 600'000ms, 20, 3, random) == 0ms);
}

TEST_CASE("jitter stays within its percentage and actually varies", "[broker][retry_backoff]") {
    std::mt19937_64 random(7);
    std::set<long long> seen;
    for (int i = 0; i < 1000; ++i) {
        const auto wait = retry_backoff(1000ms, 600'000ms, 20, 1, random);
        CHECK(wait >= 800ms);
        CHECK(wait <= 1200ms);
        seen.insert(wait.count());
    }
    CHECK(seen.size() > 100);
    std::mt19937_64 full(3);
    for (int i = 0; i < 100; ++i) CHECK(retry_backoff(1000ms, 600'000ms, 100, 1, full) <= 2000ms);
}
