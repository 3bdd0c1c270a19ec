// A plain TCP connection to a direct:// endpoint, for tests that send the bytes no client would
// (a wrong greeting, a malformed stream) and watch what the broker does with them.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include <corsair/protocol/stream.hpp>

namespace corsair::test {

// A blocking socket connected to `endpoint` (direct://IPV4:PORT). Throws std::runtime_error if
// the endpoint is not one or the connection fails. The caller closes it.
inline int connect_raw_tcp(const std::string& endpoint) {
    const auto parts = protocol::stream::split_endpoint(endpoint);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    if (!parts || ::inet_pton(AF_INET, parts->first.c_str(), &address.sin_addr) != 1) {
        throw std::runtime_error("not a direct://IPV4:PORT endpoint: " + endpoint);
    }
    address.sin_port = htons(static_cast<std::uint16_t>(std::stoi(parts->second)));
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
        if (fd >= 0) ::close(fd);
        throw std::runtime_error("cannot connect to " + endpoint);
    }
    return fd;
}

}  // namespace corsair::test
