// The size grammar every flag that takes bytes accepts (docs/cli.md, Sizes and durations).
#include <catch2/catch.hpp>

#include "corsair/options/size.hpp"

namespace corsair::options {
namespace {

TEST_CASE("a size is bytes or a number with a binary unit", "[options][size]") {
    CHECK(parse_size("0") == 0u);
    CHECK(parse_size("1048576") == 1048576u);
    CHECK(parse_size("512B") == 512u);
    CHECK(parse_size("64k") == 65536u);
    CHECK(parse_size("64K") == 65536u);
    CHECK(parse_size("64KiB") == 65536u);
    CHECK(parse_size("8M") == 8u << 20);
    CHECK(parse_size("8MiB") == 8u << 20);
    CHECK(parse_size("256MiB") == 256u << 20);
    CHECK(parse_size("1G") == 1u << 30);
    CHECK(parse_size("2GiB") == std::uint64_t{2} << 30);
    CHECK(parse_size("1TiB") == std::uint64_t{1} << 40);
}

TEST_CASE("anything else is not a size, decimal units included", "[options][size]") {
    for (const char* text : {"", "k", "MiB", "-1", "+1", "1.5M", " 1M", "1M ", "1 M", "8MB", "8mb", "8KB", "1GB",
                             "1m", "1kib", "0x10", "18446744073709551616", "16777216TiB"}) {
        INFO('"' << text << '"');
        CHECK_FALSE(parse_size(text).has_value());
    }
}

TEST_CASE("a formatted size parses back to itself", "[options][size]") {
    for (std::uint64_t value : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{1000}, std::uint64_t{1024},
                                std::uint64_t{1536} << 10, std::uint64_t{8} << 20, std::uint64_t{3} << 40}) {
        CHECK(parse_size(format_size(value)) == value);
    }
    CHECK(format_size(8u << 20) == "8MiB");
    CHECK(format_size(65536) == "64KiB");
    CHECK(format_size(1000) == "1000B");
    CHECK(format_size(0) == "0B");
}

}  // namespace
}  // namespace corsair::options
