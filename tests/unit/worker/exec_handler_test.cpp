#include "corsair/worker/exec_handler.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <fstream>
#include <sstream>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "corsair/protocol/limits.hpp"
#include "deadline.hpp"
#include "process_group_probe.hpp"
#include "scratch_dir.hpp"

using corsair::worker::ExecHandler;
using corsair::worker::JobContext;

namespace {

JobContext job(std::string_view payload, std::stop_token stop = {}) {
    return JobContext{"job-7", "images", 3, payload, stop};
}

ExecHandler shell(std::string script) { return ExecHandler({"/bin/sh", "-c", std::move(script)}); }

// The probe's shell and its background grandchild are both gone (within 5 s), not left running.
void check_both_ended(const corsair::test::ProcessGroupProbe& probe) {
    const auto pids = probe.pids();
    REQUIRE(pids.size() == 2);
    for (pid_t pid : pids) {
        INFO("pid " << pid);
        CHECK(corsair::test::wait_until([pid] { return corsair::test::process_has_ended(pid); },
                                        std::chrono::seconds(5)));
    }
}

}  // namespace

TEST_CASE("the payload goes to stdin and stdout is the result", "[worker][exec_handler]") {
    SECTION("cat echoes the payload") { CHECK(ExecHandler({"/bin/cat"})(job("hello\nworld")) == "hello\nworld"); }
    SECTION("a command is found in PATH") { CHECK(ExecHandler({"cat"})(job("x")) == "x"); }
    SECTION("an empty payload gives an empty stdin") { CHECK(ExecHandler({"/bin/cat"})(job("")).empty()); }
    SECTION("arguments are passed without a shell") {
        CHECK(ExecHandler({"/bin/echo", "a b", "$HOME", ";", "*"})(job("")) == "a b $HOME ; *\n");
    }
}

TEST_CASE("a non-zero exit fails with the status and the stderr tail", "[worker][exec_handler]") {
    SECTION("exit status and stderr") {
        CHECK_THROWS_WITH(shell("echo first >&2; echo 'it broke' >&2; exit 3")(job("")),
                          "exit status 3: first\nit broke");
    }
    SECTION("only the last 20 lines of stderr are kept") {
        try {
            shell("i=0; while [ $i -lt 100 ]; do echo line$i >&2; i=$((i+1)); done; exit 1")(job(""));
            FAIL("no exception");
        } catch (const std::runtime_error& e) {
            const std::string text = e.what();
            CHECK(text.rfind("exit status 1: line80\n", 0) == 0);
            CHECK(text.size() < 300);
            CHECK(text.find("line99") != std::string::npos);
            CHECK(text.find("line79") == std::string::npos);
        }
    }
    SECTION("at most 4 KiB of stderr are kept") {
        try {
            shell("head -c 100000 /dev/zero | tr '\\0' x >&2; exit 1")(job(""));
            FAIL("no exception");
        } catch (const std::runtime_error& e) {
            CHECK(std::string(e.what()).size() <= ExecHandler::kStderrTailBytes + 32);
        }
    }
    SECTION("a signal, by name and number") {
        CHECK_THROWS_WITH(shell("kill -9 $$")(job("")), "killed by signal KILL (9)");
    }
}

TEST_CASE("the job's id, queue and attempt reach the child's environment", "[worker][exec_handler]") {
    CHECK(shell("printf '%s %s %s' \"$CORSAIR_JOB_ID\" \"$CORSAIR_QUEUE\" \"$CORSAIR_ATTEMPT\"")(job("")) ==
          "job-7 images 3");
}

TEST_CASE("the child runs in its own process group", "[worker][exec_handler]") {
    const std::string output = shell("ps -o pgid= -p $$; ps -o pid= -p $$")(job(""));
    std::istringstream lines(output);
    long group = 0, pid = 0;
    lines >> group >> pid;
    CHECK(group == pid);
}

