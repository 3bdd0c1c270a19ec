// One peer under test: a fresh server (redis-server or beanstalkd) on a free loopback port, with
// its own folder, and N worker processes (this binary re-executed as the peer's worker). Owned by
// the suite's thread; every process is killed by PID and reaped when the cluster goes away.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "child_process.hpp"  // the harness, tests/support
#include "peer.hpp"
#include "process_usage.hpp"
#include "tcp_connection.hpp"

namespace corsair::bench {

class PeerCluster {
public:
    // Starts the server in `folder` and blocks (10 s at most) until it answers as itself. These
    // servers cannot bind port 0 and report it, so the port is one found free just before; if
    // the server exits at start (the port was taken meanwhile) or another process answers, it
    // retries on a new port, 5 times at most. Then starts `workers` workers and blocks (10 s at
    // most each) until each has said it is connected. Throws std::runtime_error on failure.
    PeerCluster(Peer peer, const std::string& server_program, const std::string& self_bin, int workers,
                const std::string& folder);
    ~PeerCluster();
    PeerCluster(const PeerCluster&) = delete;
    PeerCluster& operator=(const PeerCluster&) = delete;

    const LoopbackAddress& address() const noexcept { return address_; }
    CpuSeconds server_cpu() const;
    CpuSeconds workers_cpu() const;

private:
    // Starts the server on `address_` and waits until it answers; false if it exited at start
    // or is not the process answering.
    bool start_server(Peer peer, const std::string& server_program, const std::string& folder);

    LoopbackAddress address_;
    std::unique_ptr<test::ChildProcess> server_;
    std::vector<std::unique_ptr<test::ChildProcess>> workers_;
};

// A loopback port nobody listens on now: bound with port 0, read back and closed. Throws
// std::runtime_error if the bind fails.
std::uint16_t free_loopback_port();

}  // namespace corsair::bench
