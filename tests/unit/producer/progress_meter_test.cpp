#include "progress_meter.hpp"

#include <catch2/catch.hpp>

using namespace std::chrono_literals;
using corsair::producer::cli::ProgressMeter;

TEST_CASE("progress shows count, rate and ETA when the total is known", "[producer][progress_meter]") {
    const auto start = ProgressMeter::Clock::time_point{};
    ProgressMeter meter(1000, start);
    const auto line = meter.line(250, start + 1s);
    CHECK_THAT(line, Catch::Contains("250/1000") && Catch::Contains("25%") && Catch::Contains("250 jobs/s") &&
                         Catch::Contains("ETA 3.0s"));
}

TEST_CASE("progress shows count and rate when the total is unknown", "[producer][progress_meter]") {
    const auto start = ProgressMeter::Clock::time_point{};
    ProgressMeter meter(std::nullopt, start);
    const auto line = meter.line(500, start + 2s);
    CHECK_THAT(line, Catch::Contains("500") && Catch::Contains("250 jobs/s"));
    CHECK_THAT(line, !Catch::Contains("ETA"));
}
