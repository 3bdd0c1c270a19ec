// The jobs the broker holds (pending, delayed, running, dead): their records by id, which own
// them; the unique keys held by live jobs (docs/jobs.md §Unique jobs); the submission sequence;
// and the bytes of payload they keep. Ended jobs live in ResultStore instead. Owned by the
// broker's loop thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "job_record.hpp"
#include "corsair/containers/id_table.hpp"

namespace corsair::broker {

class JobStore {
public:
    JobStore() = default;
    ~JobStore();
    JobStore(const JobStore&) = delete;
    JobStore& operator=(const JobStore&) = delete;

    JobRecord* find(std::string_view id) const { return table_.find(id); }
    // A new record in `queue` (state `created`), owned by the store. `sequence` orders the
    // submissions (none: the next one; a replayed job brings its own). Throws std::bad_alloc.
    template <class Payload>
    JobRecord& create(std::string_view id, Payload&& payload, QueueState& queue,
                      std::optional<std::uint64_t> sequence = std::nullopt) {
        std::unique_ptr<JobRecord, JobRecordDeleter> created(JobRecord::create(id, std::forward<Payload>(payload)));
        table_.insert(created.get());
        JobRecord& job = *created.release();
        job.queue = &queue;
        job.state = JobState::created;
        job.sequence = sequence.value_or(next_sequence_);
        if (job.sequence >= next_sequence_) next_sequence_ = job.sequence + 1;
        live_payload_bytes_ += job.payload().size();
        return job;
    }
    // Removes and frees `job`; it must be in no list or timer any more (state `ended`).
    void destroy(JobRecord& job);

    // The live job holding `unique_key` in `queue`, if any.
    JobRecord* find_unique(const std::string& queue, const std::string& unique_key) const;
    // Makes `job` hold its unique key; false (and the key is left to its holder) if another
    // live job holds it already.
    bool hold_unique_key(const JobRecord& job);
    // Gives up `job`'s unique key, if it holds one.
    void release_unique_key(const JobRecord& job);

    std::size_t size() const noexcept { return table_.size(); }
    std::uint64_t live_payload_bytes() const noexcept { return live_payload_bytes_; }
    template <class F>
    void for_each(F&& f) const {
        table_.for_each(std::forward<F>(f));
    }

private:
    static std::string unique_slot(const std::string& queue, const std::string& unique_key) {
        return queue + '\n' + unique_key;
    }

    containers::IdTable<JobRecord> table_;  // owns the records
    std::unordered_map<std::string, std::string> unique_jobs_;  // queue + '\n' + key -> live job id
    std::uint64_t next_sequence_ = 0;
    std::uint64_t live_payload_bytes_ = 0;
};

}  // namespace corsair::broker
