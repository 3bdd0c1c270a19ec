#include "corsair/worker/builtin_handlers.hpp"

#include <catch2/catch.hpp>

using namespace corsair::worker;

TEST_CASE("the echo handler returns the payload", "[worker][builtin_handlers]") {
    const std::string payload("bytes\0and more", 14);
    CHECK(echo_handler()(JobContext{"j", "q", 1, payload, {}}) == payload);
}

TEST_CASE("the sleep handler sleeps for the payload's milliseconds", "[worker][builtin_handlers]") {
    const auto handler = sleep_handler();
    SECTION("a number") { CHECK(handler(JobContext{"j", "q", 1, "5", {}}) == "slept 5 ms"); }
    SECTION("a number with a trailing newline") { CHECK(handler(JobContext{"j", "q", 1, "3\n", {}}) == "slept 3 ms"); }
    SECTION("not a number") {
        CHECK_THROWS_WITH(handler(JobContext{"j", "q", 1, "soon", {}}),
                          Catch::Contains("whole number of milliseconds") && Catch::Contains("soon"));
        CHECK_THROWS(handler(JobContext{"j", "q", 1, "", {}}));
        CHECK_THROWS(handler(JobContext{"j", "q", 1, "-5", {}}));
        CHECK_THROWS(handler(JobContext{"j", "q", 1, "5ms", {}}));
    }
    SECTION("a stop request cuts the sleep short") {
        std::stop_source stop;
        stop.request_stop();
        CHECK_THROWS_WITH(handler(JobContext{"j", "q", 1, "60000", stop.get_token()}), Catch::Contains("interrupted"));
    }
}

TEST_CASE("builtins are found by name", "[worker][builtin_handlers]") {
    CHECK(builtin_handler("echo").has_value());
    CHECK(builtin_handler("sleep").has_value());
    CHECK_FALSE(builtin_handler("cat").has_value());
}
