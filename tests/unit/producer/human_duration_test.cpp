// The progress line's short display of durations (not the flag grammar: that is protocol's).
#include <catch2/catch.hpp>

#include "progress_meter.hpp"

using namespace std::chrono_literals;
using corsair::producer::cli::human_duration;

TEST_CASE("durations shown to people are short", "[producer][duration]") {
    CHECK(human_duration(250ms) == "250ms");
    CHECK(human_duration(1500ms) == "1.5s");
    CHECK(human_duration(125s) == "2m05s");
    CHECK(human_duration(3720s) == "1h02m");
}
