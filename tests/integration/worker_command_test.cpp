// corsair-worker's command processes with real binaries: none outlives a worker killed with
// SIGKILL, and a command that stops being executable does not send the queue to the dead set.
#include <sys/stat.h>
#include <sys/wait.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "child_process.hpp"
#include "cluster.hpp"
#include "deadline.hpp"
#include "scratch_dir.hpp"

using namespace std::chrono_literals;
using corsair::test::Cluster;
using corsair::test::process_has_ended;
using corsair::test::ScratchDir;
using corsair::test::wait_until;
namespace p = corsair::protocol;

namespace {

// The pid written in `file`, or 0 while the file is missing (written with mv, so never half).
pid_t pid_in(const std::filesystem::path& file) {
    std::ifstream in(file);
    long pid = 0;
    in >> pid;
    return static_cast<pid_t>(pid);
}

// Kills by PID whatever the test found still running, so a failing test leaks no process.
class KillOnExit {
public:
    ~KillOnExit() {
        for (pid_t pid : pids_) {
            if (pid > 0 && !process_has_ended(pid)) ::kill(pid, SIGKILL);
        }
    }
    void add(pid_t pid) { pids_.push_back(pid); }

private:
    std::vector<pid_t> pids_;
};

void make_script(const std::filesystem::path& file, const std::string& body) {
    std::ofstream(file) << "#!/bin/sh\n" << body << "\n";
    std::filesystem::permissions(file, std::filesystem::perms::owner_all);
}

}  // namespace

TEST_CASE("a worker killed with SIGKILL takes its command and the command's children with it",
          "[integration][worker_command]") {
    ScratchDir folder("corsair-test-worker-kill");
    const auto child = folder / "child";
    const auto grandchild = folder / "grandchild";
    // The command forks a grandchild, records both pids, and waits on it.
    const std::string script = "sleep 60 & echo $! > " + grandchild.string() + ".tmp; mv " + grandchild.string() +
                               ".tmp " + grandchild.string() + "; echo $$ > " + child.string() + ".tmp; mv " +
                               child.string() + ".tmp " + child.string() + "; wait";
    Cluster cluster;
    auto& worker = cluster.start_worker("victim", {"--", "/bin/sh", "-c", script}, "q", 1);
    REQUIRE(cluster.wait_for_workers(1));
    auto producer = cluster.make_producer();
    producer->submit("q", "x");

    KillOnExit leftovers;
    REQUIRE(wait_until([&] { return pid_in(child) > 0 && pid_in(grandchild) > 0; }, 10s));
    const pid_t command = pid_in(child);
    const pid_t forked = pid_in(grandchild);
    leftovers.add(command);
    leftovers.add(forked);
    REQUIRE_FALSE(process_has_ended(command));
    REQUIRE_FALSE(process_has_ended(forked));

    worker.signal(SIGKILL);
    REQUIRE(worker.wait_exit(5s).has_value());
    CHECK(wait_until([&] { return process_has_ended(command); }, 5s));
    CHECK(wait_until([&] { return process_has_ended(forked); }, 5s));
}

TEST_CASE("a worker whose command becomes non-executable does not send jobs to the dead set",
          "[integration][worker_command]") {
    ScratchDir folder("corsair-test-worker-chmod");
    const auto tool = folder / "tool";
    make_script(tool, "exec cat");
    Cluster cluster;
    cluster.start_worker("w", {"--", tool.string()}, "q", 1);
    REQUIRE(cluster.wait_for_workers(1));
    auto producer = cluster.make_producer();
    corsair::producer::JobOptions once;
    once.max_attempts = 1;  // a single counted failure would send the job to the dead set
    const auto first = producer->submit_async("q", "before", true, once);
    REQUIRE(producer->wait_result(first, 10s).state == p::JobState::done);

    std::filesystem::permissions(tool, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    std::set<std::string> ids;
    for (int i = 0; i < 3; ++i) ids.insert(producer->submit_async("q", "after-" + std::to_string(i), true, once));
    REQUIRE(wait_until([&] { return cluster.counter("attempts_not_started") >= 1; }, 10s, 50ms));
    for (const auto& id : ids) {
        const auto status = producer->status(id);
        INFO(id);
        CHECK(status.state != p::JobState::failed);
        CHECK(status.counted_attempts.value_or(status.attempt) == 0);
    }
    CHECK(cluster.counter("jobs_failed") == 0);
    CHECK(cluster.counter("attempts_failed") == 0);

    // The command is back: the paused worker takes jobs again and every job ends done.
    std::filesystem::permissions(tool, std::filesystem::perms::owner_all);
    for (const auto& id : ids) {
        INFO(id);
        CHECK(producer->wait_result(id, 20s).state == p::JobState::done);
    }
    CHECK(cluster.counter("jobs_failed") == 0);
    CHECK(cluster.worker_log("w").find("not executable") != std::string::npos);
}

TEST_CASE("corsair-worker refuses to start with a command it cannot run, naming it", "[integration][worker_command]") {
    ScratchDir folder("corsair-test-worker-refuse");
    const auto tool = folder / "tool";
    make_script(tool, "exec cat");
    std::filesystem::permissions(tool, std::filesystem::perms::owner_read);
    for (const std::string& command : {std::string("corsair-no-such-command"), tool.string()}) {
        INFO(command);
        const auto log = (folder / "worker.log").string();
        corsair::test::ChildProcess worker({CORSAIR_WORKER_BIN, "--broker", "tcp://127.0.0.1:1", "--queue", "q", "--",
                                            command},
                                           {}, log);
        const auto status = worker.wait_exit(10s);
        REQUIRE(status.has_value());
        CHECK(WIFEXITED(*status));
        CHECK(WEXITSTATUS(*status) == 2);  // usage: the command given cannot run
        std::ifstream in(log);
        const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        CHECK(text.find(command) != std::string::npos);
    }
}
