#include "corsair/broker/huge_pages.hpp"

#include <catch2/catch.hpp>

using corsair::broker::read_huge_pages_setting;

TEST_CASE("CORSAIR_HUGE_PAGES is off unless 1, and any other value is an error naming it", "[broker][huge_pages]") {
    CHECK_FALSE(read_huge_pages_setting(nullptr).is_requested);
    CHECK_FALSE(read_huge_pages_setting(nullptr).error);
    CHECK_FALSE(read_huge_pages_setting("").is_requested);
    CHECK_FALSE(read_huge_pages_setting("0").is_requested);
    CHECK_FALSE(read_huge_pages_setting("0").error);
    CHECK(read_huge_pages_setting("1").is_requested);
    CHECK_FALSE(read_huge_pages_setting("1").error);
    for (const char* bad : {"yes", "true", "2", " 1", "01"}) {
        const auto setting = read_huge_pages_setting(bad);
        CHECK_FALSE(setting.is_requested);
        REQUIRE(setting.error);
        CHECK(*setting.error == std::string("CORSAIR_HUGE_PAGES must be 0 or 1, not '") + bad + "'");
    }
}
