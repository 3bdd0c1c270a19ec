// How long a failed job waits before its next attempt: exponential backoff with jitter.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>

namespace corsair::broker {

// min(first * 2^(failures-1), max), then moved by a uniform +/- jitter_pct percent.
// `failures` counts failed attempts so far (>= 1). Never negative.
std::chrono::milliseconds retry_backoff(std::chrono::milliseconds first, std::chrono::milliseconds max,
                                        std::uint32_t jitter_pct, std::uint32_t failures, std::mt19937_64& random);

}  // namespace corsair::broker
