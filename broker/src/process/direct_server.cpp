#include "direct_server.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>

namespace corsair::broker {

namespace p = corsair::protocol;
namespace stream = corsair::protocol::stream;

namespace {

// Bytes read from one connection per serve(), so that one fast peer cannot starve the others
// or the ZeroMQ sockets.
constexpr std::size_t kReadChunkBytes = 64 * 1024;
constexpr int kReadChunksPerTurn = 4;
constexpr int kMaxEvents = 256;

std::string address_text(const sockaddr_storage& address) {
    char text[INET6_ADDRSTRLEN] = {};
    if (address.ss_family == AF_INET) {
        ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(address).sin_addr, text, sizeof text);
    } else if (address.ss_family == AF_INET6) {
        ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6&>(address).sin6_addr, text, sizeof text);
    }
    return text;
}

int port_of(const sockaddr_storage& address) {
    if (address.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in&>(address).sin_port);
    return ntohs(reinterpret_cast<const sockaddr_in6&>(address).sin6_port);
}

}  // namespace

struct DirectServer::Connection {
    int fd = -1;
    RoutingId id;
    std::string address;
    std::optional<Role> role;  // once its greeting is read
    std::string greeting;
    p::stream::MessageReader reader;
    std::string unsent;
    std::size_t unsent_begin = 0;
    bool is_unflushed = false;
    bool watches_writable = false;
    bool is_dropped = false;

    explicit Connection(std::size_t max_frame_bytes) : reader(max_frame_bytes) {}
    std::size_t unsent_bytes() const noexcept { return unsent.size() - unsent_begin; }
};

DirectServer::DirectServer(const std::string& endpoint, DirectLimits limits, std::shared_ptr<spdlog::logger> log)
    : limits_(limits), log_(std::move(log)) {
    const auto fail = [&](const std::string& why) {
        throw std::runtime_error("--direct " + endpoint + ": " + why);
    };
    const auto parts = stream::split_endpoint(endpoint);
    if (!parts) fail("write direct://HOST:PORT, e.g. direct://127.0.0.1:5557");
    const std::string host = parts->first == "*" ? "0.0.0.0" : parts->first;
    const std::string port = parts->second == "*" ? "0" : parts->second;
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    addrinfo* found = nullptr;
    if (const int status = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found); status != 0) {
        fail(std::string("cannot resolve: ") + ::gai_strerror(status));
    }
    std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> addresses(found, ::freeaddrinfo);
    listen_fd_ = ::socket(found->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (listen_fd_ < 0) fail(std::strerror(errno));
    int on = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if (::bind(listen_fd_, found->ai_addr, found->ai_addrlen) != 0) {
        std::string why = std::strerror(errno);
        if (errno == EADDRINUSE) why += " (another broker or program is bound to it)";
        ::close(listen_fd_);
        fail(why);
    }
    if (::listen(listen_fd_, 128) != 0) {
        ::close(listen_fd_);
        fail(std::strerror(errno));
    }
    sockaddr_storage bound{};
    socklen_t length = sizeof bound;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&bound), &length);
    const std::string bound_host = address_text(bound);
    endpoint_ = std::string(stream::kScheme) + (bound.ss_family == AF_INET6 ? "[" + bound_host + "]" : bound_host) +
                ":" + std::to_string(port_of(bound));
    epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd_ < 0) {
        ::close(listen_fd_);
        fail(std::string("epoll: ") + std::strerror(errno));
    }
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.ptr = nullptr;  // the listener
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &event);
}

void DirectServer::warn_dropped(DropReason reason, const std::string& what) {
    // A client that keeps reconnecting (a ZeroMQ DEALER every 100 ms) must not flood the log:
    // at most one warning a second for each reason, with the count of those left out.
    ++dropped_count_;
    DropWarnings& warnings = drop_warnings_[static_cast<std::size_t>(reason)];
    const auto now = std::chrono::steady_clock::now();
    if (now < warnings.next_at) {
        ++warnings.unlogged;
        return;
    }
    warnings.next_at = now + std::chrono::seconds(1);
    if (warnings.unlogged > 0) {
        log_->warn("{} (and {} more such connections dropped since the last warning)", what, warnings.unlogged);
    } else {
        log_->warn("{}", what);
    }
    warnings.unlogged = 0;
}

