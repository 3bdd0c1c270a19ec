#include "corsair/producer/job_options.hpp"

#include <catch2/catch.hpp>

#include "corsair/producer/producer_error.hpp"

using namespace std::chrono_literals;
using corsair::producer::JobOptions;
using corsair::producer::ProducerError;
using corsair::producer::validate;

namespace {

const auto kNow = std::chrono::system_clock::time_point(std::chrono::seconds(1'795'449'600));  // 2026-11-23T16:00:00Z

// The message of the ProducerError validate() throws, or "" if it accepts the options.
std::string refusal(const JobOptions& options) {
    try {
        validate(options, kNow);
    } catch (const ProducerError& e) {
        CHECK(e.kind() == ProducerError::Kind::invalid);
        return e.what();
    }
    return {};
}

}  // namespace

TEST_CASE("job options inside the protocol's ranges are valid", "[producer][job_options]") {
    CHECK(refusal({}).empty());
    JobOptions options;
    options.priority = -1000;
    options.max_attempts = 100;
    options.backoff = 1ms;
    options.backoff_max = 24h;
    options.backoff_jitter_pct = 100;
    options.timeout = 0ms;
    options.run_at = kNow + std::chrono::hours(365 * 24);
    options.unique_key = std::string(128, 'k');
    CHECK(refusal(options).empty());
    options.run_at.reset();
    options.delay = std::chrono::hours(365 * 24);
    options.timeout = std::chrono::hours(7 * 24);
    CHECK(refusal(options).empty());
}

TEST_CASE("job options outside the protocol's ranges name their field", "[producer][job_options]") {
    JobOptions options;
    std::string expected;
    SECTION("priority") {
        options.priority = 1001;
        expected = "priority must be between -1000 and 1000 (got 1001)";
    }
    SECTION("max_attempts") {
        options.max_attempts = 101;
        expected = "max_attempts must be between 1 and 100 (got 101)";
    }
    SECTION("backoff") {
        options.backoff = 0ms;
        expected = "backoff must be between 1ms and 24h (got 0s)";
    }
    SECTION("backoff_max") {
        options.backoff_max = 25h;
        expected = "backoff_max must be between 1ms and 24h (got 25h)";
    }
    SECTION("backoff_jitter_pct") {
        options.backoff_jitter_pct = 101;
        expected = "backoff_jitter_pct must be between 0 and 100 (got 101)";
    }
    SECTION("timeout") {
        options.timeout = -1ms;
        expected = "timeout must be between 0s and 168h (got -1ms)";
    }
    SECTION("delay") {
        options.delay = std::chrono::hours(365 * 24 + 1);
        expected = "delay must be between 0s and 8760h (got 8761h)";
    }
    SECTION("run_at now is not in the future") {
        options.run_at = kNow;
        expected = "run_at must be in the future";
    }
    SECTION("run_at more than 365 days ahead") {
        options.run_at = kNow + std::chrono::hours(365 * 24) + 1ms;
        expected = "run_at must be at most 8760h ahead";
    }
    SECTION("run_at with delay") {
        options.run_at = kNow + 1h;
        options.delay = 1s;
        expected = "run_at and delay cannot both be set";
    }
    SECTION("unique_key") {
        options.unique_key = std::string(129, 'k');
        expected = "unique_key is 129 bytes; the limit is 128";
    }
    CHECK(refusal(options) == expected);
}

TEST_CASE("run_at travels as Unix milliseconds", "[producer][job_options]") {
    CHECK(corsair::producer::unix_milliseconds(kNow + 250ms) == 1'795'449'600'250ULL);
    CHECK(corsair::producer::unix_milliseconds(std::chrono::system_clock::time_point(-1s)) == 0);
}
