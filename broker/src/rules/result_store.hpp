// Ended jobs (done, cancelled, or failed and gone from the dead set) and their results, kept for a TTL under a memory
// bound so that `corsair result` and late resubmissions can be answered. Owned by the broker's loop thread.
//
// A throughput run keeps every result it produced (--result-ttl is 24 h), so an entry is one
// block of a FifoArena (KeptResult: the fields, then the id and the result bytes when small),
// indexed by an IdTable. Entries end, expire and are evicted in one order, the arena's. The
// error text and history, which done jobs lack, live behind one pointer.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>
#include <zmq.hpp>

#include "corsair/protocol/messages.hpp"
#include "fifo_arena.hpp"
#include "corsair/containers/id_table.hpp"

namespace corsair::broker {

// The hash a job's payload is remembered by once the job has ended (64 bits: a resubmission
// with other bytes is told id_conflict unless the hashes collide).
inline std::uint64_t payload_hash(std::string_view payload) noexcept { return std::hash<std::string_view>{}(payload); }

// What an ended job leaves behind, as given to ResultStore::add().
struct EndedJob {
    const std::string* queue = nullptr;  // the queue's name; must outlive the store (queues do)
    protocol::JobState state = protocol::JobState::done;
    std::uint32_t attempt = 0;
    std::string error;
    zmq::message_t result;
    std::chrono::steady_clock::time_point ended_at{};
    std::int32_t priority = 0;
    std::uint32_t max_attempts = 0;
    // Attempts not charged against max_attempts (JobRecord::uncounted_attempts): before the last
    // RETRY, or given back. STATUS shows attempt minus these against max_attempts.
    std::uint32_t uncounted_attempts = 0;
    std::vector<protocol::AttemptError> errors;
    // When it was accepted and when its last attempt started (kUnknownTime: not known), and
    // the worker that ran that attempt (empty: none, or not known).
    std::chrono::steady_clock::time_point created_at = std::chrono::steady_clock::time_point::min();
    std::chrono::steady_clock::time_point started_at = std::chrono::steady_clock::time_point::min();
    std::string_view worker;
    // What a resubmission of the id is compared with (docs/jobs.md §Idempotent ids): the
    // payload's size and hash (payload_is_known false: not known, as after a snapshot).
    std::uint64_t payload_bytes = 0;
    std::uint64_t payload_hash = 0;
    bool payload_is_known = false;
};

// One kept ended job, as ResultStore holds it.
struct KeptResult {
    const std::string* queue = nullptr;
    const std::string* worker = nullptr;  // interned by the store; nullptr: none
    std::chrono::steady_clock::time_point ended_at{};
    std::chrono::steady_clock::time_point created_at{};
    std::chrono::steady_clock::time_point started_at{};
    std::uint64_t payload_bytes = 0;
    std::uint64_t payload_hash = 0;
    bool payload_is_known = false;
    std::uint32_t attempt = 0;
    std::int32_t priority = 0;
    std::uint32_t max_attempts = 0;
    std::uint32_t id_hash = 0;              // IdTable's
    std::uint16_t inline_result_bytes = 0;  // at most kInlinePayloadBytes
    std::uint8_t id_bytes = 0;
    protocol::JobState state = protocol::JobState::done;
    bool has_large_result = false;
    std::uint32_t uncounted_attempts = 0;  // as EndedJob's; fits the padding before details_

    std::uint32_t attempts_this_round() const noexcept { return attempt - uncounted_attempts; }

    std::string_view id() const noexcept { return {bytes(), id_bytes}; }
    std::string_view result() const noexcept;
    // A message carrying the result: a copy of a small one, the shared buffer of a large one.
    zmq::message_t result_message() const;
    const std::string& error() const noexcept;
    const std::vector<protocol::AttemptError>& errors() const noexcept;

    KeptResult(const KeptResult&) = delete;
    KeptResult& operator=(const KeptResult&) = delete;

private:
    friend class ResultStore;
    struct Details {
        std::string error;
        std::vector<protocol::AttemptError> errors;
        mutable zmq::message_t large_result;  // mutable: sharing it (zmq_msg_copy) takes a non-const message
    };

    KeptResult() = default;
    ~KeptResult() = default;
    const char* bytes() const noexcept { return reinterpret_cast<const char*>(this + 1); }
    char* bytes() noexcept { return reinterpret_cast<char*>(this + 1); }
    // The arena block this entry occupies.
    std::size_t block_bytes() const noexcept { return sizeof(KeptResult) + id_bytes + inline_result_bytes; }

    std::unique_ptr<Details> details_;
};

class ResultStore {
public:
    // `ttl` 0: no age limit, only `max_bytes` drops entries.
    ResultStore(std::chrono::milliseconds ttl, std::size_t max_bytes) : ttl_(ttl), max_bytes_(max_bytes) {}
    ~ResultStore();
    ResultStore(const ResultStore&) = delete;
    ResultStore& operator=(const ResultStore&) = delete;

    // Keeps `job` under `id`, evicting the oldest entries while over the memory bound. Takes the
    // error and history; `job.result` stays usable (a small result is copied, a large one shared).
    void add(std::string_view id, EndedJob& job);
    void add(std::string_view id, EndedJob&& job) { add(id, job); }
    // nullptr when unknown, expired or evicted.
    const KeptResult* find(std::string_view id) const noexcept { return entries_.find(id); }
    // Drops entries older than the TTL; returns how many.
    std::size_t expire(std::chrono::steady_clock::time_point now);

    std::size_t size() const noexcept { return entries_.size(); }
    std::size_t bytes() const noexcept { return bytes_; }
    std::uint64_t evicted() const noexcept { return evicted_; }
    // Calls f(entry) for every entry, oldest first (compaction snapshots).
    template <class F>
    void for_each(F&& f) const {
        arena_.for_each([](const void* block) { return static_cast<const KeptResult*>(block)->block_bytes(); },
                        [&](const void* block) { f(*static_cast<const KeptResult*>(block)); });
    }
    // Memory the entries' blocks hold (arena chunks), beside the index's slots.
    std::size_t reserved_bytes() const noexcept { return arena_.reserved_bytes(); }

private:
    static std::size_t cost_of(const KeptResult& entry) noexcept;
    void erase_oldest();
    // Worker names are kept once, counted by the entries naming them: names repeat across
    // thousands of results and a copy each would be an allocation per ended job.
    const std::string* intern_worker(std::string_view name);
    void release_worker(const std::string* name);

    std::chrono::milliseconds ttl_;
    std::size_t max_bytes_;
    std::size_t bytes_ = 0;
    std::uint64_t evicted_ = 0;
    KeptResult* oldest() const noexcept { return static_cast<KeptResult*>(arena_.oldest()); }

    // With one TTL for all, the order entries ended is also the order they expire.
    FifoArena arena_;
    containers::IdTable<KeptResult> entries_;
    // Looked up by string_view, so that a name already kept costs no allocation.
    struct NameHash {
        using is_transparent = void;
        std::size_t operator()(std::string_view name) const noexcept { return std::hash<std::string_view>{}(name); }
    };
    std::unordered_map<std::string, std::size_t, NameHash, std::equal_to<>> worker_names_;  // name -> entries naming it
};

}  // namespace corsair::broker
