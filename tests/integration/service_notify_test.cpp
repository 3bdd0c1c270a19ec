// The broker under a service manager (docs/service.md): the test plays systemd's part. It binds
// an AF_UNIX datagram socket in a scratch folder, starts the real corsair-broker with
// NOTIFY_SOCKET naming it, WATCHDOG_USEC set and WATCHDOG_PID set to the broker's own PID (a
// shell exports its $$ and execs the broker, as systemd sets it after its fork), and reads what
// arrives, each wait under a deadline. SO_PASSCRED makes the kernel stamp every datagram with
// the sender's PID, which is what systemd checks for NotifyAccess=main, and SO_TIMESTAMPNS with
// the time it arrived, so that the pings' pace is measured as sent, not as this test got to them.
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "child_process.hpp"
#include "corsair/broker/ready_line.hpp"
#include "corsair/producer/producer.hpp"
#include "deadline.hpp"
#include "scratch_dir.hpp"

using namespace std::chrono_literals;
using corsair::test::ChildProcess;
using corsair::test::ScratchDir;
using corsair::test::scaled;
using Clock = std::chrono::steady_clock;

namespace {

// The watchdog timeout the test asks for: the broker pings every half of it.
constexpr auto kWatchdogTimeout = 1000ms;

// One notification as the service manager gets it.
struct Notification {
    std::string text;
    pid_t sender = 0;
    std::chrono::nanoseconds arrived{0};  // the kernel's stamp, on the system clock

    bool has(const std::string& line) const {
        return ("\n" + text + "\n").find("\n" + line + "\n") != std::string::npos;
    }
    bool has_status(const std::string& status) const { return has("STATUS=" + status); }
};

// The service manager's end of NOTIFY_SOCKET: bound on construction, closed and unlinked on
// destruction. Owned by the test's thread.
class NotifySocket {
public:
    explicit NotifySocket(std::string path) : path_(std::move(path)) {
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        if (path_.size() >= sizeof address.sun_path) throw std::runtime_error("socket path too long: " + path_);
        std::memcpy(address.sun_path, path_.c_str(), path_.size() + 1);
        fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd_ < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
        const int on = 1;
        if (::setsockopt(fd_, SOL_SOCKET, SO_PASSCRED, &on, sizeof on) != 0 ||
            ::setsockopt(fd_, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on) != 0 ||
            ::bind(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
            const int error = errno;
            ::close(fd_);
            throw std::runtime_error("binding " + path_ + ": " + std::strerror(error));
        }
    }
    ~NotifySocket() {
        ::close(fd_);
        ::unlink(path_.c_str());
    }
    NotifySocket(const NotifySocket&) = delete;
    NotifySocket& operator=(const NotifySocket&) = delete;

    // The next notification, or nullopt once `deadline` passes.
    std::optional<Notification> receive_until(Clock::time_point deadline) {
        for (;;) {
            const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
            pollfd item{fd_, POLLIN, 0};
            const int ready = ::poll(&item, 1, static_cast<int>(std::max(left, 0ms).count()));
            if (ready < 0 && errno == EINTR) continue;
            if (ready <= 0) return std::nullopt;
            return read_one();
        }
    }
    // The first notification that `matches` within scaled(`timeout`); the others on the way
    // are kept in history().
    template <class Matches>
    std::optional<Notification> wait_for(Matches&& matches, std::chrono::milliseconds timeout) {
        const auto deadline = Clock::now() + scaled(timeout);
        while (auto notification = receive_until(deadline)) {
            if (matches(*notification)) return notification;
        }
        return std::nullopt;
    }
    const std::vector<Notification>& history() const noexcept { return history_; }

private:
    Notification read_one() {
        char text[4096];
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred)) + CMSG_SPACE(sizeof(timespec))];
        iovec io{text, sizeof text};
        msghdr message{};
        message.msg_iov = &io;
        message.msg_iovlen = 1;
        message.msg_control = control;
        message.msg_controllen = sizeof control;
        const auto bytes = ::recvmsg(fd_, &message, MSG_DONTWAIT);
        if (bytes < 0) throw std::runtime_error(std::string("recvmsg: ") + std::strerror(errno));
        Notification notification{std::string(text, static_cast<std::size_t>(bytes))};
        for (auto* header = CMSG_FIRSTHDR(&message); header != nullptr; header = CMSG_NXTHDR(&message, header)) {
            if (header->cmsg_level == SOL_SOCKET && header->cmsg_type == SCM_CREDENTIALS) {
                ucred credentials{};
                std::memcpy(&credentials, CMSG_DATA(header), sizeof credentials);
                notification.sender = credentials.pid;
            } else if (header->cmsg_level == SOL_SOCKET && header->cmsg_type == SCM_TIMESTAMPNS) {
                timespec arrived{};
                std::memcpy(&arrived, CMSG_DATA(header), sizeof arrived);
                notification.arrived = std::chrono::seconds(arrived.tv_sec) + std::chrono::nanoseconds(arrived.tv_nsec);
            }
        }
        history_.push_back(notification);
        return notification;
    }

    std::string path_;
    int fd_ = -1;
    std::vector<Notification> history_;
};

