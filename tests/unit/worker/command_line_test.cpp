#include "corsair/worker/command_line.hpp"
#include "corsair/worker/exec_handler.hpp"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <vector>

#include "scratch_dir.hpp"

using namespace corsair::worker;

namespace {

std::variant<CommandLine, int> parse(std::vector<const char*> args) {
    args.insert(args.begin(), "corsair-worker");
    return parse_command_line(static_cast<int>(args.size()), args.data());
}

}  // namespace

TEST_CASE("the command line gives options, queues and a handler", "[worker][command_line]") {
    SECTION("a builtin handler and every option") {
        auto parsed =
            parse({"--broker", "tcp://127.0.0.1:5556", "--queue", "a", "--queue", "b", "--capacity", "4", "--id", "w1",
                   "--heartbeat", "250ms", "--drain-timeout", "2m", "--log-level", "debug", "--builtin", "echo"});
        REQUIRE(std::holds_alternative<CommandLine>(parsed));
        const auto& line = std::get<CommandLine>(parsed);
        CHECK(line.options.broker_endpoint == "tcp://127.0.0.1:5556");
        CHECK(line.queues == std::vector<std::string>{"a", "b"});
        CHECK(line.options.capacity == 4);
        CHECK(line.options.name == "w1");
        CHECK(line.options.heartbeat_interval == std::chrono::milliseconds(250));
        CHECK(line.options.drain_timeout == std::chrono::minutes(2));
        CHECK(line.log_level == "debug");
        CHECK(line.log_format == "text");
        CHECK(line.builtin == "echo");
        CHECK(line.command.empty());
    }
    SECTION("a command after --") {
        auto parsed = parse({"--broker", "tcp://h:1", "--queue", "a", "--", "/bin/cat", "-n", "--queue"});
        REQUIRE(std::holds_alternative<CommandLine>(parsed));
        CHECK(std::get<CommandLine>(parsed).command == std::vector<std::string>{"/bin/cat", "-n", "--queue"});
        CHECK(std::get<CommandLine>(parsed).queues == std::vector<std::string>{"a"});
    }
    SECTION("CORSAIR_WORKER_ENDPOINT stands for --broker") {
        ::setenv("CORSAIR_WORKER_ENDPOINT", "tcp://from-env:5556", 1);
        auto parsed = parse({"--queue", "a", "--builtin", "sleep"});
        ::unsetenv("CORSAIR_WORKER_ENDPOINT");
        REQUIRE(std::holds_alternative<CommandLine>(parsed));
        CHECK(std::get<CommandLine>(parsed).options.broker_endpoint == "tcp://from-env:5556");
    }
    SECTION("durations take days and compound forms") {
        auto parsed = parse({"--broker", "tcp://h:1", "--queue", "a", "--builtin", "echo", "--drain-timeout", "1h30m"});
        REQUIRE(std::holds_alternative<CommandLine>(parsed));
        CHECK(std::get<CommandLine>(parsed).options.drain_timeout == std::chrono::minutes(90));
        parsed = parse({"--broker", "tcp://h:1", "--queue", "a", "--builtin", "echo", "--drain-timeout", "1d"});
        REQUIRE(std::holds_alternative<CommandLine>(parsed));
        CHECK(std::get<CommandLine>(parsed).options.drain_timeout == std::chrono::hours(24));
    }
}

TEST_CASE("CORSAIR_BROKER, which meant either endpoint, is refused rather than guessed", "[worker][command_line]") {
    ::setenv("CORSAIR_BROKER", "tcp://from-env:5555", 1);
    auto refused = parse({"--queue", "a", "--builtin", "sleep"});
    auto given = parse({"--broker", "tcp://h:5556", "--queue", "a", "--builtin", "sleep"});
    ::unsetenv("CORSAIR_BROKER");
    REQUIRE(std::holds_alternative<int>(refused));
    CHECK(std::get<int>(refused) == 2);
    CHECK(std::holds_alternative<CommandLine>(given));
}

