// FixedHistogram: which bucket a value lands in, the overflow, the sum, and the wire form.
#include <catch2/catch.hpp>

#include "fixed_histogram.hpp"

namespace corsair::broker {
namespace {

inline constexpr std::array<std::uint64_t, 3> kBounds = {10, 100, 1000};

TEST_CASE("a value counts in the first bucket whose bound holds it, past every bound in the overflow",
          "[broker][fixed_histogram]") {
    FixedHistogram<kBounds> histogram;
    for (const std::uint64_t value : {0, 10, 11, 100, 1000, 1001, 5'000'000}) histogram.observe(value);
    const protocol::Histogram wire = histogram.to_wire();
    CHECK(wire.bounds == std::vector<std::uint64_t>{10, 100, 1000});
    CHECK(wire.counts == std::vector<std::uint64_t>{2, 2, 1, 2});
    CHECK(wire.sum == 0 + 10 + 11 + 100 + 1000 + 1001 + 5'000'000);
    CHECK(histogram.count() == 7);
}

TEST_CASE("a duration counts in whole microseconds, a negative one as 0", "[broker][fixed_histogram]") {
    FixedHistogram<kBounds> histogram;
    histogram.observe(std::chrono::nanoseconds(99'999));
    histogram.observe(std::chrono::milliseconds(-5));
    const protocol::Histogram wire = histogram.to_wire();
    CHECK(wire.counts == std::vector<std::uint64_t>{1, 1, 0, 0});
    CHECK(wire.sum == 99);
}

TEST_CASE("the broker's bucket layouts increase strictly and fit the wire's bound", "[broker][fixed_histogram]") {
    const auto check = [](const auto& bounds) {
        CHECK(bounds.size() <= protocol::kMaxHistogramBounds);
        for (std::size_t i = 1; i < bounds.size(); ++i) CHECK(bounds[i - 1] < bounds[i]);
    };
    check(kJobLatencyBoundsUs);
    check(kFsyncBoundsUs);
    check(kRecordsPerFsyncBounds);
    CHECK(kJobLatencyBoundsUs.front() == 100);
    CHECK(kJobLatencyBoundsUs.back() == 3'600'000'000);
}

}  // namespace
}  // namespace corsair::broker