TEST_CASE("big output on stdout and stderr does not deadlock", "[worker][exec_handler]") {
    const std::string payload(5 * 1024 * 1024, 'p');
    SECTION("5 MB through cat") { CHECK(ExecHandler({"/bin/cat"})(job(payload)) == payload); }
    SECTION("5 MB on stdout and stderr while stdin is still being written") {
        const std::string result =
            shell("head -c 5000000 /dev/zero; head -c 5000000 /dev/zero >&2; cat >/dev/null")(job(payload));
        CHECK(result.size() == 5'000'000);
    }
}

TEST_CASE("output larger than the broker's limit fails the job for good", "[worker][exec_handler]") {
    JobContext context = job("");
    context.max_result_bytes = 1000;
    CHECK_THROWS_AS(shell("head -c 1001 /dev/zero")(context), corsair::worker::PermanentFailure);
    CHECK_THROWS_WITH(shell("head -c 1001 /dev/zero")(context), Catch::StartsWith("output too large: more than 1000"));
    CHECK(shell("head -c 1000 /dev/zero")(context).size() == 1000);
    SECTION("the smaller of the handler's own cap and the broker's applies") {
        ExecHandler capped({"/bin/sh", "-c", "head -c 600 /dev/zero"}, 500);
        CHECK_THROWS_WITH(capped(context), Catch::StartsWith("output too large: more than 500"));
    }
}

TEST_CASE("output larger than the limit fails the job", "[worker][exec_handler]") {
    ExecHandler handler({"/bin/sh", "-c", "head -c 2000 /dev/zero"}, 1000);
    CHECK_THROWS_WITH(handler(job("")), Catch::StartsWith("output too large"));
    ExecHandler endless({"/bin/sh", "-c", "cat /dev/zero"}, 1024 * 1024);
    CHECK_THROWS_WITH(endless(job("")), Catch::StartsWith("output too large"));
}

TEST_CASE("a command that cannot be started throws NotStarted, naming it", "[worker][exec_handler]") {
    using corsair::worker::NotStarted;
    SECTION("not found") {
        CHECK_THROWS_AS(ExecHandler({"corsair-no-such-command"})(job("x")), NotStarted);
        CHECK_THROWS_WITH(ExecHandler({"corsair-no-such-command"})(job("x")),
                          "command not found in PATH: 'corsair-no-such-command'");
        CHECK_THROWS_WITH(ExecHandler({"/nonexistent/tool"})(job("x")), "command not found: '/nonexistent/tool'");
    }
    corsair::test::ScratchDir folder("corsair-exec-test");
    SECTION("not executable") {
        const auto script = (folder / "tool").string();
        std::ofstream(script) << "#!/bin/sh\necho hi\n";
        std::filesystem::permissions(script, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
        CHECK_THROWS_AS(ExecHandler({script})(job("x")), NotStarted);
        CHECK_THROWS_WITH(ExecHandler({script})(job("x")), Catch::Contains("not executable") && Catch::Contains(script));
    }
    SECTION("executable, but exec fails: no interpreter, or no format the kernel knows") {
        const auto no_interpreter = (folder / "no-interpreter").string();
        std::ofstream(no_interpreter) << "#!/nonexistent/interpreter\n";
        const auto garbage = (folder / "garbage").string();
        std::ofstream(garbage) << "\x7f\x01\x02 not a program";
        for (const auto& file : {no_interpreter, garbage}) {
            std::filesystem::permissions(file, std::filesystem::perms::owner_all);
            INFO(file);
            CHECK_THROWS_AS(ExecHandler({file})(job("x")), NotStarted);
            CHECK_THROWS_WITH(ExecHandler({file})(job("x")), Catch::StartsWith("cannot start the command '" + file));
        }
    }
    SECTION("an empty command line is a programming error") { CHECK_THROWS_AS(ExecHandler({}), std::invalid_argument); }
}

TEST_CASE("what a command leaves running in its process group ends when it exits", "[worker][exec_handler]") {
    corsair::test::ProcessGroupProbe probe;
    // The probe's shell waits for its grandchild; exiting at once instead leaves it behind.
    const std::string script = probe.script();
    const std::string leaves_behind = script.substr(0, script.rfind("; wait"));
    CHECK(shell(leaves_behind)(job("")).empty());
    check_both_ended(probe);
}

TEST_CASE("a child that does not read stdin still finishes", "[worker][exec_handler]") {
    const std::string payload(4 * 1024 * 1024, 'p');
    SECTION("exit 0 without reading") { CHECK(shell("echo ignored")(job(payload)) == "ignored\n"); }
    SECTION("closes stdin early") { CHECK(shell("exec 0<&-; sleep 0.05; echo closed")(job(payload)) == "closed\n"); }
}

TEST_CASE("a stop request kills the child's whole process group", "[worker][exec_handler]") {
    corsair::test::ProcessGroupProbe probe;
    std::stop_source stop;
    std::jthread stopper([&] {
        // Stop once both processes exist, so the kill is what ends them.
        corsair::test::wait_until([&] { return probe.pids().size() == 2; }, std::chrono::seconds(10));
        stop.request_stop();
    });
    const auto start = std::chrono::steady_clock::now();
    CHECK_THROWS_WITH(shell(probe.script())(job("", stop.get_token())), Catch::Contains("stopping"));
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(10));
    // The grandchild was reparented when the shell died; it must be gone too, not left running.
    check_both_ended(probe);
}

