#include <catch2/catch.hpp>
#include <random>
#include <string>

#include "crc32c.hpp"

using corsair::broker::crc32c;
using corsair::broker::crc32c_portable;

TEST_CASE("crc32c gives the standard check value for \"123456789\"", "[broker][journal][crc32c]") {
    SECTION("the dispatched implementation") { CHECK(crc32c(std::string_view("123456789")) == 0xE3069283u); }
    SECTION("the portable tables") { CHECK(crc32c_portable("123456789", 9) == 0xE3069283u); }
    SECTION("no bytes give zero") { CHECK(crc32c(std::string_view()) == 0u); }
}

TEST_CASE("crc32c matches known vectors from RFC 3720", "[broker][journal][crc32c]") {
    // iSCSI (RFC 3720 §B.4): 32 bytes of zeros, of 0xFF, ascending and descending.
    std::string zeros(32, '\0');
    std::string ones(32, '\xff');
    std::string ascending, descending;
    for (int i = 0; i < 32; ++i) {
        ascending.push_back(static_cast<char>(i));
        descending.push_back(static_cast<char>(31 - i));
    }
    CHECK(crc32c(zeros) == 0x8A9136AAu);
    CHECK(crc32c(ones) == 0x62A8AB43u);
    CHECK(crc32c(ascending) == 0x46DD794Eu);
    CHECK(crc32c(descending) == 0x113FDB5Cu);
}

TEST_CASE("crc32c agrees with its portable tables at every length and alignment", "[broker][journal][crc32c]") {
    std::mt19937 random(7);
    std::string bytes(300, '\0');
    for (auto& byte : bytes) byte = static_cast<char>(random());
    for (std::size_t start = 0; start < 8; ++start) {
        for (std::size_t size = 0; start + size <= bytes.size(); size += 1 + size / 8) {
            INFO("start=" << start << " size=" << size);
            CHECK(crc32c(bytes.data() + start, size) == crc32c_portable(bytes.data() + start, size));
        }
    }
}

TEST_CASE("crc32c continues from a previous value", "[broker][journal][crc32c]") {
    const std::string whole = "the quick brown fox jumps over the lazy dog";
    for (std::size_t split = 0; split <= whole.size(); ++split) {
        const auto first = std::string_view(whole).substr(0, split);
        const auto second = std::string_view(whole).substr(split);
        CHECK(crc32c(second, crc32c(first)) == crc32c(whole));
        CHECK(crc32c_portable(second.data(), second.size(), crc32c_portable(first.data(), first.size())) ==
              crc32c(whole));
    }
}
