#include "corsair/worker/command_line.hpp"
#include "corsair/worker/exec_handler.hpp"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
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

TEST_CASE("each [[handler]] of --config is a handler with its own queues, command, capacity and timeout",
          "[worker][command_line][config]") {
    corsair::test::ScratchDir dir("corsair-worker-config");
    const auto file = (dir / "worker.toml").string();
    std::ofstream(file) << "broker = \"tcp://127.0.0.1:5556\"\n"
                           "capacity = 2\n"
                           "timeout = \"1m\"\n"
                           "id = \"box\"\n"
                           "\n"
                           "[[handler]]\n"
                           "queue = \"thumbnails\"\n"
                           "command = [\"/bin/cat\", \"-n\"]\n"
                           "capacity = 4\n"
                           "timeout = \"30s\"\n"
                           "\n"
                           "[[handler]]\n"
                           "queue = [\"emails\", \"sms\"]\n"
                           "builtin = \"echo\"\n";
    auto parsed = parse({"--config", file.c_str()});
    REQUIRE(std::holds_alternative<CommandLine>(parsed));
    const auto& line = std::get<CommandLine>(parsed);
    REQUIRE(line.handlers.size() == 2);
    const auto& thumbnails = line.handlers[0];
    CHECK(thumbnails.queues == std::vector<std::string>{"thumbnails"});
    CHECK(thumbnails.command == std::vector<std::string>{"/bin/cat", "-n"});
    CHECK(thumbnails.capacity == 4);
    CHECK(thumbnails.timeout == std::chrono::seconds(30));
    CHECK(thumbnails.where == file + ":6");
    const auto& messages = line.handlers[1];
    CHECK(messages.queues == std::vector<std::string>{"emails", "sms"});
    CHECK(messages.builtin == "echo");
    CHECK(messages.capacity == 2);                      // the file's top-level capacity
    CHECK(messages.timeout == std::chrono::minutes(1));  // and timeout
    // Each is a worker of its own to the broker, so each needs a name of its own.
    CHECK(options_for(line, thumbnails).name == "box/thumbnails");
    CHECK(options_for(line, thumbnails).capacity == 4);
    CHECK(options_for(line, messages).name == "box/emails");
}

TEST_CASE("a bad [[handler]] is a usage error naming its file, line and key", "[worker][command_line][config]") {
    corsair::test::ScratchDir dir("corsair-worker-config");
    const auto file = (dir / "worker.toml").string();
    const std::string head = "broker = \"tcp://127.0.0.1:5556\"\n[[handler]]\nqueue = \"q\"\n";
    struct Case {
        std::string text;
        std::vector<const char*> flags;
        std::string message;
    };
    const std::vector<Case> cases = {
        {head + "command = [\"/bin/cat\"]\ncapacity = 0\n", {}, ":5: [[handler]] capacity: must be from 1 to"},
        {head + "command = [\"/bin/cat\"]\ncapacity = \"4\"\n", {}, ":5: [[handler]] capacity: expects a whole number, not a string"},
        {head + "command = [\"/bin/cat\"]\ntimeout = \"soon\"\n", {}, ":5: [[handler]] timeout: 'soon' is not a duration"},
        {head + "command = [\"/bin/cat\"]\nbuiltin = \"echo\"\n", {}, ":4: [[handler]] command: give exactly one of"},
        {head + "command = [\"/bin/cat\"]\nretries = 3\n", {}, ":5: [[handler]] retries: unknown key"},
        {head + "builtin = \"shout\"\n", {}, ":4: [[handler]] builtin: 'shout' is not echo, noop or sleep"},
        {"broker = \"tcp://127.0.0.1:5556\"\n[[handler]]\nbuiltin = \"echo\"\n", {}, ":2: [[handler]] queue: missing"},
        {head + "builtin = \"echo\"\n[[handler]]\nqueue = \"q\"\nbuiltin = \"noop\"\n", {},
         ":6: [[handler]] queue: queue 'q' has a handler already"},
        {head + "builtin = \"echo\"\n", {"--queue", "other"}, "give the handlers either as [[handler]] tables in " + file},
    };
    for (const auto& c : cases) {
        std::ofstream(file) << c.text;
        INFO(c.text);
        std::vector<const char*> args = {"--config", file.c_str()};
        args.insert(args.end(), c.flags.begin(), c.flags.end());
        std::ostringstream err;
        auto* const saved = std::cerr.rdbuf(err.rdbuf());
        auto parsed = parse(args);
        std::cerr.rdbuf(saved);
        REQUIRE(std::holds_alternative<int>(parsed));
        CHECK(std::get<int>(parsed) == 2);
        const auto expected = c.message.rfind(":", 0) == 0 ? "corsair-worker: " + file + c.message
                                                           : "corsair-worker: " + c.message;
        CHECK_THAT(err.str(), Catch::StartsWith(expected));
    }
}

TEST_CASE("one CommandLineParser parses argv after argv, and none sees an earlier one's flags or file",
          "[worker][command_line][config]") {
    corsair::test::ScratchDir dir("corsair-worker-reparse");
    const auto file = (dir / "worker.toml").string();
    std::ofstream(file) << "broker = \"tcp://127.0.0.1:5556\"\n"
                           "capacity = 2\n"
                           "\n"
                           "[[handler]]\n"
                           "queue = \"thumbnails\"\n"
                           "builtin = \"echo\"\n";
    CommandLineParser parser;
    const auto parse_with = [&parser](std::vector<const char*> args) {
        args.insert(args.begin(), "corsair-worker");
        return parser.parse(static_cast<int>(args.size()), args.data());
    };
    auto from_file = parse_with({"--config", file.c_str(), "--prefetch", "3", "--log-level", "debug"});
    REQUIRE(std::holds_alternative<CommandLine>(from_file));
    CHECK(std::get<CommandLine>(from_file).handlers.size() == 1);
    CHECK(std::get<CommandLine>(from_file).options.capacity == 2);

    std::ostringstream err;
    auto* const old_err = std::cerr.rdbuf(err.rdbuf());
    const auto refused = parse_with({"--capacity", "0", "--queue", "q", "--builtin", "echo"});
    std::cerr.rdbuf(old_err);
    REQUIRE(std::holds_alternative<int>(refused));
    CHECK(std::get<int>(refused) == 2);

    auto from_flags = parse_with({"--broker", "tcp://127.0.0.1:7000", "--queue", "q", "--builtin", "noop"});
    REQUIRE(std::holds_alternative<CommandLine>(from_flags));
    const auto& line = std::get<CommandLine>(from_flags);
    const auto fresh = parse({"--broker", "tcp://127.0.0.1:7000", "--queue", "q", "--builtin", "noop"});
    REQUIRE(std::holds_alternative<CommandLine>(fresh));
    REQUIRE(line.handlers.size() == 1);  // not the file's [[handler]] besides
    CHECK(line.handlers[0].queues == std::vector<std::string>{"q"});
    CHECK(line.handlers[0].builtin == "noop");
    CHECK(line.options.capacity == std::get<CommandLine>(fresh).options.capacity);
    CHECK(line.options.capacity == 1);
    CHECK(line.options.prefetch == std::get<CommandLine>(fresh).options.prefetch);
    CHECK(line.log_level == "info");
    CHECK(line.queues == std::vector<std::string>{"q"});
}
