#include "peer_cluster.hpp"

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "deadline.hpp"

namespace corsair::bench {

namespace {

constexpr int kStartAttempts = 5;
constexpr auto kStartTimeout = std::chrono::seconds(10);
constexpr auto kConnectTimeout = std::chrono::seconds(10);
constexpr const char* kLoopbackHost = "127.0.0.1";

}  // namespace

std::uint16_t free_loopback_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = 0;
    ::inet_pton(AF_INET, kLoopbackHost, &address.sin_addr);
    socklen_t length = sizeof address;
    const bool is_bound = ::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0 &&
                          ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
    const int error = errno;
    ::close(fd);
    if (!is_bound) throw std::runtime_error(std::string("bind 127.0.0.1:0: ") + std::strerror(error));
    return ntohs(address.sin_port);
}

PeerCluster::PeerCluster(Peer peer, const std::string& server_program, const std::string& self_bin, int workers,
                         const std::string& folder) {
    bool is_started = false;
    for (int attempt = 1; attempt <= kStartAttempts && !is_started; ++attempt) {
        address_ = {kLoopbackHost, free_loopback_port()};
        is_started = start_server(peer, server_program, folder);
    }
    if (!is_started) {
        throw std::runtime_error(std::string(server_program_name(peer)) + " did not start on a free port in " +
                                 std::to_string(kStartAttempts) + " attempts; see " + folder);
    }
    const std::string address = to_string(address_);
    for (int i = 0; i < workers; ++i) {
        workers_.push_back(std::make_unique<test::ChildProcess>(
            std::vector<std::string>{self_bin, std::string(worker_flag(peer)), address}, std::vector<std::string>{},
            folder + "/" + std::string(to_string(peer)) + "-worker-" + std::to_string(i) + ".log"));
    }
    for (auto& worker : workers_) {
        if (!worker->wait_for_line("connected", kConnectTimeout)) {
            throw std::runtime_error(std::string("a ") + std::string(to_string(peer)) +
                                     " worker did not connect within 10 s; see " + folder);
        }
    }
}

bool PeerCluster::start_server(Peer peer, const std::string& server_program, const std::string& folder) {
    server_ = std::make_unique<test::ChildProcess>(server_command(peer, server_program, address_, folder),
                                                   std::vector<std::string>{},
                                                   folder + "/" + std::string(server_program_name(peer)) + ".log",
                                                   test::ChildProcess::Stdout::discarded);
    bool has_exited = false;
    bool is_ours = false;
    const bool answered = test::wait_until(
        [&] {
            if (!server_->is_running()) {
                has_exited = true;
                return true;
            }
            try {
                is_ours = server_is_process(peer, address_, server_->pid());
                return true;
            } catch (const std::runtime_error&) {
                return false;  // not listening yet
            }
        },
        kStartTimeout);
    if (!answered) {
        throw std::runtime_error(std::string(server_program_name(peer)) + " did not answer on " + to_string(address_) +
                                 " within 10 s; see " + folder);
    }
    if (has_exited || !is_ours) {
        server_->kill_and_reap();
        return false;
    }
    return true;
}

PeerCluster::~PeerCluster() {
    for (auto& worker : workers_) worker->kill_and_reap();
    if (server_) server_->kill_and_reap();
}

CpuSeconds PeerCluster::server_cpu() const { return cpu_time_of({server_->pid()}); }

CpuSeconds PeerCluster::workers_cpu() const {
    std::vector<pid_t> pids;
    for (const auto& worker : workers_) pids.push_back(worker->pid());
    return cpu_time_of(pids);
}

}  // namespace corsair::bench