DirectServer::~DirectServer() {
    for (auto& [id, connection] : by_id_) ::close(connection->fd);
    ::close(epoll_fd_);
    ::close(listen_fd_);
}

std::size_t DirectServer::serve(const OnMessage& on_message) {
    epoll_event events[kMaxEvents];
    const int count = ::epoll_wait(epoll_fd_, events, kMaxEvents, 0);
    std::size_t handed = 0;
    for (int i = 0; i < count; ++i) {
        auto* connection = static_cast<Connection*>(events[i].data.ptr);
        if (connection == nullptr) {
            accept_all();
            continue;
        }
        if (connection->is_dropped) continue;
        if (events[i].events & EPOLLOUT) write_to(*connection);
        if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) handed += read_from(*connection, on_message);
    }
    erase_dropped();
    return handed;
}

void DirectServer::accept_all() {
    for (;;) {
        sockaddr_storage address{};
        socklen_t length = sizeof address;
        const int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length,
                                 SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                log_->warn("direct accept failed endpoint={} error={}", endpoint_, std::strerror(errno));
            }
            return;
        }
        if (by_id_.size() >= limits_.max_connections) {
            ++dropped_count_;
            log_->warn("direct connection refused endpoint={} peer={} reason=too_many_connections limit={}", endpoint_,
                       address_text(address), limits_.max_connections);
            ::close(fd);
            continue;
        }
        int on = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
        auto connection = std::make_unique<Connection>(limits_.max_frame_bytes);
        connection->fd = fd;
        connection->address = address_text(address);
        const std::uint64_t serial = next_serial_++;
        connection->id = std::string{'\0', 'D'};
        for (int shift = 56; shift >= 0; shift -= 8) connection->id.push_back(static_cast<char>(serial >> shift));
        epoll_event event{};
        event.events = EPOLLIN;
        event.data.ptr = connection.get();
        ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event);
        log_->debug("direct connection peer={} endpoint={}", connection->address, endpoint_);
        by_id_.emplace(connection->id, std::move(connection));
    }
}

bool DirectServer::read_greeting(Connection& connection) {
    char bytes[stream::kGreetingBytes];
    const std::size_t wanted = stream::kGreetingBytes - connection.greeting.size();
    const ssize_t got = ::recv(connection.fd, bytes, wanted, MSG_DONTWAIT);
    if (got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        drop(connection, "closed before its greeting");
        return false;
    }
    if (got < 0) return false;
    connection.greeting.append(bytes, static_cast<std::size_t>(got));
    if (connection.greeting.size() < stream::kGreetingBytes) return false;
    std::string problem;
    connection.role = stream::parse_greeting(connection.greeting, problem);
    if (!connection.role) {
        // ZMTP's greeting starts 0xFF and its tenth byte is 0x7F: a DEALER given this endpoint.
        const bool is_zeromq = static_cast<unsigned char>(connection.greeting[0]) == 0xFF;
        warn_dropped(DropReason::bad_greeting, "direct connection dropped peer=" + connection.address +
                     " endpoint=" + endpoint_ + " reason=bad_greeting detail=\"" + problem +
                     (is_zeromq ? "; a ZeroMQ peer: give it the broker's tcp:// endpoint, or direct:// to this one"
                                : "") +
                     "\"");
        drop(connection, "");
        return false;
    }
    return true;
}