// A corsair-broker started as systemd starts a Type=notify service with WatchdogSec=: on
// ephemeral ports, journaling into `scratch`. `watchdog_pid` is "$$" (the broker itself) or
// another PID.
ChildProcess start_broker(const ScratchDir& scratch, const std::string& socket_path,
                          const std::string& watchdog_pid = "$$") {
    const auto watchdog_us = std::chrono::duration_cast<std::chrono::microseconds>(kWatchdogTimeout).count();
    return ChildProcess({"/bin/sh", "-c", "export WATCHDOG_PID=" + watchdog_pid + "; exec \"$0\" \"$@\"",
                         CORSAIR_BROKER_BIN, "--producers", "tcp://127.0.0.1:*", "--workers", "tcp://127.0.0.1:*",
                         "--http", "127.0.0.1:0", "--heartbeat", "200ms", "--data-dir", (scratch / "data").string()},
                        {"NOTIFY_SOCKET=" + socket_path, "WATCHDOG_USEC=" + std::to_string(watchdog_us)},
                        (scratch / "broker.log").string());
}

bool is_ping(const Notification& notification) { return notification.has("WATCHDOG=1"); }

// The gaps between the watchdog pings received so far.
std::vector<std::chrono::milliseconds> ping_gaps(const std::vector<Notification>& history) {
    std::vector<std::chrono::milliseconds> gaps;
    std::optional<std::chrono::nanoseconds> last;
    for (const auto& notification : history) {
        if (!is_ping(notification)) continue;
        if (last) gaps.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(notification.arrived - *last));
        last = notification.arrived;
    }
    return gaps;
}

}  // namespace

