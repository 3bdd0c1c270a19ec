// The broker's named queues: created on first use (SUBMIT, READY, QUEUE), never destroyed while
// the broker runs, and bounded by --max-queues so that names from the network cannot grow
// memory without bound. Owned by the broker's loop thread.
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

    // The queue called `name`, created with the default settings if it does not exist (logged at
    // info, except while replaying the journal: the recovery line counts them). Callers check
    // fits() first.
    QueueState& named(const std::string& name);
    void set_replaying(bool is_replaying) noexcept { is_replaying_ = is_replaying; }
    QueueState* find(const std::string& name);
    const QueueState* find(const std::string& name) const;

    // Whether `name` may be used: it exists, or one more queue fits under --max-queues. Costs no
    // lookup while under the limit (SUBMIT's hot path).
    bool fits(const std::string& name) const;
    // The same for several distinct names at once (READY).
    bool fits(const std::vector<std::string>& names) const;
    // The text of a too_many_queues refusal for `name`.
    std::string limit_text(const std::string& name) const;

    std::size_t size() const noexcept { return queues_.size(); }
    std::size_t max_queues() const noexcept { return max_queues_; }
    template <class F>
    void for_each(F&& f) {
        for (auto& [name, queue] : queues_) f(queue);
    }
    template <class F>
    void for_each(F&& f) const {
        for (const auto& [name, queue] : queues_) f(queue);
    }

private:
    std::size_t max_queues_;  // 0: no limit
    spdlog::logger& log_;
    bool is_replaying_ = false;
    std::unordered_map<std::string, QueueState> queues_;
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
