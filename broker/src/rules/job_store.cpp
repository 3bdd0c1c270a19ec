#include "job_store.hpp"

#include <cassert>

#include "queue_state.hpp"

namespace corsair::broker {

JobStore::~JobStore() {
    table_.for_each([](JobRecord* job) { JobRecord::destroy(job); });
}

void JobStore::destroy(JobRecord& job) {
    assert(job.state == JobState::ended);
    table_.remove(job.id());
    live_payload_bytes_ -= job.payload().size();
    JobRecord::destroy(&job);
}

JobRecord* JobStore::find_unique(const std::string& queue, const std::string& unique_key) const {
    auto held = unique_jobs_.find(unique_slot(queue, unique_key));
    return held == unique_jobs_.end() ? nullptr : find(held->second);
}

bool JobStore::hold_unique_key(const JobRecord& job) {
    const std::string& key = job.details().unique_key;
    if (key.empty()) return true;
    return unique_jobs_.emplace(unique_slot(job.queue->name, key), std::string(job.id())).second;
}

void JobStore::release_unique_key(const JobRecord& job) {
    const std::string& key = job.details().unique_key;
    if (key.empty()) return;
    auto it = unique_jobs_.find(unique_slot(job.queue->name, key));
    if (it != unique_jobs_.end() && it->second == job.id()) unique_jobs_.erase(it);
}

}  // namespace corsair::broker
