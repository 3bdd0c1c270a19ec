// Sizing the broker process for the peers its own limits allow. Without this, libzmq's default of
// 1,023 sockets per context and a system's usual soft limit of 1,024 open files would refuse
// peers well before --max-workers (10,000) or the HTTP side's 1,024 leases.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include <zmq.hpp>

namespace corsair::broker {

// Sets ZMQ_MAX_SOCKETS on `context` to the broker's own sockets plus `extra_sockets` (the HTTP
// side's), at most libzmq's ZMQ_SOCKET_LIMIT. Must run before the first socket of `context`.
void size_zmq_context(zmq::context_t& context, std::size_t extra_sockets);

struct OpenFileLimit {
    std::uint64_t before = 0;  // the soft RLIMIT_NOFILE at start
    std::uint64_t now = 0;     // after raising it to the hard limit (the same if it could not)
};
// Raises the soft RLIMIT_NOFILE to the hard one: each connected worker or producer holds one
// descriptor in the broker, each HTTP lease about two.
OpenFileLimit raise_open_file_limit() noexcept;

// The warning to log when `limit` open files cannot hold `max_workers` workers with room for the
// rest (the journal, the HTTP side, producers); empty when it can or max_workers is 0 (no limit).
std::string open_file_limit_warning(std::uint64_t limit, std::uint64_t max_workers);

}  // namespace corsair::broker