TEST_CASE("a command still running at its timeout is killed with its process group and the attempt fails, to be retried",
          "[worker][exec_handler]") {
    corsair::test::ProcessGroupProbe probe;
    const ExecHandler handler({"/bin/sh", "-c", "echo started >&2; " + probe.script()},
                              std::numeric_limits<std::size_t>::max(), std::chrono::seconds(1));
    const auto start = std::chrono::steady_clock::now();
    try {
        handler(job(""));
        FAIL("a command past its timeout returned a result");
    } catch (const corsair::worker::PermanentFailure& e) {
        FAIL("a timeout is not the job's fault for good: " << e.what());
    } catch (const std::runtime_error& e) {
        CHECK_THAT(e.what(), Catch::StartsWith("timed out after 1s: command killed"));
        CHECK_THAT(e.what(), Catch::Contains("started"));  // the stderr tail, as for any failure
    }
    const auto took = std::chrono::steady_clock::now() - start;
    CHECK(took >= std::chrono::seconds(1));
    CHECK(took < std::chrono::seconds(10));
    check_both_ended(probe);
}

TEST_CASE("a command that ends within its timeout is not touched by it", "[worker][exec_handler]") {
    const ExecHandler handler({"/bin/cat"}, std::numeric_limits<std::size_t>::max(), std::chrono::seconds(30));
    CHECK(handler(job("quick")) == "quick");
}

