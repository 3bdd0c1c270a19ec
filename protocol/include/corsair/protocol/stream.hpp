// The direct transport (docs/protocol.md §2.1): the same messages as over ZeroMQ, framed on a
// plain TCP stream, for the low-latency mode. Over ZeroMQ each hop passes from the application
// thread to libzmq's I/O thread and back on both sides; here the application thread reads and
// writes the socket itself, so a sequential job makes four thread wake-ups instead of about a
// dozen. No CURVE: the broker refuses --direct together with CURVE keys. The client side's
// connection is stream_client.hpp.
//
// On the stream:
//   greeting (client -> broker, once): 'C' 'S' 'R' 'D', version 1, role 'P' or 'W', 0, 0
//   message (both ways):  u32 frame count (1 .. kMaxStreamFrames), then per frame a u32 length
//                         and its bytes; integers little-endian. The frames are exactly a
//                         ZeroMQ message's frames (§3), without a routing id.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "corsair/protocol/codec.hpp"
#include "corsair/protocol/limits.hpp"

namespace corsair::protocol::stream {

inline constexpr std::string_view kScheme = "direct://";
inline constexpr std::size_t kGreetingBytes = 8;
inline constexpr std::uint8_t kStreamVersion = 1;
// Signature, command, header and at most one payload per batch entry.
inline constexpr std::size_t kMaxStreamFrames = 3 + kMaxBatchEntries;
// How long a client waits for a TCP connection to be set up, and for the broker to take bytes
// it cannot take at once (its receive buffer full: it is stuck or gone).
inline constexpr std::chrono::milliseconds kConnectTimeout{1000};
inline constexpr std::chrono::milliseconds kSendTimeout{10'000};
// A client whose connection failed or broke tries again no sooner than this, like ZeroMQ's
// default ZMQ_RECONNECT_IVL.
inline constexpr std::chrono::milliseconds kReconnectInterval{100};

enum class Role : char { producer = 'P', worker = 'W' };

inline bool is_direct_endpoint(std::string_view endpoint) noexcept {
    return endpoint.substr(0, kScheme.size()) == kScheme;
}

inline std::string greeting(Role role) {
    return std::string{'C', 'S', 'R', 'D', static_cast<char>(kStreamVersion), static_cast<char>(role), '\0', '\0'};
}

// The role a greeting announces, or nullopt with `problem` saying what is wrong with it.
inline std::optional<Role> parse_greeting(std::string_view bytes, std::string& problem) {
    if (bytes.size() != kGreetingBytes || bytes.substr(0, 4) != "CSRD") {
        problem = "not a Corsair direct greeting";
        return std::nullopt;
    }
    if (static_cast<std::uint8_t>(bytes[4]) != kStreamVersion) {
        problem = "direct transport version " + std::to_string(static_cast<std::uint8_t>(bytes[4])) + " (this broker speaks 1)";
        return std::nullopt;
    }
    if (bytes[5] != 'P' && bytes[5] != 'W') {
        problem = "unknown role in the greeting (P or W)";
        return std::nullopt;
    }
    return static_cast<Role>(bytes[5]);
}

namespace detail {

// get_u32 and set_u32 are codec.hpp's, which packs a batch's sizes the same way.
inline void put_u32(std::string& out, std::uint32_t value) {
    char bytes[4];
    protocol::detail::set_u32(bytes, value);
    out.append(bytes, 4);
}

}  // namespace detail

// Appends one message's frames, framed for the stream.
inline void append_message(std::string& out, const Frames& frames) {
    std::size_t bytes = 4 + 4 * frames.size();
    for (const auto& frame : frames) bytes += frame.size();
    out.reserve(out.size() + bytes);
    detail::put_u32(out, static_cast<std::uint32_t>(frames.size()));
    for (const auto& frame : frames) {
        detail::put_u32(out, static_cast<std::uint32_t>(frame.size()));
        out.append(static_cast<const char*>(frame.data()), frame.size());
    }
}

// Gathers a stream's bytes and cuts whole messages out of them. A frame over the limit or a bad
// frame count cannot be skipped (nothing after it can be trusted to start a message): the
// reader then stays broken, and the connection is to be closed.
class MessageReader {
public:
    enum class Next { message, incomplete, malformed };

    explicit MessageReader(std::size_t max_frame_bytes) : max_frame_bytes_(max_frame_bytes) {}

    // Room for at least `bytes` more; read into it, then commit() what was read. The storage is
    // kept and reused, never filled: a read per message must not cost a memset of the chunk.
    char* space(std::size_t bytes) {
        if (begin_ == end_) {
            begin_ = end_ = 0;
            // One large message (up to the frame limit) must not stay allocated for the
            // connection's lifetime once it has been cut.
            if (storage_.size() > kKeptReadBytes) std::vector<char>(kKeptReadBytes).swap(storage_);
        }
        if (end_ + bytes > storage_.size()) {
            if (begin_ > 0) {
                std::memmove(storage_.data(), storage_.data() + begin_, end_ - begin_);
                end_ -= begin_;
                begin_ = 0;
            }
            if (end_ + bytes > storage_.size()) storage_.resize(end_ + bytes);
        }
        return storage_.data() + end_;
    }
    void commit(std::size_t bytes) noexcept { end_ += bytes; }

    // The next whole message into `frames` (replacing them). `problem` says why when malformed.
    Next next(Frames& frames, std::string& problem) {
        if (!problem_.empty()) {
            problem = problem_;
            return Next::malformed;
        }
        const std::size_t available = end_ - begin_;
        if (available < 4) return Next::incomplete;
        const char* start = storage_.data() + begin_;
        const std::uint32_t count = protocol::detail::get_u32(start);
        if (count == 0 || count > kMaxStreamFrames) {
            return fail("a message of " + std::to_string(count) + " frames (1 to " + std::to_string(kMaxStreamFrames) +
                        ")", problem);
        }
        // Check every length before copying anything, so that a message is taken whole or not at all.
        std::size_t at = 4;
        for (std::uint32_t i = 0; i < count; ++i) {
            if (available < at + 4) return Next::incomplete;
            const std::uint32_t length = protocol::detail::get_u32(start + at);
            if (length > max_frame_bytes_) {
                return fail("a frame of " + std::to_string(length) + " bytes, over the limit of " +
                            std::to_string(max_frame_bytes_), problem);
            }
            at += 4 + length;
            if (available < at) return Next::incomplete;
        }
        frames.clear();
        frames.reserve(count);
        at = 4;
        for (std::uint32_t i = 0; i < count; ++i) {
            const std::uint32_t length = protocol::detail::get_u32(start + at);
            frames.emplace_back(start + at + 4, length);
            at += 4 + length;
        }
        begin_ += at;
        return Next::message;
    }

    // Bytes received but not yet cut into a message.
    std::size_t buffered() const noexcept { return end_ - begin_; }

private:
    static constexpr std::size_t kKeptReadBytes = 1024 * 1024;

    Next fail(std::string text, std::string& problem) {
        problem_ = std::move(text);
        problem = problem_;
        return Next::malformed;
    }

    std::size_t max_frame_bytes_;
    std::vector<char> storage_;
    std::size_t begin_ = 0;  // the first byte not yet cut into a message
    std::size_t end_ = 0;    // one past the last byte received
    std::string problem_;
};

// "direct://HOST:PORT" (HOST may be [V6]) split into host and port; nullopt if malformed.
inline std::optional<std::pair<std::string, std::string>> split_endpoint(std::string_view endpoint) {
    if (!is_direct_endpoint(endpoint)) return std::nullopt;
    const std::string_view rest = endpoint.substr(kScheme.size());
    const auto colon = rest.rfind(':');
    if (colon == std::string_view::npos || colon == 0 || colon + 1 == rest.size()) return std::nullopt;
    std::string_view host = rest.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    return std::make_pair(std::string(host), std::string(rest.substr(colon + 1)));
}

}  // namespace corsair::protocol::stream
