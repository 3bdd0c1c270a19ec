#include "corsair/loop/signal_wait.hpp"

#include <catch2/catch.hpp>

#include <poll.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <fstream>
#include <string>
#include <thread>

using corsair::loop::SignalWait;

namespace {

sigset_t set_of(int signal_number) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, signal_number);
    return set;
}

// Reads one byte from `fd` within `deadline`; -1 if none came.
int read_byte(int fd, std::chrono::milliseconds deadline) {
    pollfd item{fd, POLLIN, 0};
    if (::poll(&item, 1, static_cast<int>(deadline.count())) != 1) return -1;
    unsigned char byte = 0;
    return ::read(fd, &byte, 1) == 1 ? byte : -1;
}

// A line of /proc/self/task/TID/status, e.g. "State" or "voluntary_ctxt_switches".
std::string task_status(long tid, const std::string& key) {
    std::ifstream status("/proc/self/task/" + std::to_string(tid) + "/status");
    for (std::string line; std::getline(status, line);) {
        if (line.rfind(key + ":", 0) == 0) return line.substr(key.size() + 1);
    }
    return {};
}

}  // namespace

TEST_CASE("a signal sent to the process ends the wait with its number", "[loop][signal_wait]") {
    int to_parent[2];
    REQUIRE(::pipe(to_parent) == 0);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        // The child: blocks SIGUSR1 as a main() would, waits, and reports what ended the wait.
        const sigset_t set = set_of(SIGUSR1);
        ::pthread_sigmask(SIG_BLOCK, &set, nullptr);
        SignalWait wait(set);
        const unsigned char ready = 'r';
        if (::write(to_parent[1], &ready, 1) != 1) ::_exit(2);
        const auto received = static_cast<unsigned char>(wait.wait());
        ::_exit(::write(to_parent[1], &received, 1) == 1 ? 0 : 3);
    }
    ::close(to_parent[1]);
    const int ready = read_byte(to_parent[0], std::chrono::seconds(10));
    if (ready == 'r') ::kill(child, SIGUSR1);
    const int received = ready == 'r' ? read_byte(to_parent[0], std::chrono::seconds(10)) : -1;
    if (received < 0) ::kill(child, SIGKILL);  // a wait that never ended: the test fails below
    int status = 0;
    ::waitpid(child, &status, 0);
    ::close(to_parent[0]);
    CHECK(ready == 'r');
    CHECK(received == SIGUSR1);
    CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
}

TEST_CASE("a wait nothing ends sleeps, and wake() ends it with 0", "[loop][signal_wait]") {
    SignalWait wait(set_of(SIGUSR2));
    std::atomic<long> tid{0};
    std::atomic<int> result{-1};
    std::thread waiter([&] {
        tid = ::syscall(SYS_gettid);
        result = wait.wait();
    });
    // Until the waiter sleeps in the wait (bounded: 10 s).
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while ((tid == 0 || task_status(tid, "State").find('S') == std::string::npos) &&
           std::chrono::steady_clock::now() < deadline) {
        std::this_thread::yield();
    }
    REQUIRE(task_status(tid, "State").find('S') != std::string::npos);
    // Over 300 ms it does not wake once (the sigtimedwait() it replaces woke every 100 ms).
    const std::string switches_before = task_status(tid, "voluntary_ctxt_switches");
    ::poll(nullptr, 0, 300);
    CHECK(task_status(tid, "voluntary_ctxt_switches") == switches_before);
    CHECK(result == -1);
    wait.wake();
    waiter.join();
    CHECK(result == 0);
}

TEST_CASE("a wake() before the wait ends the next wait at once", "[loop][signal_wait]") {
    SignalWait wait(set_of(SIGUSR2));
    wait.wake();
    CHECK(wait.wait() == 0);
}