TEST_CASE("progress lines on stderr become reports and stay out of the error text", "[worker][exec_handler]") {
    std::vector<std::pair<std::uint32_t, std::string>> reports;
    JobContext context = job("");
    context.progress_sink = [&](std::uint32_t percent, std::string_view message) {
        reports.emplace_back(percent, std::string(message));
    };

    SECTION("each well-formed line is one report, in order") {
        CHECK(shell("echo 'corsair-progress 40 resized 4 of 10' >&2; echo 'corsair-progress 100' >&2; "
                    "printf 'corsair-progress\t7\t tabs and spaces  \r\n' >&2; echo out")(context) == "out\n");
        using Reports = decltype(reports);
        CHECK(reports == Reports{{40, "resized 4 of 10"}, {100, ""}, {7, "tabs and spaces"}});
    }
    SECTION("a percent over 100 is clamped and a long message cut to the protocol's limit") {
        const std::string long_message(1000, 'm');
        shell("echo 'corsair-progress 250 " + long_message +
              "' >&2; echo 'corsair-progress 99999999999999999999' >&2")(context);
        REQUIRE(reports.size() == 2);
        CHECK(reports[0].first == 100);
        CHECK(reports[0].second == long_message.substr(0, corsair::protocol::kMaxProgressMessageBytes));
        CHECK(reports[1].first == 100);
    }
    SECTION("a progress line split across writes, and a last line without a newline") {
        shell(
            "printf 'corsair-prog' >&2; sleep 0.05; printf 'ress 30 split\n' >&2; printf 'corsair-progress 60 last' "
            ">&2")(context);
        using Reports = decltype(reports);
        CHECK(reports == Reports{{30, "split"}, {60, "last"}});
    }
    SECTION("progress lines are left out of the stderr tail; other lines stay, malformed ones too") {
        CHECK_THROWS_WITH(shell("echo before >&2; echo 'corsair-progress 50 half' >&2; echo 'corsair-progress x' >&2; "
                                "echo 'corsair-progress 5%' >&2; echo 'corsair-progressive 1' >&2; "
                                "printf 'corsair-progress 90 no newline' >&2; exit 3")(context),
                          "exit status 3: before\ncorsair-progress x\ncorsair-progress 5%\ncorsair-progressive 1");
        using Reports = decltype(reports);
        CHECK(reports == Reports{{50, "half"}, {90, "no newline"}});
    }
    SECTION("progress does not push real errors out of the 20-line tail") {
        CHECK_THROWS_WITH(shell("echo real error >&2; i=0; while [ $i -lt 50 ]; do echo \"corsair-progress $i\" >&2; "
                                "i=$((i+1)); done; exit 1")(context),
                          "exit status 1: real error");
        CHECK(reports.size() == 50);
    }
    SECTION("a stderr line longer than any progress line is plain text, however it is read") {
        // Written in pieces or in one write, so read in one chunk or several.
        const std::string x_10000 = "head -c 10000 /dev/zero | tr '\\0' x";
        const std::string script =
            GENERATE_COPY(std::string("printf 'corsair-progress 1 ' >&2; ") + x_10000 + " >&2; echo >&2; exit 2",
                          std::string("printf 'corsair-progress 1 %s\\n' \"$(") + x_10000 + ")\" >&2; exit 2");
        INFO(script);
        try {
            shell(script)(context);
            FAIL("no exception");
        } catch (const std::runtime_error& e) {
            const std::string text = e.what();
            CHECK(text.starts_with("exit status 2: "));
            CHECK(text.size() == std::string("exit status 2: ").size() + ExecHandler::kStderrTailBytes);
            CHECK(text.ends_with("xxx"));
        }
        CHECK(reports.empty());
    }
    SECTION("a context without a sink drops the reports") {
        CHECK(shell("echo 'corsair-progress 10 ignored' >&2; echo fine")(job("")) == "fine\n");
    }
}

TEST_CASE("exit status 100 is a permanent failure", "[worker][exec_handler]") {
    CHECK(corsair::worker::kPermanentFailureExitCode == 100);
    SECTION("exit 100 throws PermanentFailure with the usual text") {
        CHECK_THROWS_AS(shell("echo 'no such image' >&2; exit 100")(job("")), corsair::worker::PermanentFailure);
        CHECK_THROWS_WITH(shell("echo 'no such image' >&2; exit 100")(job("")), "exit status 100: no such image");
    }
    SECTION("other failures are not permanent") {
        try {
            shell("exit 101")(job(""));
            FAIL("no exception");
        } catch (const corsair::worker::PermanentFailure&) {
            FAIL("exit 101 taken for a permanent failure");
        } catch (const std::runtime_error& e) {
            CHECK(std::string(e.what()) == "exit status 101");
        }
    }
}

TEST_CASE("a command that closes its stdout and stderr is still waited for until it exits", "[worker][exec_handler]") {
    SECTION("its exit status still counts") {
        CHECK_THROWS_WITH(shell("exec >&- 2>&- <&-; sleep 0.2; exit 3")(job("")), "exit status 3");
    }
    SECTION("a stop request while it runs on kills it") {
        const auto marker =
            std::filesystem::temp_directory_path() / ("corsair-exec-closed-" + std::to_string(::getpid()) + "-marker");
        std::filesystem::remove(marker);
        std::stop_source stop;
        std::jthread stopper([&] {
            // Stop once the pipes are closed, so only waiting for the exit can notice it.
            corsair::test::wait_until([&] { return std::filesystem::exists(marker); }, std::chrono::seconds(10));
            stop.request_stop();
        });
        const auto start = std::chrono::steady_clock::now();
        CHECK_THROWS_WITH(
            shell("exec >&- 2>&- <&-; touch '" + marker.string() + "'; sleep 30")(job("", stop.get_token())),
            Catch::Contains("stopping"));
        CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(10));
        std::filesystem::remove(marker);
    }
}
