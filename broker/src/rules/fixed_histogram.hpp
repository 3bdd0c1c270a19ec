// A histogram over bucket bounds fixed at compile time, as STATS reports it (docs/protocol.md
// §5.7): a count per bucket, one for the values above every bound, and the sum. A plain value
// owned by one thread (the loop for a queue's, the journal writer for its own); observe()
// allocates nothing and takes no lock, so it may sit on the hot path.
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <iterator>

#include "corsair/protocol/limits.hpp"
#include "corsair/protocol/messages.hpp"

namespace corsair::broker {

// Job wait and run times, in microseconds: 1-2.5-5 steps from 100 µs to 1 h, so that each bound
// reads as a round number of seconds in Prometheus's `le` label.
inline constexpr std::array<std::uint64_t, 24> kJobLatencyBoundsUs = {
    100,        250,        500,         1'000,       2'500,       5'000,         10'000,        25'000,
    50'000,     100'000,    250'000,     500'000,     1'000'000,   2'500'000,     5'000'000,     10'000'000,
    25'000'000, 50'000'000, 100'000'000, 250'000'000, 500'000'000, 1'000'000'000, 1'800'000'000, 3'600'000'000};
// fdatasync(2) durations, in microseconds: from 10 µs (a disk with a write cache it may trust)
// to 10 s (a disk in trouble).
inline constexpr std::array<std::uint64_t, 19> kFsyncBoundsUs = {
    10,     25,      50,      100,     250,       500,       1'000,     2'500,     5'000,     10'000,
    25'000, 50'000,  100'000, 250'000, 500'000,   1'000'000, 2'500'000, 5'000'000, 10'000'000};
// Records made durable by one fdatasync: powers of two up to 4096.
inline constexpr std::array<std::uint64_t, 13> kRecordsPerFsyncBounds = {1,   2,   4,    8,    16,   32,  64,
                                                                         128, 256, 512, 1024, 2048, 4096};

template <const auto& kBounds>
class FixedHistogram {
public:
    static_assert(std::size(kBounds) <= protocol::kMaxHistogramBounds);

    // Counts `value` in the first bucket whose bound is at least `value`, or in the overflow.
    // A binary search over the bounds: a handful of comparisons.
    void observe(std::uint64_t value) noexcept {
        const auto* bound = std::lower_bound(std::begin(kBounds), std::end(kBounds), value);
        ++counts_[static_cast<std::size_t>(bound - std::begin(kBounds))];
        sum_ += value;
    }
    // A duration in whole microseconds; a negative one (a clock read out of order) counts as 0.
    void observe(std::chrono::steady_clock::duration elapsed) noexcept {
        const auto us = std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count();
        observe(static_cast<std::uint64_t>(std::max<std::int64_t>(0, us)));
    }

    std::uint64_t count() const noexcept {
        std::uint64_t total = 0;
        for (const std::uint64_t n : counts_) total += n;
        return total;
    }
    // The wire's form (protocol::Histogram): the bounds, the counts per bucket, the sum.
    protocol::Histogram to_wire() const {
        return protocol::Histogram{{std::begin(kBounds), std::end(kBounds)}, {counts_.begin(), counts_.end()}, sum_};
    }

private:
    std::array<std::uint64_t, std::size(kBounds) + 1> counts_{};
    std::uint64_t sum_ = 0;
};

using JobLatencyHistogram = FixedHistogram<kJobLatencyBoundsUs>;
using FsyncHistogram = FixedHistogram<kFsyncBoundsUs>;
using RecordsPerFsyncHistogram = FixedHistogram<kRecordsPerFsyncBounds>;

}  // namespace corsair::broker
