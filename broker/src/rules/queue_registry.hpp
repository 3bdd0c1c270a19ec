// The broker's named queues: created by SUBMIT, READY or QUEUE with create (docs/jobs.md §Queues),
// deleted by DELETE_QUEUE, and bounded by --max-queues so that names from the network cannot grow
// memory without bound. A deleted queue's record is kept, hidden, because ended jobs and workers
// point at it; it counts against --max-queues only while it exists. Owned by the loop thread.
#pragma once

#include <cstddef>
#include <string>
#include <unordered_map>
#include <vector>

#include <spdlog/logger.h>

#include "corsair/protocol/messages.hpp"
#include "job_record.hpp"
#include "queue_state.hpp"

namespace corsair::broker {

class QueueRegistry {
public:
    QueueRegistry(std::size_t max_queues, spdlog::logger& log) : max_queues_(max_queues), log_(log) {}
    QueueRegistry(const QueueRegistry&) = delete;
    QueueRegistry& operator=(const QueueRegistry&) = delete;

    // The queue called `name`, created with the default settings if it does not exist (or was
    // deleted); logged at info, except while replaying the journal (the recovery line counts
    // them). Callers check fits() first.
    QueueState& named(const std::string& name);
    void set_replaying(bool is_replaying) noexcept { is_replaying_ = is_replaying; }
    // The queue called `name` if it exists (not deleted), else nullptr.
    QueueState* find(const std::string& name);
    const QueueState* find(const std::string& name) const;
    // Deletes `queue`, which holds no job any more: its settings and counts are forgotten.
    void remove(QueueState& queue);
    // The record of `name` for an ended job replayed from a snapshot: the queue if it exists,
    // else a deleted one, so that the ended jobs of a deleted queue do not bring it back.
    QueueState& record_of(const std::string& name);

    // Whether `name` may be used: it exists, or one more queue fits under --max-queues. Costs no
    // lookup while under the limit (SUBMIT's hot path).
    bool fits(const std::string& name) const;
    // The same for several distinct names at once (READY).
    bool fits(const std::vector<std::string>& names) const;
    // The text of a too_many_queues refusal for `name`.
    std::string limit_text(const std::string& name) const;

    std::size_t size() const noexcept { return live_queues_; }
    std::size_t max_queues() const noexcept { return max_queues_; }
    // Calls f(queue) for every queue that exists.
    template <class F>
    void for_each(F&& f) {
        for (auto& [name, queue] : queues_) {
            if (!queue.is_deleted) f(queue);
        }
    }
    template <class F>
    void for_each(F&& f) const {
        for (const auto& [name, queue] : queues_) {
            if (!queue.is_deleted) f(queue);
        }
    }

private:
    std::size_t max_queues_;  // 0: no limit
    spdlog::logger& log_;
    bool is_replaying_ = false;
    std::unordered_map<std::string, QueueState> queues_;
    std::size_t live_queues_ = 0;  // queues_ less the deleted ones
};

// A queue's settings as QUEUE and its journal record carry them (every field set).
protocol::QueueSettings settings_of(const QueueState& queue);
// How many attempts `job` gets in a round: its own max_attempts, else its queue's.
inline std::uint32_t max_attempts_of(const JobRecord& job) {
    return job.details().retry.max_attempts.value_or(job.queue->config.max_attempts);
}
// The per-attempt timeout of `job`: its own, else its queue's; 0 = none.
inline std::chrono::milliseconds timeout_of(const JobRecord& job) {
    const auto& timeout_ms = job.details().timeout_ms;
    return timeout_ms ? std::chrono::milliseconds(*timeout_ms) : job.queue->config.timeout;
}

}  // namespace corsair::broker
