#include "resp_reply.hpp"

#include <charconv>
#include <stdexcept>

namespace corsair::bench {

namespace {

// Parses the reply starting at `at`; on success moves `at` past it. nullopt while incomplete.
std::optional<RespReply> parse(std::string_view bytes, std::size_t& at) {
    const auto line_end = bytes.find("\r\n", at);
    if (line_end == std::string_view::npos) return std::nullopt;
    if (line_end == at) throw std::runtime_error("redis: empty reply line");
    const char type = bytes[at];
    const std::string_view line = bytes.substr(at + 1, line_end - at - 1);
    std::size_t next = line_end + 2;
    RespReply reply;
    auto number = [&line]() {
        std::int64_t value = 0;
        const auto [end, error] = std::from_chars(line.data(), line.data() + line.size(), value);
        if (error != std::errc() || end != line.data() + line.size()) {
            throw std::runtime_error("redis: not a number: " + std::string(line));
        }
        return value;
    };
    switch (type) {
        case '+':
            reply.kind = RespReply::Kind::simple_string;
            reply.text = line;
            break;
        case '-':
            reply.kind = RespReply::Kind::error;
            reply.text = line;
            break;
        case ':':
            reply.kind = RespReply::Kind::integer;
            reply.integer = number();
            break;
        case '$': {
            reply.kind = RespReply::Kind::bulk_string;
            const auto length = number();
            if (length < 0) {
                reply.is_null = true;
                break;
            }
            const auto size = static_cast<std::size_t>(length);
            if (bytes.size() < next + size + 2) return std::nullopt;
            reply.text = bytes.substr(next, size);
            next += size + 2;
            break;
        }
        case '*': {
            reply.kind = RespReply::Kind::array;
            const auto count = number();
            if (count < 0) {
                reply.is_null = true;
                break;
            }
            reply.elements.reserve(static_cast<std::size_t>(count));
            for (std::int64_t i = 0; i < count; ++i) {
                auto element = parse(bytes, next);
                if (!element) return std::nullopt;
                reply.elements.push_back(std::move(*element));
            }
            break;
        }
        default:
            throw std::runtime_error(std::string("redis: unknown reply type '") + type + "'");
    }
    at = next;
    return reply;
}

}  // namespace

void append_resp_command(std::string& out, std::initializer_list<std::string_view> arguments) {
    out += '*';
    out += std::to_string(arguments.size());
    out += "\r\n";
    for (const auto argument : arguments) {
        out += '$';
        out += std::to_string(argument.size());
        out += "\r\n";
        out += argument;
        out += "\r\n";
    }
}

std::optional<RespReply> take_resp_reply(TcpConnection& connection) {
    std::size_t at = 0;
    auto reply = parse(connection.unread(), at);
    if (reply) connection.consume(at);
    return reply;
}

RespReply read_resp_reply(TcpConnection& connection, TcpConnection::Clock::time_point deadline) {
    for (;;) {
        if (auto reply = take_resp_reply(connection)) {
            if (reply->kind == RespReply::Kind::error) throw std::runtime_error("redis: " + reply->text);
            return std::move(*reply);
        }
        connection.receive_more(deadline);
    }
}

}  // namespace corsair::bench
