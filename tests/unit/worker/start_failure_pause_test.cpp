#include "start_failure_pause.hpp"

#include <catch2/catch.hpp>

using corsair::worker::StartFailurePause;
using Action = StartFailurePause::Action;
using namespace std::chrono_literals;

TEST_CASE("start failures pause the worker for a doubling time, then make it give up", "[worker][start_failure_pause]") {
    StartFailurePause pause;
    auto now = StartFailurePause::Clock::time_point{} + 1000s;
    CHECK_FALSE(pause.is_paused());

    std::chrono::milliseconds expected = 1s;
    for (std::uint32_t round = 1; round <= StartFailurePause::kMaxRounds; ++round) {
        INFO("round " << round);
        REQUIRE(pause.on_failure(now) == Action::pause);
        CHECK(pause.rounds() == round);
        CHECK(pause.pause_length() == expected);
        CHECK(pause.paused_until() == now + expected);
        // Jobs already on their way fail within the same round.
        CHECK(pause.on_failure(now + 1ms) == Action::none);
        CHECK_FALSE(pause.take_resume(now + expected - 1ms));
        now += expected;
        CHECK(pause.take_resume(now));
        CHECK_FALSE(pause.take_resume(now));  // once
        expected *= 2;
    }
    CHECK(pause.on_failure(now) == Action::give_up);
}

TEST_CASE("a command that starts again resets the rounds", "[worker][start_failure_pause]") {
    StartFailurePause pause;
    auto now = StartFailurePause::Clock::time_point{} + 1000s;
    REQUIRE(pause.on_failure(now) == Action::pause);
    now += 1s;
    REQUIRE(pause.take_resume(now));
    REQUIRE(pause.on_failure(now) == Action::pause);
    CHECK(pause.pause_length() == 2s);
    now += 2s;
    REQUIRE(pause.take_resume(now));
    pause.on_started();
    REQUIRE(pause.on_failure(now) == Action::pause);
    CHECK(pause.rounds() == 1);
    CHECK(pause.pause_length() == 1s);
}
