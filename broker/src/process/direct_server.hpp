// The broker's side of the direct transport (docs/protocol.md §2.1, the low-latency mode): a
// listening TCP socket and its connections, read and written by the loop's own thread, so that a
// message reaches the Scheduler without passing through a ZeroMQ I/O thread.
//
// Each connection gets a routing id no ZeroMQ peer is given (0x00 'D' and a 64-bit serial; the
// ROUTERs' own ids are 0x00 and 32 bits), so the Scheduler keeps one kind of id for both ways in.
// As over ZeroMQ, a connection that goes away is not reported: the Scheduler learns a worker is
// gone from its heartbeats, and a send to it says host_unreachable.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <spdlog/logger.h>

#include "corsair/broker/outbox.hpp"
#include "corsair/protocol/stream.hpp"

namespace corsair::broker {

struct DirectLimits {
    // Largest frame taken (as ZMQ_MAXMSGSIZE on the ROUTERs); a larger one closes the connection.
    std::size_t max_frame_bytes = 0;
    // Most connections at once; one more is closed at once, with a warning.
    std::size_t max_connections = 10'000;
    // Most bytes waiting to be written to one connection (its peer not reading); a send beyond
    // says would_block, as a ROUTER at its high-water mark does.
    std::size_t max_unsent_bytes = 256 * 1024 * 1024;
};

class DirectServer {
public:
    using Role = protocol::stream::Role;
    // A whole message from a connection: its routing id, the role its greeting announced, the
    // frames (no routing id frame) and the peer's IP.
    using OnMessage = std::function<void(const RoutingId&, Role, protocol::Frames&, std::string_view address)>;

    // Binds `endpoint` (direct://HOST:PORT, port 0 for any). Throws std::runtime_error naming
    // the flag and the endpoint.
    DirectServer(const std::string& endpoint, DirectLimits limits, std::shared_ptr<spdlog::logger> log);
    ~DirectServer();
    DirectServer(const DirectServer&) = delete;
    DirectServer& operator=(const DirectServer&) = delete;

    // As bound, with the port resolved: direct://127.0.0.1:41234.
    const std::string& endpoint() const noexcept { return endpoint_; }
    // Readable when serve() has work: a connection to accept, bytes to read, room to write.
    int fd() const noexcept { return epoll_fd_; }
    static bool is_direct_id(std::string_view routing_id) noexcept {
        return routing_id.size() == 10 && routing_id[0] == '\0' && routing_id[1] == 'D';
    }

    // Accepts, reads, and hands each whole message to `on_message`. Returns how many messages
    // were handed over. What the answers queue goes out at flush().
    std::size_t serve(const OnMessage& on_message);
    // Queues one message for the connection `routing_id` names. host_unreachable: no such
    // connection (it went away); would_block: its peer has max_unsent_bytes unread.
    protocol::SendStatus send(const RoutingId& routing_id, const protocol::Frames& frames);
    // Writes what send() queued since, as far as the connections take it now.
    void flush();

    std::size_t connections() const noexcept { return by_id_.size(); }
    // Connections closed for a bad greeting, a malformed stream or one too many, since the start.
    std::uint64_t dropped() const noexcept { return dropped_count_; }

private:
    struct Connection;

    void accept_all();
    // Reads what `connection` has (a bounded amount per turn) and hands over its whole messages.
    std::size_t read_from(Connection& connection, const OnMessage& on_message);
    bool read_greeting(Connection& connection);
    void write_to(Connection& connection);
    void watch_writable(Connection& connection, bool wants);
    // Marks it closed; it is erased at the end of serve(), so that no event still names it.
    void drop(Connection& connection, std::string_view reason);
    void erase_dropped();
    enum class DropReason : std::size_t { bad_greeting, malformed_stream };
    // Counts a dropped connection, and logs why at most once a second for each reason.
    void warn_dropped(DropReason reason, const std::string& what);

    std::string endpoint_;
    DirectLimits limits_;
    std::shared_ptr<spdlog::logger> log_;
    int listen_fd_ = -1;
    int epoll_fd_ = -1;
    std::uint64_t next_serial_ = 1;
    std::unordered_map<RoutingId, std::unique_ptr<Connection>> by_id_;
    std::vector<Connection*> unflushed_;
    std::vector<RoutingId> dropped_;
    struct DropWarnings {
        std::chrono::steady_clock::time_point next_at{};
        std::uint64_t unlogged = 0;
    };
    std::array<DropWarnings, 2> drop_warnings_{};
    std::uint64_t dropped_count_ = 0;
};

}  // namespace corsair::broker
