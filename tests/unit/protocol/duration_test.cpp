// The duration grammar shared by every tool's flags (docs/protocol.md §Durations).
#include <catch2/catch.hpp>

#include <chrono>
#include <string>

#include "corsair/protocol/duration.hpp"

namespace corsair::protocol {
namespace {

using namespace std::chrono_literals;

TEST_CASE("a duration is digits followed by a unit", "[protocol][duration]") {
    CHECK(parse_duration("250ms") == std::chrono::microseconds(250ms));
    CHECK(parse_duration("1s") == std::chrono::microseconds(1s));
    CHECK(parse_duration("2m") == std::chrono::microseconds(2min));
    CHECK(parse_duration("24h") == std::chrono::microseconds(24h));
    CHECK(parse_duration("15us") == 15us);
    CHECK(parse_duration("0s") == 0us);
    CHECK(parse_duration("007ms") == std::chrono::microseconds(7ms));
}

TEST_CASE("anything else is not a duration", "[protocol][duration]") {
    for (const char* text : {"", "s", "5", "1.5s", "-1s", "+1s", " 1s", "1s ", "1 s", "1S", "1sec", "1d", "ms1",
                             "1ms2", "0x10s"}) {
        INFO('"' << text << '"');
        CHECK_FALSE(parse_duration(text).has_value());
    }
}

TEST_CASE("durations that overflow are rejected, not wrapped", "[protocol][duration]") {
    CHECK_FALSE(parse_duration("99999999999999999999s").has_value());  // beyond 64 bits
    CHECK_FALSE(parse_duration("18446744073709551615us").has_value());  // beyond a signed count
    CHECK_FALSE(parse_duration("2562047789h").has_value());  // 2^63 us is about 2562047788.02 h
    CHECK(parse_duration("2562047788h") == std::chrono::microseconds(2562047788h));
    CHECK(parse_duration("9223372036854775807us") == std::chrono::microseconds(INT64_MAX));
}

}  // namespace
}  // namespace corsair::protocol
