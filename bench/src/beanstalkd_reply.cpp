#include "beanstalkd_reply.hpp"

#include <algorithm>
#include <charconv>
#include <stdexcept>

namespace corsair::bench {

bool BeanstalkdReply::is(std::string_view word) const {
    return line.compare(0, word.size(), word) == 0 && (line.size() == word.size() || line[word.size()] == ' ');
}

std::uint64_t BeanstalkdReply::number(std::size_t index) const {
    std::size_t start = line.find(' ');
    for (std::size_t i = 0; i < index && start != std::string::npos; ++i) start = line.find(' ', start + 1);
    if (start == std::string::npos) throw std::runtime_error("beanstalkd: no argument " + std::to_string(index) + " in '" + line + "'");
    const auto end = std::min(line.find(' ', start + 1), line.size());
    std::uint64_t value = 0;
    const auto [stop, error] = std::from_chars(line.data() + start + 1, line.data() + end, value);
    if (error != std::errc() || stop != line.data() + end) {
        throw std::runtime_error("beanstalkd: not a number in '" + line + "'");
    }
    return value;
}

void append_beanstalkd_put(std::string& out, std::string_view data) {
    out += "put 1024 0 60 ";
    out += std::to_string(data.size());
    out += "\r\n";
    out += data;
    out += "\r\n";
}

std::optional<BeanstalkdReply> take_beanstalkd_reply(TcpConnection& connection) {
    const std::string_view bytes = connection.unread();
    const auto line_end = bytes.find("\r\n");
    if (line_end == std::string_view::npos) return std::nullopt;
    BeanstalkdReply reply{std::string(bytes.substr(0, line_end)), {}};
    std::size_t used = line_end + 2;
    // protocol.txt: RESERVED <id> <bytes> and OK <bytes> are followed by <bytes> of data and CRLF.
    if (reply.is("RESERVED") || reply.is("OK")) {
        const std::size_t size = reply.number(reply.is("OK") ? 0 : 1);
        if (bytes.size() < used + size + 2) return std::nullopt;
        reply.body = bytes.substr(used, size);
        used += size + 2;
    }
    connection.consume(used);
    return reply;
}

BeanstalkdReply read_beanstalkd_reply(TcpConnection& connection, std::string_view expected,
                                      TcpConnection::Clock::time_point deadline) {
    for (;;) {
        if (auto reply = take_beanstalkd_reply(connection)) {
            if (!reply->is(expected)) {
                throw std::runtime_error("beanstalkd: expected " + std::string(expected) + ", got '" + reply->line + "'");
            }
            return std::move(*reply);
        }
        connection.receive_more(deadline);
    }
}

}  // namespace corsair::bench
