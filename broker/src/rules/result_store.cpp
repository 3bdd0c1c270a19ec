#include "result_store.hpp"

#include <cstring>
#include <new>

#include "job_record.hpp"

namespace corsair::broker {

static_assert(kInlinePayloadBytes <= UINT16_MAX, "KeptResult::inline_result_bytes is 16 bits");

std::string_view KeptResult::result() const noexcept {
    if (has_large_result) return protocol::view_of(details_->large_result);
    return {bytes() + id_bytes, inline_result_bytes};
}

zmq::message_t KeptResult::result_message() const {
    zmq::message_t message;
    if (has_large_result) {
        message.copy(details_->large_result);
    } else if (inline_result_bytes != 0) {
        message.rebuild(bytes() + id_bytes, inline_result_bytes);
    }
    return message;
}

const std::string& KeptResult::error() const noexcept {
    static const std::string none;
    return details_ != nullptr ? details_->error : none;
}

const std::vector<protocol::AttemptError>& KeptResult::errors() const noexcept {
    static const std::vector<protocol::AttemptError> none;
    return details_ != nullptr ? details_->errors : none;
}

const std::string* ResultStore::intern_worker(std::string_view name) {
    if (name.empty()) return nullptr;
    auto it = worker_names_.find(name);
    if (it == worker_names_.end()) it = worker_names_.emplace(std::string(name), 0).first;
    ++it->second;
    return &it->first;
}

void ResultStore::release_worker(const std::string* name) {
    if (name == nullptr) return;
    auto it = worker_names_.find(*name);
    if (it != worker_names_.end() && --it->second == 0) worker_names_.erase(it);
}

ResultStore::~ResultStore() {
    while (KeptResult* entry = oldest()) {
        const std::size_t block_bytes = entry->block_bytes();
        entry->~KeptResult();
        arena_.release_oldest(block_bytes);
    }
}

std::size_t ResultStore::cost_of(const KeptResult& entry) noexcept {
    // Bytes held plus a fixed allowance per entry. The allowance predates the compact entry and
    // is kept: Scheduler::estimated_snapshot_bytes() uses this figure for the ended jobs' records.
    constexpr std::size_t kOverheadBytes = 160;
    std::size_t history_bytes = 0;
    for (const auto& e : entry.errors()) history_bytes += e.error.size() + sizeof e;
    return entry.id_bytes + entry.queue->size() + entry.error().size() + entry.result().size() + history_bytes +
           kOverheadBytes;
}

void ResultStore::add(std::string_view id, EndedJob& job) {
    if (entries_.find(id) != nullptr) return;  // a job id ends once; a second add is a caller bug we tolerate
    const bool is_inline = job.result.size() <= kInlinePayloadBytes;
    const std::size_t inline_bytes = is_inline ? job.result.size() : 0;
    void* memory = arena_.allocate(sizeof(KeptResult) + id.size() + inline_bytes);
    auto* entry = new (memory) KeptResult();
    entry->queue = job.queue;
    entry->worker = intern_worker(job.worker);
    entry->ended_at = job.ended_at;
    entry->created_at = job.created_at;
    entry->started_at = job.started_at;
    entry->payload_bytes = job.payload_bytes;
    entry->payload_hash = job.payload_hash;
    entry->payload_is_known = job.payload_is_known;
    entry->attempt = job.attempt;
    entry->priority = job.priority;
    entry->max_attempts = job.max_attempts;
    entry->uncounted_attempts = job.uncounted_attempts;
    entry->id_bytes = static_cast<std::uint8_t>(id.size());
    entry->inline_result_bytes = static_cast<std::uint16_t>(inline_bytes);
    entry->state = job.state;
    std::memcpy(entry->bytes(), id.data(), id.size());
    if (inline_bytes != 0) std::memcpy(entry->bytes() + id.size(), job.result.data(), inline_bytes);
    if (!is_inline || !job.error.empty() || !job.errors.empty()) {
        entry->details_ = std::make_unique<KeptResult::Details>();
        entry->details_->error = std::move(job.error);
        entry->details_->errors = std::move(job.errors);
        if (!is_inline) {
            entry->details_->large_result.copy(job.result);
            entry->has_large_result = true;
        }
    }
    entries_.insert(entry);
    bytes_ += cost_of(*entry);
    while (bytes_ > max_bytes_ && entries_.size() > 1) {
        erase_oldest();
        ++evicted_;
    }
}

std::size_t ResultStore::expire(std::chrono::steady_clock::time_point now) {
    std::size_t expired = 0;
    if (ttl_.count() == 0) return expired;  // --result-ttl 0: no age limit, only the memory bound
    while (oldest() != nullptr && now - oldest()->ended_at >= ttl_) {
        erase_oldest();
        ++expired;
    }
    return expired;
}

void ResultStore::erase_oldest() {
    KeptResult* entry = oldest();
    entries_.remove(entry->id());
    bytes_ -= cost_of(*entry);
    release_worker(entry->worker);
    const std::size_t block_bytes = entry->block_bytes();
    entry->~KeptResult();
    arena_.release_oldest(block_bytes);
}

}  // namespace corsair::broker
