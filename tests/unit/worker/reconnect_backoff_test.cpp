#include "reconnect_backoff.hpp"

#include <catch2/catch.hpp>

using corsair::worker::reconnect_cap;
using corsair::worker::reconnect_delay;
using namespace std::chrono_literals;

TEST_CASE("the reconnect backoff doubles up to the liveness window, never past it", "[worker][reconnect_backoff]") {
    const auto cap = reconnect_cap(3s, 1s, 32s);  // the defaults: 1 s x 3 heartbeats
    CHECK(cap == 3s);
    SECTION("without jitter (the top of each range)") {
        CHECK(reconnect_delay(1, 1s, cap, 0.999999) == 999ms);
        CHECK(reconnect_delay(2, 1s, cap, 0.999999) == 1999ms);
        CHECK(reconnect_delay(3, 1s, cap, 0.999999) == 2999ms);
        CHECK(reconnect_delay(50, 1s, cap, 0.999999) == 2999ms);
    }
    SECTION("with the most jitter, each wait is half of the schedule's") {
        CHECK(reconnect_delay(1, 1s, cap, 0.0) == 500ms);
        CHECK(reconnect_delay(2, 1s, cap, 0.0) == 1s);
        CHECK(reconnect_delay(3, 1s, cap, 0.0) == 1500ms);
        CHECK(reconnect_delay(1000, 1s, cap, 0.0) == 1500ms);
    }
    SECTION("the jitter spreads workers across the range") {
        CHECK(reconnect_delay(3, 1s, cap, 0.5) == 2250ms);
        CHECK(reconnect_delay(3, 1s, cap, 0.25) == 1875ms);
    }
    SECTION("after a broker restart, six tries in a row take at most the liveness window each") {
        auto total = 0ms;
        for (std::uint32_t tries = 1; tries <= 6; ++tries) total += reconnect_delay(tries, 1s, cap, 0.999999);
        CHECK(total < 16s);  // the old schedule (1, 2, 4, 8, 16, 32 s) took 63 s
    }
}

TEST_CASE("the reconnect cap follows the broker's liveness window within the options' bounds",
          "[worker][reconnect_backoff]") {
    CHECK(reconnect_cap(750ms, 1s, 32s) == 1s);     // a fast broker: never below reconnect_min
    CHECK(reconnect_cap(180s, 1s, 32s) == 32s);     // a slow one: never past reconnect_max
    CHECK(reconnect_cap(3s, 50ms, 200ms) == 200ms);
    CHECK(reconnect_cap(3s, 5s, 1s) == 5s);         // a max below the min counts as the min
    CHECK(reconnect_delay(1, 5s, 1s, 0.0) == 500ms);  // a min above the cap is cut to it
}
