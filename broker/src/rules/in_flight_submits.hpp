// How many new jobs each producer connection has not been told ACCEPTED of yet: ACCEPTEDs held
// until the journal is durable, and ACCEPTEDs held for accept_within_ms. --max-in-flight bounds
// it per connection (docs/jobs.md, Limits), so that one connection cannot make the broker hold
// acknowledgements without bound. A connection with none is not kept. Owned by the broker's loop
// thread.
#pragma once

#include <cassert>
#include <cstdint>
#include <unordered_map>

#include "corsair/broker/outbox.hpp"

namespace corsair::broker {

class InFlightSubmits {
public:
    void add(const RoutingId& producer) { ++counts_[producer]; }
    // One of `producer`'s ACCEPTEDs went out, or another reply answered for it.
    void remove(const RoutingId& producer) {
        auto it = counts_.find(producer);
        assert(it != counts_.end() && it->second > 0);
        if (it == counts_.end()) return;
        if (--it->second == 0) counts_.erase(it);
    }
    std::uint64_t of(const RoutingId& producer) const {
        auto it = counts_.find(producer);
        return it == counts_.end() ? 0 : it->second;
    }
    // Connections with at least one.
    std::size_t connections() const noexcept { return counts_.size(); }

private:
    std::unordered_map<RoutingId, std::uint64_t> counts_;
};

}  // namespace corsair::broker
