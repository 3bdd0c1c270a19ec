#include "corsair/broker/process_limits.hpp"

#include <sys/resource.h>

#include <algorithm>

namespace corsair::broker {

namespace {

// The broker's own sockets: the two ROUTERs, the journal's and the ZAP handler's inproc pairs,
// the HTTP side's link, with room to spare.
constexpr std::size_t kOwnSockets = 64;
// Descriptors beyond the workers': the journal and its folder, the HTTP listener and its
// connections, producers, libzmq's own.
constexpr std::uint64_t kOtherDescriptors = 4096;

}  // namespace

void size_zmq_context(zmq::context_t& context, std::size_t extra_sockets) {
    const auto ceiling = static_cast<std::size_t>(std::max(1, zmq_ctx_get(context.handle(), ZMQ_SOCKET_LIMIT)));
    const auto wanted = std::min(ceiling, kOwnSockets + extra_sockets);
    context.set(zmq::ctxopt::max_sockets, static_cast<int>(std::max<std::size_t>(wanted, 1023)));
}

OpenFileLimit raise_open_file_limit() noexcept {
    rlimit files{};
    if (::getrlimit(RLIMIT_NOFILE, &files) != 0) return {};
    OpenFileLimit limit{files.rlim_cur, files.rlim_cur};
    if (files.rlim_cur < files.rlim_max) {
        files.rlim_cur = files.rlim_max;
        if (::setrlimit(RLIMIT_NOFILE, &files) == 0) limit.now = files.rlim_cur;
    }
    return limit;
}

std::string open_file_limit_warning(std::uint64_t limit, std::uint64_t max_workers) {
    if (max_workers == 0 || limit == RLIM_INFINITY || limit >= max_workers + kOtherDescriptors) return {};
    return "the open file limit (" + std::to_string(limit) + ", ulimit -n / LimitNOFILE=) is below --max-workers (" +
           std::to_string(max_workers) + ") plus " + std::to_string(kOtherDescriptors) +
           " for the rest: connections past it are refused by the kernel, not by the broker; raise the hard limit "
           "or lower --max-workers";
}

}  // namespace corsair::broker
