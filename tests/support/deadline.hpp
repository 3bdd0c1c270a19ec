// Waiting for a condition under a deadline: the only way integration tests synchronise.
#pragma once

#include <chrono>
#include <functional>

namespace corsair::test {

// Re-checks `condition` every `step` until it holds (true) or `timeout` passes (false).
bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                std::chrono::milliseconds step = std::chrono::milliseconds(5));

}  // namespace corsair::test
