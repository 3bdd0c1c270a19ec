#include "tcp_relay.hpp"

#include <cerrno>
#include <fcntl.h>
#include <stdexcept>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace corsair::test {

namespace {

sockaddr_in loopback(std::uint16_t port) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return address;
}

// A relayed connection: the client's socket and ours to the target.
struct Pair {
    int client;
    int target;
};

}  // namespace

std::uint16_t port_of(const std::string& endpoint) {
    return static_cast<std::uint16_t>(std::stoi(endpoint.substr(endpoint.rfind(':') + 1)));
}

TcpRelay::TcpRelay(std::uint16_t target_port) : target_port_(target_port) {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    auto address = loopback(0);
    if (listener_ < 0 || ::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(listener_, 16) != 0 || ::pipe2(stop_pipe_, O_CLOEXEC) != 0) {
        throw std::runtime_error("tcp relay: cannot listen");
    }
    socklen_t length = sizeof address;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread(&TcpRelay::run, this);
}

TcpRelay::~TcpRelay() {
    const char stop = 's';
    (void)!::write(stop_pipe_[1], &stop, 1);
    thread_.join();
    for (int fd : {listener_, stop_pipe_[0], stop_pipe_[1]}) ::close(fd);
}

std::string TcpRelay::endpoint() const { return "tcp://127.0.0.1:" + std::to_string(port_); }

std::string TcpRelay::captured() const {
    std::lock_guard lock(mutex_);
    return captured_;
}

void TcpRelay::run() {
    std::vector<Pair> pairs;
    char buffer[65536];
    for (;;) {
        std::vector<pollfd> fds{{stop_pipe_[0], POLLIN, 0}, {listener_, POLLIN, 0}};
        for (const auto& pair : pairs) {
            fds.push_back({pair.client, POLLIN, 0});
            fds.push_back({pair.target, POLLIN, 0});
        }
        if (::poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR) break;
        if (fds[0].revents != 0) break;
        const std::size_t polled_pairs = pairs.size();
        if (fds[1].revents & POLLIN) {
            const int client = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
            const int target = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            auto address = loopback(target_port_);
            if (client >= 0 && target >= 0 &&
                ::connect(target, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
                pairs.push_back({client, target});
            } else {
                if (client >= 0) ::close(client);
                if (target >= 0) ::close(target);
            }
        }
        std::vector<Pair> open;
        for (std::size_t i = 0; i < pairs.size(); ++i) {
            bool is_open = true;
            for (int side = 0; side < 2 && is_open; ++side) {
                // A pair accepted in this turn was not polled yet: its fds are not in `fds`.
                if (i >= polled_pairs) break;
                const pollfd& polled = fds[2 + 2 * i + side];
                if (polled.revents == 0) continue;
                const int from = side == 0 ? pairs[i].client : pairs[i].target;
                const int to = side == 0 ? pairs[i].target : pairs[i].client;
                const ssize_t n = ::read(from, buffer, sizeof buffer);
                if (n <= 0) {
                    is_open = false;
                    break;
                }
                {
                    std::lock_guard lock(mutex_);
                    captured_.append(buffer, static_cast<std::size_t>(n));
                }
                for (ssize_t sent = 0; sent < n;) {
                    const ssize_t w = ::send(to, buffer + sent, static_cast<std::size_t>(n - sent), MSG_NOSIGNAL);
                    if (w <= 0) {
                        is_open = false;
                        break;
                    }
                    sent += w;
                }
            }
            if (is_open) {
                open.push_back(pairs[i]);
            } else {
                ::close(pairs[i].client);
                ::close(pairs[i].target);
            }
        }
        pairs = std::move(open);
    }
    for (const auto& pair : pairs) {
        ::close(pair.client);
        ::close(pair.target);
    }
}

}  // namespace corsair::test
