// beanstalkd's text protocol (its doc/protocol.txt), as much of it as the beanstalkd peer's
// clients need: a reply is one CRLF-terminated line, followed by a body for RESERVED and OK.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "tcp_connection.hpp"

namespace corsair::bench {

struct BeanstalkdReply {
    std::string line;  // without its CRLF, e.g. "RESERVED 7 64", "INSERTED 7", "DELETED"
    std::string body;  // the job's bytes of RESERVED, the YAML of OK; empty otherwise
    // Whether the line starts with `word` followed by a space or nothing.
    bool is(std::string_view word) const;
    // The reply's numeric argument `index` (RESERVED <id> <bytes>: 0 is the id); throws
    // std::runtime_error when it is missing or not a number.
    std::uint64_t number(std::size_t index) const;
};

// Appends "put <pri> <delay> <ttr> <bytes>\r\n<data>\r\n" to `out`: priority 1024 (the
// protocol's customary default), no delay, 60 s to run.
void append_beanstalkd_put(std::string& out, std::string_view data);

// Parses one reply from the front of `connection.unread()` and consumes it; nullopt (nothing
// consumed) while the line or its body is incomplete.
std::optional<BeanstalkdReply> take_beanstalkd_reply(TcpConnection& connection);
// Blocks until one reply is complete, then takes it. Throws std::runtime_error at `deadline` or
// unless the reply is `expected` (its first word).
BeanstalkdReply read_beanstalkd_reply(TcpConnection& connection, std::string_view expected,
                                      TcpConnection::Clock::time_point deadline);

}  // namespace corsair::bench
