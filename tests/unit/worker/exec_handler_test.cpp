#include "corsair/worker/exec_handler.hpp"

#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <stdlib.h>

#include "deadline.hpp"

using corsair::worker::ExecHandler;
using corsair::worker::JobContext;

namespace {

JobContext job(std::string_view payload, std::stop_token stop = {}) {
    return JobContext{"job-7", "images", 3, payload, stop};
}

ExecHandler shell(std::string script) { return ExecHandler({"/bin/sh", "-c", std::move(script)}); }

// Gone, or a zombie: killed but not yet reaped by whoever inherited it (not our child).
bool has_ended(pid_t pid) {
    if (kill(pid, 0) != 0 && errno == ESRCH) return true;
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    const auto paren = text.rfind(')');
    return paren != std::string::npos && paren + 2 < text.size() && text[paren + 2] == 'Z';
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
    SECTION("a signal") { CHECK_THROWS_WITH(shell("kill -9 $$")(job("")), Catch::StartsWith("killed by signal 9")); }
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

TEST_CASE("output larger than the limit fails the job", "[worker][exec_handler]") {
    ExecHandler handler({"/bin/sh", "-c", "head -c 2000 /dev/zero"}, 1000);
    CHECK_THROWS_WITH(handler(job("")), Catch::StartsWith("output too large"));
    ExecHandler endless({"/bin/sh", "-c", "cat /dev/zero"}, 1024 * 1024);
    CHECK_THROWS_WITH(endless(job("")), Catch::StartsWith("output too large"));
}

TEST_CASE("a command that does not exist fails clearly", "[worker][exec_handler]") {
    CHECK_THROWS_WITH(ExecHandler({"corsair-no-such-command"})(job("x")), "command not found: corsair-no-such-command");
    CHECK_THROWS_WITH(ExecHandler({"/nonexistent/tool"})(job("x")), "command not found: /nonexistent/tool");
    CHECK_THROWS_AS(ExecHandler({}), std::invalid_argument);
}

TEST_CASE("a child that does not read stdin still finishes", "[worker][exec_handler]") {
    const std::string payload(4 * 1024 * 1024, 'p');
    SECTION("exit 0 without reading") { CHECK(shell("echo ignored")(job(payload)) == "ignored\n"); }
    SECTION("closes stdin early") { CHECK(shell("exec 0<&-; sleep 0.05; echo closed")(job(payload)) == "closed\n"); }
}

TEST_CASE("a stop request kills the child's whole process group", "[worker][exec_handler]") {
    // The command records its own pid and a background grandchild's, then waits on both.
    char pattern[] = "/tmp/corsair-exec-test-XXXXXX";
    REQUIRE(mkdtemp(pattern) != nullptr);
    const std::string pid_file = std::string(pattern) + "/pids";
    auto read_pids = [&] {
        std::vector<pid_t> pids;
        std::ifstream in(pid_file);
        for (long pid = 0; in >> pid;) pids.push_back(static_cast<pid_t>(pid));
        return pids;
    };
    std::stop_source stop;
    std::jthread stopper([&] {
        // Stop once both processes exist, so the kill is what ends them.
        corsair::test::wait_until([&] { return read_pids().size() == 2; }, std::chrono::seconds(10));
        stop.request_stop();
    });
    const auto start = std::chrono::steady_clock::now();
    CHECK_THROWS_WITH(shell("sleep 30 & echo $! > " + pid_file + ".tmp; echo $$ >> " + pid_file + ".tmp; mv " +
                            pid_file + ".tmp " + pid_file + "; wait")(job("", stop.get_token())),
                      Catch::Contains("stopping"));
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(10));
    const auto pids = read_pids();
    REQUIRE(pids.size() == 2);
    // The grandchild was reparented when the shell died; it must be gone too, not left running.
    for (pid_t pid : pids) {
        INFO("pid " << pid);
        CHECK(corsair::test::wait_until([pid] { return has_ended(pid); }, std::chrono::seconds(5)));
    }
    std::filesystem::remove_all(pattern);
}
