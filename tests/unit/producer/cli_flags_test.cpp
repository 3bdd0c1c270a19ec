#include "cli_flags.hpp"

#include <catch2/catch.hpp>

using namespace std::chrono_literals;
namespace cli = corsair::producer::cli;

namespace {

// 2026-11-23T16:00:00Z
const auto kNow = std::chrono::system_clock::time_point(std::chrono::seconds(1'795'449'600));

}  // namespace

TEST_CASE("job flags convert to job options", "[producer][cli_flags]") {
    cli::JobFlags flags;
    flags.priority = "-20";
    flags.max_attempts = "5";
    flags.timeout = "1m30s";
    flags.at = "2026-11-23T17:00:00+01:00";  // the same instant as kNow: not in the future
    flags.unique_key = "nightly";
    flags.backoff = "250ms";
    flags.backoff_max = "1h";
    flags.jitter = "15%";
    CHECK(cli::job_options_from(flags, kNow).error() ==
          "--at must be in the future (2026-11-23T16:00:00Z is before now, 2026-11-23T16:00:00Z)");
    flags.at = "2026-11-23T17:00:01+01:00";
    const auto options = cli::job_options_from(flags, kNow);
    REQUIRE(options);
    CHECK(options->priority == -20);
    CHECK(options->max_attempts == 5u);
    CHECK(options->timeout == 90s);
    CHECK(options->run_at == kNow + 1s);
    CHECK(options->unique_key == "nightly");
    CHECK(options->backoff == 250ms);
    CHECK(options->backoff_max == 1h);
    CHECK(options->backoff_jitter_pct == 15u);
    CHECK(options->delay == 0ms);

    flags.at = "2027-11-23T16:00:00Z";  // exactly 365 days ahead
    CHECK(cli::job_options_from(flags, kNow)->run_at == kNow + std::chrono::hours(365 * 24));

    cli::JobFlags none;
    CHECK(cli::job_options_from(none, kNow).value() == corsair::producer::JobOptions{});
    none.timeout = "0";
    CHECK(cli::job_options_from(none, kNow)->timeout == 0ms);
    none.delay = "10m";
    CHECK(cli::job_options_from(none, kNow)->delay == 10min);
}

TEST_CASE("bad job flags are refused with the flag's name", "[producer][cli_flags]") {
    cli::JobFlags flags;
    std::string flag;
    SECTION("priority out of range") { flags.priority = "1001", flag = "--priority"; }
    SECTION("priority not a number") { flags.priority = "high", flag = "--priority"; }
    SECTION("priority with trailing text") { flags.priority = "5x", flag = "--priority"; }
    SECTION("max attempts zero") { flags.max_attempts = "0", flag = "--max-attempts"; }
    SECTION("max attempts too many") { flags.max_attempts = "101", flag = "--max-attempts"; }
    SECTION("negative timeout") { flags.timeout = "-1s", flag = "--timeout"; }
    SECTION("timeout over 7 days") { flags.timeout = "169h", flag = "--timeout"; }
    SECTION("timeout under a millisecond would mean none") { flags.timeout = "500us", flag = "--timeout"; }
    SECTION("unparseable delay") { flags.delay = "soon", flag = "--delay"; }
    SECTION("negative delay") { flags.delay = "-5s", flag = "--delay"; }
    SECTION("delay over a year") { flags.delay = "8761h", flag = "--delay"; }
    SECTION("unparseable --at") { flags.at = "tomorrow", flag = "--at"; }
    SECTION("--at in the past") { flags.at = "@1795449599", flag = "--at"; }
    SECTION("--at more than 365 days ahead") { flags.at = "2027-11-23T16:00:01Z", flag = "--at"; }
    SECTION("--delay with --at") {
        flags.delay = "1s";
        flags.at = "@1795449700";
        flag = "--delay and --at";
    }
    SECTION("empty unique key") { flags.unique_key = "", flag = "--unique"; }
    SECTION("long unique key") { flags.unique_key = std::string(129, 'k'), flag = "--unique"; }
    SECTION("zero backoff") { flags.backoff = "0", flag = "--backoff"; }
    SECTION("backoff max over a day") { flags.backoff_max = "25h", flag = "--backoff-max"; }
    SECTION("jitter over 100") { flags.jitter = "101", flag = "--jitter"; }
    SECTION("negative jitter") { flags.jitter = "-1", flag = "--jitter"; }
    const auto options = cli::job_options_from(flags, kNow);
    REQUIRE_FALSE(options);
    CHECK_THAT(options.error(), Catch::StartsWith(flag + " ") || Catch::StartsWith(flag + ": "));
}

TEST_CASE("a bad duration reads the same as in every other program", "[producer][cli_flags]") {
    cli::JobFlags flags;
    flags.delay = "soon";
    CHECK(cli::job_options_from(flags, kNow).error() ==
          "--delay: 'soon' is not a duration: write a number and a unit (us, ms, s, m, h, d), e.g. 250ms, 90s, "
          "1h30m, 1d");
    flags.delay = "1d";
    CHECK(cli::job_options_from(flags, kNow)->delay == std::chrono::hours(24));
    flags.delay = "1h30m";
    CHECK(cli::job_options_from(flags, kNow)->delay == std::chrono::minutes(90));
}

TEST_CASE("queue flags convert to a QUEUE request", "[producer][cli_flags]") {
    cli::QueueFlags flags;
    auto settings = cli::queue_settings_from("images", flags);
    REQUIRE(settings);
    CHECK(settings->queue == "images");
    CHECK_FALSE(settings->max_length);
    CHECK_FALSE(settings->is_paused);

    flags.max_length = "0";
    flags.max_attempts = "7";
    flags.timeout = "5m";
    flags.backoff = "2s";
    flags.backoff_max = "30m";
    flags.jitter = "0";
    flags.dead_max = "500";
    flags.dead_max_age = "72h";
    settings = cli::queue_settings_from("images", flags);
    REQUIRE(settings);
    CHECK(settings->max_length == 0u);
    CHECK(settings->retry.max_attempts == 7u);
    CHECK(settings->timeout_ms == 300'000u);
    CHECK(settings->retry.backoff_ms == 2000u);
    CHECK(settings->retry.backoff_max_ms == 1'800'000u);
    CHECK(settings->retry.backoff_jitter_pct == 0u);
    CHECK(settings->dead_max_count == 500u);
    CHECK(settings->dead_max_age_ms == 72ULL * 3'600'000);

    flags.dead_max = "-1";
    CHECK_THAT(cli::queue_settings_from("images", flags).error(), Catch::StartsWith("--dead-max "));
    flags.dead_max = "1";
    flags.dead_max_age = "0";
    CHECK_THAT(cli::queue_settings_from("images", flags).error(), Catch::StartsWith("--dead-max-age: "));
    flags.dead_max_age = "1h";
    flags.max_length = "many";
    CHECK_THAT(cli::queue_settings_from("images", flags).error(), Catch::StartsWith("--max-length "));
}
