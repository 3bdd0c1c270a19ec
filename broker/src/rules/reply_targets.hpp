// The routing ids of producers that jobs will send RESULT and PROGRESS to, each kept once with a
// count of the jobs naming it, so that a job holds one pointer instead of a copy of the id, and
// with the most RESULTs that connection reads in one RESULTS (its latest SUBMIT's results_batch)
// and whether it reads them packed (its latest SUBMIT's reads_packed).
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
    const RoutingId* hold(const RoutingId& producer, std::uint32_t results_batch, bool reads_packed) {
        auto [it, inserted] = targets_.try_emplace(producer);
        ++it->second.jobs;
        it->second.results_batch = results_batch;
        it->second.reads_packed = reads_packed;
        return &it->first;
    }
    // Counts one job less for a pointer hold() returned; forgets the id at zero.
    void release(const RoutingId* producer) {
        auto it = targets_.find(*producer);
        assert(it != targets_.end() && &it->first == producer);
        if (--it->second.jobs == 0) targets_.erase(it);
    }
    // For a pointer hold() returned.
    void set_results_form(const RoutingId* producer, std::uint32_t results_batch, bool reads_packed) {
        Target& target = targets_.find(*producer)->second;
        target.results_batch = results_batch;
        target.reads_packed = reads_packed;
    }
    std::uint32_t results_batch(const RoutingId* producer) const {
        return targets_.find(*producer)->second.results_batch;
    }
    bool reads_packed(const RoutingId* producer) const { return targets_.find(*producer)->second.reads_packed; }
    std::size_t size() const noexcept { return targets_.size(); }

private:
    struct Target {
        std::uint64_t jobs = 0;
        std::uint32_t results_batch = 0;
        bool reads_packed = false;
    };
    std::unordered_map<RoutingId, Target> targets_;  // nodes never move: pointers to keys stay valid
};

}  // namespace corsair::broker
