#include "line_reader.hpp"

#include <sstream>

#include <catch2/catch.hpp>

using corsair::producer::cli::count_jobs;
using corsair::producer::cli::LineReader;

TEST_CASE("each non-blank line is one job without its newline", "[producer][line_reader]") {
    SECTION("unix newlines, no newline at the end") {
        std::istringstream input("alpha\nbeta gamma\ndelta");
        LineReader reader(input);
        CHECK(reader.next() == "alpha");
        CHECK(reader.next() == "beta gamma");
        CHECK(reader.next() == "delta");
        CHECK(reader.line_number() == 3);
        CHECK_FALSE(reader.next());
    }
    SECTION("windows newlines and blank lines") {
        std::istringstream input("a\r\n\r\n\nb\r\n");
        LineReader reader(input);
        CHECK(reader.next() == "a");
        CHECK(reader.next() == "b");
        CHECK(reader.line_number() == 4);
        CHECK_FALSE(reader.next());
    }
    SECTION("empty input") {
        std::istringstream input("");
        CHECK_FALSE(LineReader(input).next());
    }
}

TEST_CASE("count_jobs counts what the reader would submit", "[producer][line_reader]") {
    std::istringstream input("a\n\nb\nc\n");
    CHECK(count_jobs(input) == 3);
}
