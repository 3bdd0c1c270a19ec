// The routing ids of producers that jobs will send RESULT and PROGRESS to, each kept once with a
// count of the jobs naming it, so that a job holds one pointer instead of a copy of the id.
// Owned by the broker's loop thread.
#pragma once

#include <cassert>
#include <cstdint>
#include <unordered_map>

#include "corsair/broker/outbox.hpp"

namespace corsair::broker {

class ReplyTargets {
public:
    // The kept copy of `producer`, counted once more; valid until the matching release().
    const RoutingId* hold(const RoutingId& producer) {
        auto [it, inserted] = counts_.try_emplace(producer, 0);
        ++it->second;
        return &it->first;
    }
    // Counts one job less for a pointer hold() returned; forgets the id at zero.
    void release(const RoutingId* producer) {
        auto it = counts_.find(*producer);
        assert(it != counts_.end() && &it->first == producer);
        if (--it->second == 0) counts_.erase(it);
    }
    std::size_t size() const noexcept { return counts_.size(); }

private:
    std::unordered_map<RoutingId, std::uint64_t> counts_;  // nodes never move: pointers to keys stay valid
};

}  // namespace corsair::broker
