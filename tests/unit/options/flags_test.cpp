// The CLI11 glue every program shares: one wording for durations and sizes, --version, and
// usage errors mapped to the exit-code table instead of CLI11's own codes.
#include <catch2/catch.hpp>

#include <sstream>
#include <vector>

#include "corsair/options/flags.hpp"

namespace corsair::options {
namespace {

using namespace std::chrono_literals;

struct Parsed {
    std::optional<int> exit_code;
    std::string out;
    std::string err;
};

struct Program {
    CLI::App app{"test program", "prog"};
    std::chrono::milliseconds interval{1000};
    std::uint64_t bytes = 8u << 20;

    Program() {
        add_version_flag(app, "prog");
        add_duration_flag(app, "--interval", interval, "an interval", 10ms, 1h);
        add_size_flag(app, "--max", bytes, "a size", 1, std::uint64_t{1} << 30);
    }

    Parsed parse(std::vector<const char*> args) {
        args.insert(args.begin(), "prog");
        std::ostringstream out;
        std::ostringstream err;
        const auto exit_code = parse_or_exit(app, static_cast<int>(args.size()), args.data(), out, err);
        return {exit_code, out.str(), err.str()};
    }
};

TEST_CASE("duration and size flags take every form of the shared grammars", "[options][flags]") {
    Program program;
    CHECK_FALSE(program.parse({"--interval", "1h", "--max", "256MiB"}).exit_code.has_value());
    CHECK(program.interval == 1h);
    CHECK(program.bytes == 256u << 20);
    Program other;
    CHECK_FALSE(other.parse({"--interval", "1m30s", "--max", "64k"}).exit_code.has_value());
    CHECK(other.interval == 90s);
    CHECK(other.bytes == 65536u);
}

TEST_CASE("a bad value is a usage error, exit 2, worded the same for every program", "[options][flags]") {
    SECTION("not a duration") {
        const auto parsed = Program().parse({"--interval", "soon"});
        CHECK(parsed.exit_code == 2);
        CHECK(parsed.err ==
              "prog: --interval: 'soon' is not a duration: write a number and a unit (us, ms, s, m, h, d), e.g. "
              "250ms, 90s, 1h30m, 1d\nRun with --help for more information.\n");
    }
    SECTION("out of range") {
        const auto parsed = Program().parse({"--interval", "2h"});
        CHECK(parsed.exit_code == 2);
        CHECK(parsed.err.find("prog: --interval: must be from 10ms to 1h (got '2h')") == 0);
    }
    SECTION("not a size") {
        const auto parsed = Program().parse({"--max", "8MB"});
        CHECK(parsed.exit_code == 2);
        CHECK(parsed.err.find("prog: --max: '8MB' is not a size") == 0);
    }
    SECTION("an unknown flag: 2, never CLI11's own code") {
        CHECK(Program().parse({"--bogus"}).exit_code == 2);
    }
}

TEST_CASE("the version and help flags print to stdout and exit 0", "[options][flags]") {
    const auto version = Program().parse({"--version"});
    CHECK(version.exit_code == 0);
    CHECK(version.out == std::string("prog ") + kVersion + "\n");
    const auto help = Program().parse({"--help"});
    CHECK(help.exit_code == 0);
    CHECK(help.out.find("--interval DURATION") != std::string::npos);
    CHECK(help.out.find("(default 1s)") != std::string::npos);
    CHECK(help.out.find("(default 8MiB)") != std::string::npos);
}

TEST_CASE("broker errors map to the exit-code table", "[options][exit_code]") {
    using protocol::ErrorCode;
    CHECK(exit_code_for(ErrorCode::queue_full) == ExitCode::try_later);
    CHECK(exit_code_for(ErrorCode::shutting_down) == ExitCode::try_later);
    CHECK(exit_code_for(ErrorCode::storage_unavailable) == ExitCode::try_later);
    CHECK(exit_code_for(ErrorCode::too_many_in_flight) == ExitCode::try_later);
    CHECK(exit_code_for(ErrorCode::too_many_workers) == ExitCode::try_later);
    CHECK(exit_code_for(ErrorCode::wrong_endpoint) == ExitCode::usage);
    CHECK(exit_code_for(ErrorCode::unknown_job) == ExitCode::refused);
    CHECK(exit_code_for(ErrorCode::unknown_queue) == ExitCode::refused);
    CHECK(exit_code_for(ErrorCode::payload_too_large) == ExitCode::refused);
}

}  // namespace
TEST_CASE("help lists what an option excludes or needs by name, whatever their order in memory",
          "[options][flags]") {
    CLI::App app{"test program", "prog"};
    use_stable_help(app);
    std::string text;
    bool flag = false;
    // Made in this order, CLI11's own formatter would list them as their addresses fall.
    auto* zeta = app.add_flag("--zeta", flag, "last by name");
    auto* mid = app.add_flag("--mid", flag, "in between");
    auto* alpha = app.add_flag("--alpha", flag, "first by name");
    app.add_option("TEXT", text, "a positional")->excludes(zeta)->excludes(alpha)->excludes(mid)->needs(zeta)->needs(alpha);
    const auto help = app.help();
    CHECK_THAT(help, Catch::Contains("Needs: --alpha --zeta Excludes: --alpha --mid --zeta"));
    // A subcommand added afterwards takes its parent's formatter.
    auto* command = app.add_subcommand("run", "a command");
    auto* one = command->add_flag("--one", flag, "one");
    auto* all = command->add_flag("--all", flag, "all");
    one->excludes(all);
    all->excludes(one);
    CHECK_THAT(command->help(), Catch::Contains("--one Excludes: --all"));
}

}  // namespace corsair::options
