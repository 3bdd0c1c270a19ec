#include "corsair/worker/duration.hpp"

#include <catch2/catch.hpp>

using corsair::worker::format_duration;
using corsair::worker::parse_duration;
using std::chrono::milliseconds;

TEST_CASE("a duration with a unit parses to milliseconds", "[worker][duration]") {
    CHECK(parse_duration("250ms") == milliseconds(250));
    CHECK(parse_duration("1s") == milliseconds(1000));
    CHECK(parse_duration("2m") == milliseconds(120'000));
    CHECK(parse_duration("1h") == milliseconds(3'600'000));
    CHECK(parse_duration("1500us") == milliseconds(1));
    CHECK(parse_duration("1.5s") == milliseconds(1500));
    CHECK(parse_duration("0.25s") == milliseconds(250));
    CHECK(parse_duration("1m30s") == milliseconds(90'000));
    CHECK(parse_duration("0") == milliseconds(0));
    CHECK(parse_duration("0ms") == milliseconds(0));
}

TEST_CASE("garbage is not a duration", "[worker][duration]") {
    for (const char* text : {"", "5", "ms", "5q", "-1s", "+1s", " 1s", "1s ", "1 s", "1.s", ".s", "1..5s", "1h30", "s5",
                             "1S", "99999999999999999999ms", "1000000h"}) {
        INFO("text=" << text);
        CHECK_FALSE(parse_duration(text).has_value());
    }
}

TEST_CASE("a formatted duration parses back to itself", "[worker][duration]") {
    for (auto value :
         {milliseconds(0), milliseconds(250), milliseconds(1000), milliseconds(90'500), milliseconds(3'723'004)}) {
        INFO("value=" << value.count());
        CHECK(parse_duration(format_duration(value)) == value);
    }
    CHECK(format_duration(milliseconds(250)) == "250ms");
    CHECK(format_duration(milliseconds(90'000)) == "1m30s");
}
