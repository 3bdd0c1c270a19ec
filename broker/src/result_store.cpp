#include "result_store.hpp"

namespace corsair::broker {

std::size_t ResultStore::cost_of(const std::string& id, const EndedJob& job) noexcept {
    // Bytes held plus an estimate of the map node, the deque slot and the strings' headers.
    constexpr std::size_t kOverheadBytes = 160;
    std::size_t history_bytes = 0;
    for (const auto& e : job.errors) history_bytes += e.error.size() + sizeof e;
    return id.size() + job.queue.size() + job.error.size() + job.result.size() + history_bytes + kOverheadBytes;
}

void ResultStore::add(const std::string& id, EndedJob job) {
    auto [it, inserted] = entries_.try_emplace(id, std::move(job));
    if (!inserted) return;  // a job id ends once; a second add is a caller bug we tolerate
    bytes_ += cost_of(it->first, it->second);
    order_.push_back(&it->first);
    while (bytes_ > max_bytes_ && order_.size() > 1) {
        erase_oldest();
        ++evicted_;
    }
}

const EndedJob* ResultStore::find(const std::string& id) const {
    auto it = entries_.find(id);
    return it == entries_.end() ? nullptr : &it->second;
}

std::size_t ResultStore::expire(std::chrono::steady_clock::time_point now) {
    std::size_t expired = 0;
    while (!order_.empty()) {
        auto it = entries_.find(*order_.front());
        if (it != entries_.end() && now - it->second.ended_at < ttl_) break;
        erase_oldest();
        ++expired;
    }
    return expired;
}

void ResultStore::erase_oldest() {
    const std::string* id = order_.front();
    order_.pop_front();
    auto it = entries_.find(*id);
    if (it == entries_.end()) return;
    bytes_ -= cost_of(it->first, it->second);
    entries_.erase(it);
}

}  // namespace corsair::broker
