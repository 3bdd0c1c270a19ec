// The routing ids of producers that jobs will send RESULT and PROGRESS to, each kept once with a
// count of the jobs naming it, so that a job holds one pointer instead of a copy of the id, and
// with the most RESULTs that connection reads in one RESULTS (its latest SUBMIT's results_batch).
// Owned by the broker's loop thread.
#pragma once

#include <cassert>
#include <cstdint>
#include <unordered_map>

#include "corsair/broker/outbox.hpp"

namespace corsair::broker {

class ReplyTargets {
public:
    // The kept copy of `producer`, counted once more, now reading RESULTS of up to
    // `results_batch`; valid until the matching release().
    const RoutingId* hold(const RoutingId& producer, std::uint32_t results_batch) {
        auto [it, inserted] = targets_.try_emplace(producer);
        ++it->second.jobs;
        it->second.results_batch = results_batch;
        return &it->first;
    }
    // Counts one job less for a pointer hold() returned; forgets the id at zero.
    void release(const RoutingId* producer) {
        auto it = targets_.find(*producer);
        assert(it != targets_.end() && &it->first == producer);
        if (--it->second.jobs == 0) targets_.erase(it);
    }
    // For a pointer hold() returned.
    void set_results_batch(const RoutingId* producer, std::uint32_t results_batch) {
        targets_.find(*producer)->second.results_batch = results_batch;
    }
    std::uint32_t results_batch(const RoutingId* producer) const {
        return targets_.find(*producer)->second.results_batch;
    }
    std::size_t size() const noexcept { return targets_.size(); }

private:
    struct Target {
        std::uint64_t jobs = 0;
        std::uint32_t results_batch = 0;
    };
    std::unordered_map<RoutingId, Target> targets_;  // nodes never move: pointers to keys stay valid
};

}  // namespace corsair::broker