TEST_CASE("the version flag prints the version and exits 0", "[worker][command_line]") {
    auto parsed = parse({"--version"});
    REQUIRE(std::holds_alternative<int>(parsed));
    CHECK(std::get<int>(parsed) == 0);
}

TEST_CASE("a drain timeout of 0 on the command line is no limit, and --batch 1 is one job per message",
          "[worker][command_line]") {
    auto parsed = parse({"--broker", "tcp://h:1", "--queue", "a", "--builtin", "echo", "--drain-timeout", "0s",
                         "--batch", "1"});
    REQUIRE(std::holds_alternative<CommandLine>(parsed));
    CHECK(std::get<CommandLine>(parsed).options.drain_timeout.count() == 0);
    CHECK(std::get<CommandLine>(parsed).options.batch == 1);
}

TEST_CASE("a bad command line is a usage error with exit code 2", "[worker][command_line]") {
    ::unsetenv("CORSAIR_BROKER");
    const std::vector<std::vector<const char*>> cases = {
        {"--queue", "a", "--builtin", "echo"},                                        // no broker
        {"--broker", "tcp://h:1", "--builtin", "echo"},                               // no queue
        {"--broker", "tcp://h:1", "--queue", "a"},                                    // no handler
        {"--broker", "tcp://h:1", "--queue", "a", "--builtin", "echo", "--", "cat"},  // two handlers
        {"--broker", "tcp://h:1", "--queue", "a", "--builtin", "cat"},                // unknown builtin
        {"--broker", "tcp://h:1", "--queue", "a", "--builtin", "echo", "--heartbeat", "soon"},
        {"--broker", "tcp://h:1", "--queue", "a", "--builtin", "echo", "--heartbeat", "1ms"},  // below minimum
        {"--broker", "tcp://h:1", "--queue", "a", "--builtin", "echo", "--capacity", "0"},
        {"--broker", "127.0.0.1:5556", "--queue", "a", "--builtin", "echo"},  // no tcp://
        {"--broker", "tcp://h", "--queue", "a", "--builtin", "echo"},         // no port
        {"--broker", "tcp://h:1", "--queue", "a", "--builtin", "echo", "--threads", "0"},
        {"--broker", "tcp://h:1", "--queue", "a", "--builtin", "echo", "--batch", "0"},  // 0 would read as no limit
    };
    for (const auto& args : cases) {
        INFO("case " << &args - cases.data());
        auto parsed = parse(args);
        REQUIRE(std::holds_alternative<int>(parsed));
        CHECK(std::get<int>(parsed) == 2);
    }
}

TEST_CASE("a command that cannot run is refused at startup as a usage error (exit 2)", "[worker][command_line]") {
    constexpr int kCommandNotRunnableExitCode = 2;
    SECTION("not found in PATH") {
        auto parsed = parse({"--broker", "tcp://h:1", "--queue", "a", "--", "corsair-no-such-command", "-x"});
        REQUIRE(std::holds_alternative<int>(parsed));
        CHECK(std::get<int>(parsed) == kCommandNotRunnableExitCode);
    }
    SECTION("not executable") {
        corsair::test::ScratchDir folder("corsair-command-line-test");
        const std::string script = (folder / "script").string();
        std::ofstream(script) << "#!/bin/sh\n";
        std::filesystem::permissions(script, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
        auto parsed = parse({"--broker", "tcp://h:1", "--queue", "a", "--", script.c_str()});
        REQUIRE(std::holds_alternative<int>(parsed));
        CHECK(std::get<int>(parsed) == kCommandNotRunnableExitCode);
    }
    SECTION("a folder") {
        auto parsed = parse({"--broker", "tcp://h:1", "--queue", "a", "--", "/tmp"});
        REQUIRE(std::holds_alternative<int>(parsed));
        CHECK(std::get<int>(parsed) == kCommandNotRunnableExitCode);
    }
    SECTION("found in PATH") {
        CHECK(std::holds_alternative<CommandLine>(parse({"--broker", "tcp://h:1", "--queue", "a", "--", "cat"})));
    }
}
