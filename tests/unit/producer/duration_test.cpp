#include "duration.hpp"

#include <catch2/catch.hpp>

using namespace std::chrono_literals;
using corsair::producer::cli::format_duration;
using corsair::producer::cli::parse_duration;

TEST_CASE("durations take a number and a unit", "[producer][duration]") {
    CHECK(parse_duration("250ms") == 250ms);
    CHECK(parse_duration("1s") == 1000ms);
    CHECK(parse_duration("1.5s") == 1500ms);
    CHECK(parse_duration("2m") == 120'000ms);
    CHECK(parse_duration("1h") == 3'600'000ms);
    CHECK(parse_duration("0s") == 0ms);
    for (const char* bad : {"", "10", "s", "1x", "-1s", "1.2.3s", "1 s", "ms"}) {
        INFO(bad);
        CHECK_FALSE(parse_duration(bad));
    }
}

TEST_CASE("durations format short", "[producer][duration]") {
    CHECK(format_duration(250ms) == "250ms");
    CHECK(format_duration(1500ms) == "1.5s");
    CHECK(format_duration(125s) == "2m05s");
}
