// Waiting for a condition under a deadline: the only way integration tests synchronise.
#pragma once

#include <chrono>
#include <functional>

namespace corsair::test {

// How many times longer every harness deadline is: CORSAIR_TEST_TIME_SCALE, a number >= 1 (1 when
// unset or unreadable), for builds whose programs run slower, as under sanitizers (tests/run.sh
// sets it). It lengthens how long the harness waits, never the timings the programs are given.
double time_scale();
// `timeout` times time_scale().
std::chrono::milliseconds scaled(std::chrono::milliseconds timeout);

// Re-checks `condition` every `step` until it holds (true) or scaled(`timeout`) passes (false).
bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                std::chrono::milliseconds step = std::chrono::milliseconds(5));

}  // namespace corsair::test
