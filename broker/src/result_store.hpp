// Ended jobs (done, cancelled, or failed and gone from the dead set) and their results, kept for a TTL under a memory bound so that
// `corsair result` and late resubmissions can be answered. Owned by the broker's loop thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>
#include <vector>

#include <zmq.hpp>

#include "corsair/protocol/messages.hpp"

namespace corsair::broker {

struct EndedJob {
    std::string queue;
    protocol::JobState state = protocol::JobState::done;
    std::uint32_t attempt = 0;
    std::string error;
    zmq::message_t result;
    std::chrono::steady_clock::time_point ended_at{};
    std::int32_t priority = 0;
    std::uint32_t max_attempts = 0;
    std::vector<protocol::AttemptError> errors;
};

class ResultStore {
public:
    ResultStore(std::chrono::milliseconds ttl, std::size_t max_bytes) : ttl_(ttl), max_bytes_(max_bytes) {}

    // Keeps `job` under `id`, evicting the oldest entries while over the memory bound.
    void add(const std::string& id, EndedJob job);
    // nullptr when unknown, expired or evicted.
    const EndedJob* find(const std::string& id) const;
    // Drops entries older than the TTL; returns how many.
    std::size_t expire(std::chrono::steady_clock::time_point now);

    std::size_t size() const noexcept { return entries_.size(); }
    std::size_t bytes() const noexcept { return bytes_; }
    std::uint64_t evicted() const noexcept { return evicted_; }
    // Calls f(id, job) for every entry, oldest first (compaction snapshots).
    template <class F>
    void for_each(F&& f) const {
        for (const std::string* id : order_) f(*id, entries_.at(*id));
    }

private:
    static std::size_t cost_of(const std::string& id, const EndedJob& job) noexcept;
    void erase_oldest();

    std::chrono::milliseconds ttl_;
    std::size_t max_bytes_;
    std::size_t bytes_ = 0;
    std::uint64_t evicted_ = 0;
    std::unordered_map<std::string, EndedJob> entries_;
    // Ids in the order they ended: with one TTL for all, also the order they expire.
    std::deque<const std::string*> order_;
};

}  // namespace corsair::broker
