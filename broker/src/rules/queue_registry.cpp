#include "queue_registry.hpp"

#include <algorithm>

#include "corsair/protocol/text.hpp"

namespace corsair::broker {

namespace {

std::uint64_t milliseconds_of(std::chrono::milliseconds duration) {
    return static_cast<std::uint64_t>(std::max<std::int64_t>(0, duration.count()));
}

}  // namespace

QueueState& QueueRegistry::named(const std::string& name) {
    auto [it, inserted] = queues_.try_emplace(name);
    QueueState& queue = it->second;
    if (inserted || queue.is_deleted) {
        queue.name = name;
        queue.is_deleted = false;
        ++live_queues_;
        if (!is_replaying_) log_.info("queue created queue={}", protocol::quoted(name));
    }
    return queue;
}

QueueState* QueueRegistry::find(const std::string& name) {
    auto found = queues_.find(name);
    return found == queues_.end() || found->second.is_deleted ? nullptr : &found->second;
}

const QueueState* QueueRegistry::find(const std::string& name) const {
    auto found = queues_.find(name);
    return found == queues_.end() || found->second.is_deleted ? nullptr : &found->second;
}

void QueueRegistry::remove(QueueState& queue) {
    if (queue.is_deleted) return;
    queue.is_deleted = true;
    queue.config = QueueConfig{};
    queue.done = 0;
    queue.failed = 0;
    queue.events = {};
    --live_queues_;
}

QueueState& QueueRegistry::record_of(const std::string& name) {
    auto [it, inserted] = queues_.try_emplace(name);
    if (inserted) {
        it->second.name = name;
        it->second.is_deleted = true;
    }
    return it->second;
}

bool QueueRegistry::fits(const std::string& name) const {
    return max_queues_ == 0 || live_queues_ < max_queues_ || find(name) != nullptr;
}

bool QueueRegistry::fits(const std::vector<std::string>& names) const {
    if (max_queues_ == 0) return true;
    std::size_t created = 0;
    for (const auto& name : names) created += find(name) == nullptr ? 1 : 0;
    return live_queues_ + created <= max_queues_;
}

std::string QueueRegistry::limit_text(const std::string& name) const {
    return "queue " + protocol::printable(name, protocol::kMaxLoggedTextBytes) + " does not exist and the broker holds " +
           std::to_string(live_queues_) + " queues, its --max-queues";
}

protocol::QueueSettings settings_of(const QueueState& queue) {
    const QueueConfig& c = queue.config;
    protocol::QueueSettings s;
    s.queue = queue.name;
    s.is_paused = c.is_paused;
    s.max_length = c.max_length;
    s.retry.max_attempts = c.max_attempts;
    s.retry.backoff_ms = milliseconds_of(c.backoff);
    s.retry.backoff_max_ms = milliseconds_of(c.backoff_max);
    s.retry.backoff_jitter_pct = c.backoff_jitter_pct;
    s.timeout_ms = milliseconds_of(c.timeout);
    s.dead_max_count = c.dead_max_count;
    s.dead_max_age_ms = milliseconds_of(c.dead_max_age);
    return s;
}

}  // namespace corsair::broker
