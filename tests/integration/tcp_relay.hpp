// A TCP relay on 127.0.0.1 that forwards every connection it accepts to a target port and keeps
// a copy of every byte that crossed it either way: what a packet capture of that hop would show.
// The CURVE tests read it to prove that payloads never cross the wire in clear. One thread of its
// own, stopped and joined when the relay goes away.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace corsair::test {

class TcpRelay {
public:
    // Listens on an ephemeral loopback port and forwards to 127.0.0.1:`target_port`.
    explicit TcpRelay(std::uint16_t target_port);
    ~TcpRelay();
    TcpRelay(const TcpRelay&) = delete;
    TcpRelay& operator=(const TcpRelay&) = delete;

    // tcp://127.0.0.1:PORT of the relay, to give to a client instead of the broker's endpoint.
    std::string endpoint() const;
    // Every byte relayed so far, both directions, in the order read.
    std::string captured() const;

private:
    void run();

    std::uint16_t target_port_;
    int listener_ = -1;
    std::uint16_t port_ = 0;
    int stop_pipe_[2] = {-1, -1};
    mutable std::mutex mutex_;
    std::string captured_;
    std::thread thread_;
};

// The port of a tcp://HOST:PORT endpoint.
std::uint16_t port_of(const std::string& endpoint);

}  // namespace corsair::test
