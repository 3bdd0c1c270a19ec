// The duration grammar shared by every tool's flags (docs/protocol.md §16 Durations).
#include <catch2/catch.hpp>

#include <chrono>
#include <string>

#include "corsair/protocol/duration.hpp"

namespace corsair::protocol {
namespace {

using namespace std::chrono_literals;
using std::chrono::microseconds;

TEST_CASE("a duration is one or more numbers with units", "[protocol][duration]") {
    CHECK(parse_duration("250ms") == microseconds(250ms));
    CHECK(parse_duration("1s") == microseconds(1s));
    CHECK(parse_duration("2m") == microseconds(2min));
    CHECK(parse_duration("24h") == microseconds(24h));
    CHECK(parse_duration("1d") == microseconds(24h));
    CHECK(parse_duration("1d12h") == microseconds(36h));
    CHECK(parse_duration("90s") == microseconds(90s));
    CHECK(parse_duration("1h30m") == microseconds(90min));
    CHECK(parse_duration("15us") == 15us);
    CHECK(parse_duration("0s") == 0us);
    CHECK(parse_duration("0") == 0us);
    CHECK(parse_duration("007ms") == microseconds(7ms));
    CHECK(parse_duration("1.5s") == microseconds(1500ms));
    CHECK(parse_duration("0.25s") == microseconds(250ms));
    CHECK(parse_duration("1m30s") == microseconds(90s));
    CHECK(parse_duration("1h2m3s4ms5us") == 1h + 2min + 3s + 4ms + 5us);
    CHECK(parse_duration("0.0000001s") == 0us);  // finer than a microsecond truncates
}

TEST_CASE("anything else is not a duration", "[protocol][duration]") {
    for (const char* text : {"", "s", "5", "ms", "5q", "-1s", "+1s", " 1s", "1s ", "1 s", "1S", "1sec", "1D", "1day", "ms1",
                             "1ms2", "0x10s", "1.s", ".5s", ".s", "1..5s", "1.2.3s", "1h30", "s5", "00"}) {
        INFO('"' << text << '"');
        CHECK_FALSE(parse_duration(text).has_value());
    }
}

TEST_CASE("durations beyond 100 years are rejected, never wrapped", "[protocol][duration]") {
    CHECK(parse_duration("876000h") == microseconds(kMaxDurationMicroseconds));
    CHECK_FALSE(parse_duration("876001h").has_value());
    CHECK_FALSE(parse_duration("876000h1us").has_value());
    CHECK_FALSE(parse_duration("99999999999999999999s").has_value());
    CHECK_FALSE(parse_duration("18446744073709551615us").has_value());
    CHECK_FALSE(parse_duration("9223372036854775807us").has_value());
}

// Found by fuzz_duration: a nine-digit fraction of a day overflowed 64 bits before dividing.
TEST_CASE("a long fraction of a day is exact, not overflowed", "[protocol][duration]") {
    CHECK(parse_duration("0.999999999d") == 86'399'999'913us);
    CHECK(parse_duration("1.999999999d") == 172'799'999'913us);
    CHECK(parse_duration("0.5d") == microseconds(12h));
    CHECK(parse_duration("0.999999999h") == 3'599'999'996us);
}

TEST_CASE("a formatted duration parses back to itself", "[protocol][duration]") {
    for (microseconds value : {0us, 1us, microseconds(250ms), microseconds(1s), microseconds(90'500ms),
                               microseconds(3'723'004ms), 1500us, microseconds(kMaxDurationMicroseconds)}) {
        INFO("value=" << value.count());
        CHECK(parse_duration(format_duration(value)) == value);
    }
    CHECK(format_duration(250ms) == "250ms");
    CHECK(format_duration(90s) == "1m30s");
    CHECK(format_duration(1500us) == "1ms500us");
    CHECK(format_duration(0us) == "0s");
}

}  // namespace
}  // namespace corsair::protocol
