// Redis's wire protocol (RESP2), as much of it as the Redis peer's clients need: commands are
// encoded as arrays of bulk strings, replies are parsed from a connection's received bytes.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tcp_connection.hpp"

namespace corsair::bench {

// One parsed reply. Bulk and simple strings and errors keep their text; a null bulk string or
// array (a timed-out BRPOP) is `is_null`.
struct RespReply {
    enum class Kind { simple_string, error, integer, bulk_string, array };
    Kind kind = Kind::simple_string;
    bool is_null = false;
    std::string text;
    std::int64_t integer = 0;
    std::vector<RespReply> elements;
};

// Appends `arguments` to `out` as one command (an array of bulk strings).
void append_resp_command(std::string& out, std::initializer_list<std::string_view> arguments);

// Parses one reply from the front of `connection.unread()` and consumes it; nullopt (nothing
// consumed) while the reply is incomplete. Throws std::runtime_error on bytes that are not RESP.
std::optional<RespReply> take_resp_reply(TcpConnection& connection);
// Blocks until one reply is complete, then takes it. Throws std::runtime_error at `deadline`, on
// an error reply, or like take_resp_reply.
RespReply read_resp_reply(TcpConnection& connection, TcpConnection::Clock::time_point deadline);

}  // namespace corsair::bench
