// One TCP connection to a peer server on loopback (Redis, beanstalkd), for their text and RESP
// protocols: writes are gathered and sent together (so a caller pipelines commands in one
// write), reads are buffered, and every blocking call is bounded by a deadline. Owned by the
// thread that made it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace corsair::bench {

// "HOST:PORT" of a peer server. Only loopback hosts (127.x.y.z): the bench sends nothing off the machine.
struct LoopbackAddress {
    std::string host;
    std::uint16_t port = 0;
};
// Parses "127.0.0.1:6379"; nullopt when it is not a numeric loopback IPv4 address and a port.
std::optional<LoopbackAddress> parse_loopback_address(std::string_view text);
std::string to_string(const LoopbackAddress& address);

class TcpConnection {
public:
    using Clock = std::chrono::steady_clock;

    // Connects (blocking, non-blocking afterwards) with TCP_NODELAY. Throws std::runtime_error
    // when the connection is refused or fails.
    explicit TcpConnection(const LoopbackAddress& address);
    ~TcpConnection();
    TcpConnection(const TcpConnection&) = delete;
    TcpConnection& operator=(const TcpConnection&) = delete;

    int fd() const noexcept { return fd_; }

    // The bytes waiting to be sent; encoders append to it. Nothing is sent until a send call.
    std::string& outgoing() noexcept { return outgoing_; }
    bool has_outgoing() const noexcept { return sent_ < outgoing_.size(); }
    // Sends what the socket takes now without blocking. Throws std::runtime_error on an error.
    void send_available();
    // Blocks until everything outgoing is sent; throws std::runtime_error on an error or at `deadline`.
    void flush(Clock::time_point deadline);

    // The bytes received and not yet consumed.
    std::string_view unread() const noexcept { return std::string_view(incoming_).substr(read_); }
    void consume(std::size_t bytes) noexcept { read_ += bytes; }
    // Reads what the socket holds now without blocking. Throws std::runtime_error when the server
    // closed the connection or on an error.
    void receive_available();
    // Blocks until at least one more byte is received; throws like receive_available, or at `deadline`.
    void receive_more(Clock::time_point deadline);

private:
    // Blocks until the socket is ready for `events` (POLLIN or POLLOUT); throws at `deadline`.
    void wait_ready(short events, Clock::time_point deadline) const;

    int fd_ = -1;
    std::string name_;  // "HOST:PORT", for errors
    std::string outgoing_;
    std::size_t sent_ = 0;
    std::string incoming_;
    std::size_t read_ = 0;
};

// One turn of a producer driving two connections (its submits and its results): sends what each
// has queued, waits until either has bytes to read or room for what is left to send, at most
// until `deadline`, and reads what came. False once `deadline` has passed.
bool exchange_both(TcpConnection& first, TcpConnection& second, TcpConnection::Clock::time_point deadline);

}  // namespace corsair::bench
