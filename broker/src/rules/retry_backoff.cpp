#include "retry_backoff.hpp"

#include <algorithm>

namespace corsair::broker {

std::chrono::milliseconds retry_backoff(std::chrono::milliseconds first, std::chrono::milliseconds max,
                                        std::uint32_t jitter_pct, std::uint32_t failures, std::mt19937_64& random) {
    // Doubling stops once past the cap, so 2^n never overflows.
    std::int64_t base = first.count();
    for (std::uint32_t i = 1; i < failures && base < max.count(); ++i) base *= 2;
    base = std::min(base, max.count());
    if (jitter_pct == 0 || base == 0) return std::chrono::milliseconds(base);
    const std::int64_t spread = base * std::min<std::uint32_t>(jitter_pct, 100) / 100;
    std::uniform_int_distribution<std::int64_t> jitter(-spread, spread);
    return std::chrono::milliseconds(std::max<std::int64_t>(0, base + jitter(random)));
}

}  // namespace corsair::broker
