#include "timestamp.hpp"

#include <catch2/catch.hpp>

using namespace std::chrono_literals;
using corsair::producer::cli::format_timestamp;
using corsair::producer::cli::parse_timestamp;

namespace {

// 2026-11-23T16:00:00Z
const auto k1600 = std::chrono::system_clock::time_point(std::chrono::seconds(1'795'449'600));

}  // namespace

TEST_CASE("RFC 3339 times parse with Z or an offset", "[producer][timestamp]") {
    CHECK(parse_timestamp("2026-11-23T16:00:00Z") == k1600);
    CHECK(parse_timestamp("2026-11-23t16:00:00z") == k1600);
    CHECK(parse_timestamp("2026-11-23 16:00:00Z") == k1600);
    CHECK(parse_timestamp("2026-11-23T17:00:00+01:00") == k1600);
    CHECK(parse_timestamp("2026-11-23T10:30:00-05:30") == k1600);
    CHECK(parse_timestamp("2026-11-24T01:00:00+09:00") == k1600);
    CHECK(parse_timestamp("2026-11-23T16:00:00.250Z") == k1600 + 250ms);
    CHECK(parse_timestamp("2026-11-23T16:00:00.1234567Z") == k1600 + 123ms);
    CHECK(parse_timestamp("2028-02-29T00:00:00Z").has_value());
    CHECK(parse_timestamp("1970-01-01T00:00:00Z") == std::chrono::system_clock::time_point{});
}

TEST_CASE("@UNIX_SECONDS parses as seconds since the epoch", "[producer][timestamp]") {
    CHECK(parse_timestamp("@1795449600") == k1600);
    CHECK(parse_timestamp("@1795449600.5") == k1600 + 500ms);
    CHECK(parse_timestamp("@0") == std::chrono::system_clock::time_point{});
}

TEST_CASE("anything else is not a time", "[producer][timestamp]") {
    for (const char* text : {"", "@", "@-5", "@12x", "@1234567890123", "2026-11-23T16:00:00", "2026-11-23",
                             "2026-11-23T16:00Z", "2026-11-23T16:00:00+0100", "2026-11-23T16:00:00+01",
                             "2026-13-01T00:00:00Z", "2026-02-29T00:00:00Z", "2026-11-31T00:00:00Z",
                             "2026-11-23T24:00:00Z", "2026-11-23T16:60:00Z", "2026-11-23T16:00:60Z",
                             "2026-11-23T16:00:00+24:00", "2026-11-23T16:00:00.Z", "2026-11-23T16:00:00Z ",
                             "tomorrow", "16:00"}) {
        INFO(text);
        CHECK_FALSE(parse_timestamp(text).has_value());
    }
}

TEST_CASE("times print as RFC 3339 in UTC and parse back", "[producer][timestamp]") {
    CHECK(format_timestamp(k1600) == "2026-11-23T16:00:00Z");
    CHECK(format_timestamp(k1600 + 250ms) == "2026-11-23T16:00:00.250Z");
    CHECK(parse_timestamp(format_timestamp(k1600 + 7ms)) == k1600 + 7ms);
}

TEST_CASE("a time past what system_clock holds is refused, not overflowed (found by fuzz_http_body)",
          "[producer][timestamp]") {
    CHECK_FALSE(parse_timestamp("4060-01-01T00:00:00Z"));
    CHECK_FALSE(parse_timestamp("9999-12-31T23:59:59Z"));
    CHECK_FALSE(parse_timestamp("0000-01-01T00:00:00Z"));
    CHECK_FALSE(parse_timestamp("@999999999999"));
    CHECK(parse_timestamp("2200-01-01T00:00:00Z"));
    CHECK(parse_timestamp("@4102444800"));  // 2100-01-01
}
