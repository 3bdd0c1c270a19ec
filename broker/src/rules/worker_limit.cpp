#include "worker_limit.hpp"

#include "corsair/protocol/text.hpp"

namespace corsair::broker {

namespace p = corsair::protocol;

bool WorkerLimit::admits(const RoutingId& routing_id, const p::Ready& ready, std::string_view address,
                         TimePoint now) {
    if (workers_.has_room_for(routing_id, address)) return true;
    ++context_.counters.worker_limit_refusals;
    const std::uint64_t limit = workers_.max_workers();
    if (const auto unlogged = refusals_.admit("workers", now)) {
        const std::uint64_t refused = *unlogged + 1;
        context_.log.warn("workers refused: --max-workers workers are connected worker={} address={} max_workers={} "
                          "refused_since_last_line={}",
                          p::quoted(ready.name), address, limit, refused);
    }
    p::Frames frames = p::encode(p::Error{p::ErrorCode::too_many_workers,
                                          "the broker has " + std::to_string(limit) +
                                              " workers connected, its --max-workers; try again later",
                                          ready.name, "READY"});
    outbox_.to_worker(routing_id, frames);
    return false;
}

}  // namespace corsair::broker
