#include "child_process.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <string>

#include <sys/wait.h>
#include <unistd.h>

#include "scratch_dir.hpp"

using corsair::test::ChildProcess;
using corsair::test::kSanitizerExitCode;
using corsair::test::ScratchDir;

namespace {

constexpr auto kTimeout = std::chrono::seconds(10);

// Runs `test` in a forked copy of this process and returns that copy's wait status, so that a
// harness which ends the process can be watched from outside.
template <typename Test>
int status_of_forked(Test test) {
    const pid_t pid = fork();
    if (pid == 0) {
        test();
        std::_Exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return status;
}

// A child that writes `report` to its stderr and exits with `code`.
ChildProcess child_exiting(int code, const std::string& report, const std::string& stderr_path) {
    return ChildProcess({"/bin/sh", "-c", "echo \"$0\" >&2; exit " + std::to_string(code), report}, {}, stderr_path,
                        ChildProcess::Stdout::discarded);
}

}  // namespace

TEST_CASE("a child that ends on a sanitizer report ends the test with the same exit code", "[support][child_process]") {
    ScratchDir scratch("child-process-test");
    const std::string log = (scratch.path() / "child.log").string();
    SECTION("reaped by wait_exit") {
        const int status =
            status_of_forked([&] { child_exiting(kSanitizerExitCode, "runtime error: x", log).wait_exit(kTimeout); });
        REQUIRE(WIFEXITED(status));
        CHECK(WEXITSTATUS(status) == kSanitizerExitCode);
    }
    SECTION("reaped by the destructor after it has exited") {
        const int status = status_of_forked([&] {
            ChildProcess child = child_exiting(kSanitizerExitCode, "runtime error: x", log);
            const auto deadline = std::chrono::steady_clock::now() + kTimeout;
            while (!corsair::test::process_has_ended(child.pid()) && std::chrono::steady_clock::now() < deadline) {
                usleep(1000);
            }
        });
        REQUIRE(WIFEXITED(status));
        CHECK(WEXITSTATUS(status) == kSanitizerExitCode);
    }
}

TEST_CASE("a child's other exit codes come back to the test as they are", "[support][child_process]") {
    ScratchDir scratch("child-process-test");
    auto child = child_exiting(3, "not a report", (scratch.path() / "child.log").string());
    const auto status = child.wait_exit(kTimeout);
    REQUIRE(status);
    REQUIRE(WIFEXITED(*status));
    CHECK(WEXITSTATUS(*status) == 3);
}
