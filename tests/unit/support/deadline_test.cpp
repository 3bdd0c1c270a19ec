#include "deadline.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <optional>
#include <string>

using corsair::test::scaled;
using namespace std::chrono_literals;

namespace {

// Sets CORSAIR_TEST_TIME_SCALE for one test and puts back what was there.
class ScaleVariable {
public:
    explicit ScaleVariable(const char* value) {
        if (const char* old = std::getenv(kName)) old_ = old;
        if (value != nullptr) {
            setenv(kName, value, 1);
        } else {
            unsetenv(kName);
        }
    }
    ~ScaleVariable() {
        if (old_) {
            setenv(kName, old_->c_str(), 1);
        } else {
            unsetenv(kName);
        }
    }
    ScaleVariable(const ScaleVariable&) = delete;
    ScaleVariable& operator=(const ScaleVariable&) = delete;

private:
    static constexpr const char* kName = "CORSAIR_TEST_TIME_SCALE";
    std::optional<std::string> old_;
};

}  // namespace

TEST_CASE("CORSAIR_TEST_TIME_SCALE lengthens every harness deadline, never shortens one", "[support][deadline]") {
    SECTION("unset") {
        ScaleVariable scale(nullptr);
        CHECK(scaled(100ms) == 100ms);
    }
    SECTION("a factor") {
        ScaleVariable scale("2.5");
        CHECK(scaled(100ms) == 250ms);
    }
    SECTION("below one") {
        ScaleVariable scale("0.1");
        CHECK(scaled(100ms) == 100ms);
    }
    SECTION("not a number") {
        ScaleVariable scale("fast");
        CHECK(scaled(100ms) == 100ms);
    }
}
