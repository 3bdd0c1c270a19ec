// Endpoint checks every program makes before it binds or connects, so a mistake is named at
// once ("add tcp://", "cannot resolve host") instead of surfacing later as a timeout; and the
// one wording all programs use for a broker that does not answer. Pure functions except
// resolve_problem(), which asks the system resolver (blocking).
#pragma once

#include <netdb.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdlib>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "corsair/protocol/duration.hpp"

namespace corsair::options {

// The environment variables that stand in for --broker (docs/cli.md §Environment). The broker
// has two endpoints, so each side has its own variable; CORSAIR_BROKER, which meant either, is
// refused rather than guessed (see broker_variable_problem()).
inline constexpr const char* kProducerEndpointVariable = "CORSAIR_PRODUCER_ENDPOINT";
inline constexpr const char* kWorkerEndpointVariable = "CORSAIR_WORKER_ENDPOINT";
inline constexpr const char* kRetiredBrokerVariable = "CORSAIR_BROKER";

// Why a program given no endpoint (neither --broker nor its own variable) does not fall back
// to its default: CORSAIR_BROKER is set, and it once meant the producer endpoint to corsair and
// the worker endpoint to corsair-worker. Nullopt when CORSAIR_BROKER is not set.
inline std::optional<std::string> retired_variable_problem(std::string_view own_variable,
                                                           std::string_view example_endpoint) {
    const char* value = std::getenv(kRetiredBrokerVariable);
    if (value == nullptr) return std::nullopt;
    return std::string(kRetiredBrokerVariable) + "=" + value +
           " is no longer read, since the broker has two endpoints: set " + std::string(own_variable) + "=" +
           std::string(example_endpoint) + " or give --broker (docs/cli.md, Environment)";
}

namespace detail {

constexpr bool is_port(std::string_view text, bool allows_wildcard) noexcept {
    if (allows_wildcard && text == "*") return true;
    if (text.empty() || text.size() > 5) return false;
    std::uint32_t value = 0;
    for (const char c : text) {
        if (c < '0' || c > '9') return false;
        value = value * 10 + static_cast<std::uint32_t>(c - '0');
    }
    return value <= 65535 && (allows_wildcard || value != 0);
}

struct HostPort {
    std::string_view host;
    std::string_view port;
};

// "HOST:PORT" or "[V6]:PORT" after "tcp://"; nullopt without a port.
constexpr std::optional<HostPort> split_host_port(std::string_view rest) noexcept {
    const auto colon = rest.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    std::string_view host = rest.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    return HostPort{host, rest.substr(colon + 1)};
}

}  // namespace detail

// Why `endpoint` cannot be used, or nullopt. `is_bind` allows the wildcards a bind takes
// (tcp://*:5555, port * or 0 for an ephemeral port). The message names the endpoint and says
// how to write it, e.g. "'127.0.0.1:5555' has no transport: write tcp://127.0.0.1:5555".
inline std::optional<std::string> endpoint_problem(std::string_view endpoint, bool is_bind = false) {
    const std::string quoted = "'" + std::string(endpoint) + "'";
    const std::string example = is_bind ? "tcp://*:5555" : "tcp://HOST:5555";
    if (endpoint.empty()) return "the endpoint is empty: write e.g. " + example;
    const auto scheme_end = endpoint.find("://");
    if (scheme_end == std::string_view::npos) {
        return quoted + " has no transport: write tcp://" + std::string(endpoint);
    }
    const std::string_view scheme = endpoint.substr(0, scheme_end);
    const std::string_view rest = endpoint.substr(scheme_end + 3);
    if (scheme == "ipc" || scheme == "inproc") {
        if (rest.empty()) return quoted + " names no path";
        return std::nullopt;
    }
    if (scheme != "tcp" && scheme != "direct") {
        return quoted + " has an unknown transport '" + std::string(scheme) + "': write e.g. " + example;
    }
    const auto parts = detail::split_host_port(rest);
    if (!parts || parts->host.empty()) return quoted + " needs a host and a port: write e.g. " + example;
    if (!detail::is_port(parts->port, is_bind)) {
        return quoted + " has no valid port (1 to 65535" + std::string(is_bind ? ", or * or 0 for any" : "") +
               "): write e.g. " + example;
    }
    return std::nullopt;
}

// Whether a bound endpoint (as ZeroMQ reports it, e.g. tcp://127.0.0.1:5555) is reachable from
// this host only: loopback TCP, ipc or inproc. A wildcard or any other address is not.
inline bool is_loopback_endpoint(std::string_view endpoint) noexcept {
    // direct:// (the direct transport, docs/protocol.md §2.1) takes the same HOST:PORT as tcp://.
    std::string_view rest;
    if (endpoint.substr(0, 6) == "tcp://") {
        rest = endpoint.substr(6);
    } else if (endpoint.substr(0, 9) == "direct://") {
        rest = endpoint.substr(9);
    } else {
        return endpoint.substr(0, 6) == "ipc://" || endpoint.substr(0, 9) == "inproc://";
    }
    const auto parts = detail::split_host_port(rest);
    if (!parts) return false;
    return parts->host.substr(0, 4) == "127." || parts->host == "::1" || parts->host == "localhost";
}

// Why the host of a tcp:// endpoint cannot be resolved ("cannot resolve host 'brokr' in
// tcp://brokr:5555: Name or service not known"), or nullopt (resolved, or not tcp://). Blocks
// on the system resolver.
inline std::optional<std::string> resolve_problem(std::string_view endpoint) {
    const std::size_t scheme_bytes = endpoint.substr(0, 6) == "tcp://" ? 6 : endpoint.substr(0, 9) == "direct://" ? 9 : 0;
    if (scheme_bytes == 0 || endpoint.find(';') != std::string_view::npos) return std::nullopt;
    const auto parts = detail::split_host_port(endpoint.substr(scheme_bytes));
    if (!parts || parts->host == "*") return std::nullopt;
    const std::string host(parts->host);
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const int status = ::getaddrinfo(host.c_str(), nullptr, &hints, &found);
    if (found != nullptr) ::freeaddrinfo(found);
    if (status == 0) return std::nullopt;
    return "cannot resolve host '" + host + "' in " + std::string(endpoint) + ": " + ::gai_strerror(status);
}

// The one wording for a broker that said nothing, in every program: "no answer from the broker
// at tcp://h:5555 within 10s (is it running, and is that its producer endpoint? see ...)".
inline std::string no_answer_text(std::string_view endpoint, std::chrono::milliseconds waited, std::string_view side,
                                  std::string_view see) {
    return "no answer from the broker at " + std::string(endpoint) + " within " + protocol::format_duration(waited) +
           " (is it running, and is that its " + std::string(side) + " endpoint? see " + std::string(see) + ")";
}

// Appended to no_answer_text when CURVE is on: a CURVE broker says nothing to a client whose key
// it refuses or that expects another server key; it only drops the connection.
inline constexpr const char* kCurveSilenceHint =
    "; with CURVE on, the broker also drops without a word a client whose key is not in its --allowed-keys, "
    "or one whose --curve-server-key is not the broker's public key, or one without CURVE: check those "
    "(docs/security.md)";

// What to tell the operator when the broker answered wrong_endpoint: its message, with a
// wildcard host it bound (tcp://0.0.0.0:5556, tcp://*:5556) replaced by the host this program
// used, so the endpoint it names can be pasted: "the broker at tcp://h:5555 says: this is the
// producer endpoint; workers connect to tcp://h:5556".
inline std::string wrong_endpoint_text(std::string_view own_endpoint, std::string message) {
    std::string own_host;
    if (own_endpoint.substr(0, 6) == "tcp://") {
        if (const auto parts = detail::split_host_port(own_endpoint.substr(6))) {
            own_host = std::string(parts->host);
            if (own_host.find(':') != std::string::npos) own_host = "[" + own_host + "]";
        }
    }
    if (!own_host.empty()) {
        for (const char* wildcard : {"tcp://0.0.0.0:", "tcp://*:", "tcp://[::]:"}) {
            const auto at = message.find(wildcard);
            if (at != std::string::npos) {
                message.replace(at, std::string_view(wildcard).size(), "tcp://" + own_host + ":");
                break;
            }
        }
    }
    return "the broker at " + std::string(own_endpoint) + " says: " + message;
}

}  // namespace corsair::options