TEST_CASE("under systemd the broker says READY=1 once bound, keeps STATUS current, pings the watchdog from its "
          "loop and says STOPPING=1 on SIGTERM",
          "[integration][service]") {
    ScratchDir scratch("corsair-notify");
    NotifySocket manager((scratch / "notify").string());
    auto broker = start_broker(scratch, (scratch / "notify").string());

    const auto ready = manager.wait_for([](const Notification& n) { return n.has("READY=1"); }, 10s);
    REQUIRE(ready);
    CHECK(ready->sender == broker.pid());
    CHECK(ready->has_status("ready: 0 queues, 0 pending, 0 delayed, 0 leased, 0 workers"));
    // READY=1 comes after the ready line: it is in the pipe already, and both endpoints answer.
    const auto line = broker.read_line(100ms);
    REQUIRE(line);
    const auto endpoints = corsair::broker::parse_ready_line(*line);
    REQUIRE(endpoints);
    CHECK_FALSE(endpoints->http.empty());
    zmq::context_t context(1);
    corsair::producer::ProducerOptions options;
    options.broker_endpoint = endpoints->producers;
    corsair::producer::Producer producer(context, options);
    CHECK(producer.stats(5s).queues.empty());

    // The status follows what the broker holds, within a status interval.
    producer.submit("sleepy", "60000");
    CHECK(manager.wait_for([](const Notification& n) {
        return n.has_status("ready: 1 queue, 1 pending, 0 delayed, 0 leased, 0 workers");
    }, 10s));
    ChildProcess worker({CORSAIR_WORKER_BIN, "--broker", endpoints->workers, "--queue", "sleepy", "--id", "sleeper",
                         "--capacity", "1", "--builtin", "sleep"},
                        {}, (scratch / "worker.log").string(), ChildProcess::Stdout::discarded);
    CHECK(manager.wait_for([](const Notification& n) {
        return n.has_status("ready: 1 queue, 0 pending, 0 delayed, 1 leased, 1 worker");
    }, 10s));

    // Pings, every half of WATCHDOG_USEC, all from the broker's own PID.
    const auto pings_before = ping_gaps(manager.history()).size();
    CHECK(manager.wait_for([&](const Notification&) { return ping_gaps(manager.history()).size() >= pings_before + 8; },
                           10s));
    auto gaps = ping_gaps(manager.history());
    std::sort(gaps.begin(), gaps.end());
    REQUIRE(gaps.size() >= 8);
    INFO("ping gaps from " << gaps.front().count() << " ms to " << gaps.back().count() << " ms, median "
                           << gaps[gaps.size() / 2].count() << " ms");
    CHECK(gaps.front() >= kWatchdogTimeout / 2 - 5ms);
    CHECK(gaps[gaps.size() / 2] <= kWatchdogTimeout / 2 + 50ms);
    CHECK(gaps.back() < scaled(kWatchdogTimeout));
    for (const auto& notification : manager.history()) CHECK(notification.sender == broker.pid());

    // SIGTERM: a drain begins, and says so. A second one stops at once.
    broker.signal(SIGTERM);
    const auto draining = manager.wait_for([](const Notification& n) { return n.has("STOPPING=1"); }, 10s);
    REQUIRE(draining);
    CHECK(draining->has_status("draining: 1 queue, 0 pending, 0 delayed, 1 leased, 1 worker"));
    broker.signal(SIGTERM);
    const auto stopping = manager.wait_for([](const Notification& n) { return n.has("STOPPING=1"); }, 10s);
    REQUIRE(stopping);
    CHECK(stopping->has_status("stopping now, 1 leased"));
    const auto status = broker.wait_exit(10s);
    REQUIRE(status);
    CHECK(WIFEXITED(*status));
    CHECK(WEXITSTATUS(*status) == 0);
}

TEST_CASE("a stopped broker sends no watchdog pings, and pings again once continued", "[integration][service]") {
    ScratchDir scratch("corsair-notify");
    NotifySocket manager((scratch / "notify").string());
    auto broker = start_broker(scratch, (scratch / "notify").string());
    REQUIRE(manager.wait_for([](const Notification& n) { return n.has("READY=1"); }, 10s));
    REQUIRE(manager.wait_for(is_ping, 2s));

    broker.signal(SIGSTOP);
    // A ping may have been on its way when the signal landed: take what is queued, then expect
    // silence for three watchdog timeouts, where systemd would have killed the broker.
    while (manager.receive_until(Clock::now() + 50ms)) {
    }
    const auto silence_until = Clock::now() + 3 * kWatchdogTimeout;
    CHECK_FALSE(manager.receive_until(silence_until));

    broker.signal(SIGCONT);
    CHECK(manager.wait_for(is_ping, 2s));
    broker.signal(SIGTERM);
    CHECK(broker.wait_exit(10s));
}

TEST_CASE("with WATCHDOG_PID naming another process the broker sends READY=1 and no watchdog pings",
          "[integration][service]") {
    ScratchDir scratch("corsair-notify");
    NotifySocket manager((scratch / "notify").string());
    // PID 1 is never the broker: the watchdog was meant for another process (systemd sets
    // WATCHDOG_PID so that children that inherit the environment do not ping for their parent).
    auto broker = start_broker(scratch, (scratch / "notify").string(), "1");
    REQUIRE(manager.wait_for([](const Notification& n) { return n.has("READY=1"); }, 10s));
    CHECK_FALSE(manager.wait_for(is_ping, 3 * kWatchdogTimeout));
    broker.signal(SIGTERM);
    CHECK(broker.wait_exit(10s));
    CHECK(std::none_of(manager.history().begin(), manager.history().end(), is_ping));
}
