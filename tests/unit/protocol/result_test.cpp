// Result<T, E>: a value or an error (STYLE.md §12).
#include <catch2/catch.hpp>

#include <memory>
#include <string>

#include "corsair/protocol/result.hpp"

namespace corsair::protocol {
namespace {

Result<int, std::string> parse_digit(char c) {
    if (c < '0' || c > '9') return unexpected(std::string("not a digit"));
    return c - '0';
}

TEST_CASE("a Result holding a value reports it", "[protocol][result]") {
    auto r = parse_digit('7');
    REQUIRE(r.has_value());
    CHECK(static_cast<bool>(r));
    CHECK(r.value() == 7);
    CHECK(*r == 7);
    r.value() = 8;
    CHECK(*r == 8);
    const auto& constant = r;
    CHECK(constant.value() == 8);
    CHECK(*constant == 8);
}

TEST_CASE("a Result holding an error reports it", "[protocol][result]") {
    auto r = parse_digit('x');
    CHECK_FALSE(r.has_value());
    CHECK_FALSE(static_cast<bool>(r));
    CHECK(r.error() == "not a digit");
}

TEST_CASE("a Result gives access to members and moves its value out", "[protocol][result]") {
    Result<std::string, int> text(std::string("hello"));
    CHECK(text->size() == 5);
    const auto& constant = text;
    CHECK(constant->front() == 'h');

    Result<std::unique_ptr<int>, int> owner(std::make_unique<int>(42));
    std::unique_ptr<int> taken = std::move(owner).value();
    REQUIRE(taken != nullptr);
    CHECK(*taken == 42);
}

TEST_CASE("a Result may hold the same type as value and as error", "[protocol][result]") {
    Result<std::string, std::string> ok(std::string("value"));
    Result<std::string, std::string> failed(unexpected(std::string("error")));
    CHECK(ok.has_value());
    CHECK(ok.value() == "value");
    CHECK_FALSE(failed.has_value());
    CHECK(failed.error() == "error");
}

TEST_CASE("unexpected() decays its argument", "[protocol][result]") {
    const std::string message = "boom";
    Unexpected<std::string> failure = unexpected(message);
    CHECK(failure.error == "boom");
    Result<int, std::string> r(failure);
    CHECK(r.error() == "boom");
}

}  // namespace
}  // namespace corsair::protocol
