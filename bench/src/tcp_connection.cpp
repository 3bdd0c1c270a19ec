#include "tcp_connection.hpp"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <stdexcept>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace corsair::bench {

namespace {

// Received bytes already consumed are dropped once they pass this, so the buffer stays small.
constexpr std::size_t kCompactAfterBytes = 64 * 1024;
constexpr std::size_t kReadChunkBytes = 64 * 1024;

}  // namespace

std::optional<LoopbackAddress> parse_loopback_address(std::string_view text) {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    LoopbackAddress address{std::string(text.substr(0, colon)), 0};
    const auto port_text = text.substr(colon + 1);
    unsigned port = 0;
    const auto [end, error] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (error != std::errc() || end != port_text.data() + port_text.size() || port == 0 || port > 65535) {
        return std::nullopt;
    }
    address.port = static_cast<std::uint16_t>(port);
    in_addr ip{};
    if (inet_pton(AF_INET, address.host.c_str(), &ip) != 1 || (ntohl(ip.s_addr) >> 24) != 127) return std::nullopt;
    return address;
}

std::string to_string(const LoopbackAddress& address) { return address.host + ":" + std::to_string(address.port); }

TcpConnection::TcpConnection(const LoopbackAddress& address) : name_(to_string(address)) {
    sockaddr_in peer{};
    peer.sin_family = AF_INET;
    peer.sin_port = htons(address.port);
    if (inet_pton(AF_INET, address.host.c_str(), &peer.sin_addr) != 1) {
        throw std::runtime_error("not an IPv4 address: " + address.host);
    }
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    // Connecting to loopback completes or is refused at once, so the blocking connect is bounded.
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&peer), sizeof peer) != 0) {
        const int error = errno;
        ::close(fd_);
        fd_ = -1;
        throw std::runtime_error("connect to " + name_ + ": " + std::strerror(error));
    }
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK);
}

TcpConnection::~TcpConnection() {
    if (fd_ >= 0) ::close(fd_);
}

void TcpConnection::send_available() {
    while (sent_ < outgoing_.size()) {
        const ssize_t written = ::send(fd_, outgoing_.data() + sent_, outgoing_.size() - sent_, MSG_NOSIGNAL);
        if (written < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return;
            throw std::runtime_error("send to " + name_ + ": " + std::strerror(errno));
        }
        sent_ += static_cast<std::size_t>(written);
    }
    outgoing_.clear();
    sent_ = 0;
}

void TcpConnection::flush(Clock::time_point deadline) {
    for (;;) {
        send_available();
        if (!has_outgoing()) return;
        wait_ready(POLLOUT, deadline);
    }
}

void TcpConnection::receive_available() {
    if (read_ >= kCompactAfterBytes || read_ == incoming_.size()) {
        incoming_.erase(0, read_);
        read_ = 0;
    }
    for (;;) {
        const std::size_t old_size = incoming_.size();
        incoming_.resize(old_size + kReadChunkBytes);
        const ssize_t got = ::recv(fd_, incoming_.data() + old_size, kReadChunkBytes, 0);
        incoming_.resize(old_size + (got > 0 ? static_cast<std::size_t>(got) : 0));
        if (got > 0) {
            if (static_cast<std::size_t>(got) < kReadChunkBytes) return;
            continue;
        }
        if (got == 0) throw std::runtime_error(name_ + " closed the connection");
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        throw std::runtime_error("recv from " + name_ + ": " + std::strerror(errno));
    }
}

void TcpConnection::receive_more(Clock::time_point deadline) {
    const std::size_t before = unread().size();
    while (unread().size() == before) {
        wait_ready(POLLIN, deadline);
        receive_available();
    }
}

void TcpConnection::wait_ready(short events, Clock::time_point deadline) const {
    for (;;) {
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left <= 0) throw std::runtime_error("timed out waiting for " + name_);
        pollfd item{fd_, events, 0};
        const int ready = ::poll(&item, 1, static_cast<int>(left));
        if (ready > 0) return;
        if (ready < 0 && errno != EINTR) throw std::runtime_error(std::string("poll: ") + std::strerror(errno));
    }
}

bool exchange_both(TcpConnection& first, TcpConnection& second, TcpConnection::Clock::time_point deadline) {
    first.send_available();
    second.send_available();
    auto events_for = [](const TcpConnection& connection) {
        return static_cast<short>(POLLIN | (connection.has_outgoing() ? POLLOUT : 0));
    };
    pollfd items[2] = {{first.fd(), events_for(first), 0}, {second.fd(), events_for(second), 0}};
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - TcpConnection::Clock::now()).count();
    if (left <= 0) return false;
    if (::poll(items, 2, static_cast<int>(left)) <= 0) return true;
    if (items[0].revents & (POLLIN | POLLERR | POLLHUP)) first.receive_available();
    if (items[1].revents & (POLLIN | POLLERR | POLLHUP)) second.receive_available();
    return true;
}

}  // namespace corsair::bench
