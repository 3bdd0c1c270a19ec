// The direct transport's client (docs/protocol.md §2.1): a producer's or worker's one TCP
// connection to the broker's direct endpoint, speaking stream.hpp's framing.
#pragma once

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "corsair/protocol/stream.hpp"
#include "corsair/protocol/wire.hpp"

namespace corsair::protocol::stream {

// A producer's or worker's connection to the broker's direct endpoint, used from one thread. A
// message is sent whole or not at all. With `reconnects`, like a ZeroMQ DEALER, it connects
// again by itself when the connection breaks or was refused (at most every kReconnectInterval,
// at the next send or receive); unlike one, it queues nothing meanwhile: send() says would_block.
// Without, a broken connection stays closed (fd() -1) for the owner to replace, as the worker
// library does for each new connection (protocol.md §7).
class Client {
public:
    // Throws std::invalid_argument for a malformed endpoint. Connects at once (within
    // kConnectTimeout); whether it did, fd() says.
    Client(std::string endpoint, Role role, bool reconnects = true)
        : endpoint_(std::move(endpoint)), role_(role), reconnects_(reconnects) {
        const auto parts = split_endpoint(endpoint_);
        if (!parts) throw std::invalid_argument("'" + endpoint_ + "' is not direct://HOST:PORT");
        host_ = parts->first;
        port_ = parts->second;
        try_connect();
    }
    ~Client() { close(); }
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    // The connected socket to poll for POLLIN, or -1 while there is none.
    int fd() const noexcept { return fd_; }
    // Changes whenever fd() does, so that a poller knows to look again.
    std::uint64_t generation() const noexcept { return generation_; }
    // When the next connection attempt may be made, while fd() is -1.
    std::chrono::steady_clock::time_point reconnect_at() const noexcept { return reconnect_at_; }

    // Sends one message whole; would_block if there is no connection (one is tried when due)
    // or the broker took none of it for kSendTimeout (the connection is then dropped).
    SendStatus send(const Frames& frames) {
        if (fd_ < 0 && !try_connect()) return SendStatus::would_block;
        out_.clear();
        append_message(out_, frames);
        return write_all(out_) ? SendStatus::sent : SendStatus::would_block;
    }

    // One whole message without blocking; false if none is complete yet, or the connection broke
    // (it is then closed; fd() is -1 until the next attempt succeeds).
    bool receive(Frames& frames) {
        if (fd_ < 0 && !try_connect()) return false;
        std::string problem;
        for (;;) {
            switch (reader_.next(frames, problem)) {
                case MessageReader::Next::message:
                    return true;
                case MessageReader::Next::malformed:
                    close();
                    return false;
                case MessageReader::Next::incomplete:
                    break;
            }
            constexpr std::size_t kChunk = 64 * 1024;
            char* into = reader_.space(kChunk);
            const ssize_t got = ::recv(fd_, into, kChunk, MSG_DONTWAIT);
            if (got > 0) {
                reader_.commit(static_cast<std::size_t>(got));
                continue;
            }
            if (got < 0 && errno == EINTR) continue;
            if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return false;
            close();  // the broker closed it, or it broke
            return false;
        }
    }

    void close() noexcept {
        if (fd_ < 0) return;
        ::close(fd_);
        fd_ = -1;
        ++generation_;
        reader_ = MessageReader(kClientMaxMessageBytes);
        reconnect_at_ = std::chrono::steady_clock::now() + kReconnectInterval;
    }

private:
    bool try_connect() {
        if (fd_ >= 0) return true;
        if (has_tried_ && !reconnects_) return false;  // its one attempt was at construction
        const auto now = std::chrono::steady_clock::now();
        if (now < reconnect_at_) return false;
        has_tried_ = true;
        reconnect_at_ = now + kReconnectInterval;
        addrinfo hints{};
        hints.ai_socktype = SOCK_STREAM;
        addrinfo* found = nullptr;
        if (::getaddrinfo(host_.c_str(), port_.c_str(), &hints, &found) != 0 || found == nullptr) return false;
        int fd = -1;
        for (addrinfo* address = found; address != nullptr && fd < 0; address = address->ai_next) {
            fd = connect_one(*address);
        }
        ::freeaddrinfo(found);
        if (fd < 0) return false;
        fd_ = fd;
        ++generation_;
        if (!write_all(greeting(role_))) return false;
        return true;
    }

    // A connected, non-blocking socket with Nagle off, or -1.
    static int connect_one(const addrinfo& address) {
        const int fd = ::socket(address.ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) return -1;
        int on = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
        if (::connect(fd, address.ai_addr, address.ai_addrlen) == 0) return fd;
        if (errno == EINPROGRESS) {
            pollfd item{fd, POLLOUT, 0};
            int error = 0;
            socklen_t length = sizeof error;
            if (::poll(&item, 1, static_cast<int>(kConnectTimeout.count())) == 1 &&
                ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 && error == 0) {
                return fd;
            }
        }
        ::close(fd);
        return -1;
    }

    // Writes every byte, waiting while the broker's buffer is full; on failure the connection
    // is closed (a message cut short cannot be resumed on another).
    bool write_all(std::string_view bytes) {
        const auto deadline = std::chrono::steady_clock::now() + kSendTimeout;
        while (!bytes.empty()) {
            const ssize_t wrote = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
            if (wrote > 0) {
                bytes.remove_prefix(static_cast<std::size_t>(wrote));
                continue;
            }
            if (wrote < 0 && errno == EINTR) continue;
            const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
            if (wrote < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && left.count() > 0) {
                pollfd item{fd_, POLLOUT, 0};
                ::poll(&item, 1, static_cast<int>(left.count()));
                continue;
            }
            close();
            return false;
        }
        return true;
    }

    std::string endpoint_;
    Role role_;
    bool reconnects_;
    bool has_tried_ = false;
    std::string host_;
    std::string port_;
    int fd_ = -1;
    std::uint64_t generation_ = 0;
    std::chrono::steady_clock::time_point reconnect_at_{};
    MessageReader reader_{kClientMaxMessageBytes};
    std::string out_;
};

}  // namespace corsair::protocol::stream