std::size_t DirectServer::read_from(Connection& connection, const OnMessage& on_message) {
    if (!connection.role && !read_greeting(connection)) return 0;
    bool is_closed_by_peer = false;
    for (int chunk = 0; chunk < kReadChunksPerTurn; ++chunk) {
        char* into = connection.reader.space(kReadChunkBytes);
        const ssize_t got = ::recv(connection.fd, into, kReadChunkBytes, MSG_DONTWAIT);
        if (got > 0) {
            connection.reader.commit(static_cast<std::size_t>(got));
            if (static_cast<std::size_t>(got) < kReadChunkBytes) break;  // drained: spare a recv that says EAGAIN
            continue;
        }
        if (got < 0 && errno == EINTR) continue;
        if (got == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) is_closed_by_peer = true;
        break;
    }
    std::size_t handed = 0;
    p::Frames frames;
    std::string problem;
    for (;;) {
        const auto next = connection.reader.next(frames, problem);
        if (next == p::stream::MessageReader::Next::incomplete) break;
        if (next == p::stream::MessageReader::Next::malformed) {
            warn_dropped(DropReason::malformed_stream, "direct connection dropped peer=" + connection.address +
                         " endpoint=" + endpoint_ + " reason=malformed_stream detail=\"" + problem + "\"");
            drop(connection, "");
            return handed;
        }
        ++handed;
        on_message(connection.id, *connection.role, frames, connection.address);
        if (connection.is_dropped) return handed;
    }
    if (is_closed_by_peer) drop(connection, "closed by the peer");
    return handed;
}

p::SendStatus DirectServer::send(const RoutingId& routing_id, const p::Frames& frames) {
    const auto found = by_id_.find(routing_id);
    if (found == by_id_.end() || found->second->is_dropped) return p::SendStatus::host_unreachable;
    Connection& connection = *found->second;
    if (connection.unsent_bytes() >= limits_.max_unsent_bytes) return p::SendStatus::would_block;
    // Drop what was written already once it is most of the buffer, so that a connection always
    // a little behind does not keep every byte ever sent to it.
    if (connection.unsent_begin > 0 && connection.unsent_begin >= connection.unsent.size() / 2) {
        connection.unsent.erase(0, connection.unsent_begin);
        connection.unsent_begin = 0;
    }
    p::stream::append_message(connection.unsent, frames);
    if (!connection.is_unflushed) {
        connection.is_unflushed = true;
        unflushed_.push_back(&connection);
    }
    return p::SendStatus::sent;
}

void DirectServer::flush() {
    // write_to() may drop a connection: it stays in by_id_ (marked) until serve() erases it.
    for (Connection* connection : unflushed_) {
        connection->is_unflushed = false;
        if (!connection->is_dropped) write_to(*connection);
    }
    unflushed_.clear();
}

void DirectServer::write_to(Connection& connection) {
    while (connection.unsent_bytes() > 0) {
        const ssize_t wrote = ::send(connection.fd, connection.unsent.data() + connection.unsent_begin,
                                     connection.unsent_bytes(), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (wrote > 0) {
            connection.unsent_begin += static_cast<std::size_t>(wrote);
            continue;
        }
        if (wrote < 0 && errno == EINTR) continue;
        if (wrote < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            watch_writable(connection, true);
            return;
        }
        drop(connection, "broke while written to");
        return;
    }
    connection.unsent.clear();
    connection.unsent_begin = 0;
    watch_writable(connection, false);
}

void DirectServer::watch_writable(Connection& connection, bool wants) {
    if (connection.watches_writable == wants) return;
    connection.watches_writable = wants;
    epoll_event event{};
    event.events = EPOLLIN | (wants ? EPOLLOUT : 0U);
    event.data.ptr = &connection;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, connection.fd, &event);
}

void DirectServer::drop(Connection& connection, std::string_view reason) {
    if (connection.is_dropped) return;
    connection.is_dropped = true;
    if (!reason.empty()) {
        log_->debug("direct connection closed peer={} endpoint={} reason=\"{}\"", connection.address, endpoint_, reason);
    }
    // What was answered before the stream went bad (an ERROR to its last well-framed message)
    // still goes out if the socket takes it now; nothing waits for it.
    if (connection.unsent_bytes() > 0) {
        [[maybe_unused]] const auto wrote = ::send(connection.fd, connection.unsent.data() + connection.unsent_begin,
                                                   connection.unsent_bytes(), MSG_NOSIGNAL | MSG_DONTWAIT);
    }
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, connection.fd, nullptr);
    ::close(connection.fd);
    connection.fd = -1;
    dropped_.push_back(connection.id);
}

void DirectServer::erase_dropped() {
    if (dropped_.empty()) return;
    std::erase_if(unflushed_, [](const Connection* connection) { return connection->is_dropped; });
    for (const auto& id : dropped_) by_id_.erase(id);
    dropped_.clear();
}

}  // namespace corsair::broker
