// One job the broker holds while it is pending, delayed, running or dead (in its queue's dead
// set). Ended jobs (done, cancelled, purged) live in ResultStore. Owned by the broker's loop thread.
//
// Memory is the design constraint (docs/performance.md: a million pending jobs): a record is one
// allocation holding the fields every job needs, then its id bytes, then its payload bytes when
// the payload is small. Fields that few jobs set (a retry policy, a timeout, a unique key, errors,
// progress, timers) live in JobDetails, allocated the first time one of them is set.
#pragma once

#include <cassert>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <zmq.hpp>

#include "corsair/broker/outbox.hpp"
#include "corsair/broker/timer_queue.hpp"
#include "corsair/protocol/messages.hpp"
#include "job_state.hpp"

namespace corsair::broker {

struct WorkerRecord;
struct QueueState;
struct JobRecord;

using JobTimers = TimerQueue<JobRecord*>;

// A time the broker does not know (a job replayed from a journal that did not record it).
inline constexpr std::chrono::steady_clock::time_point kUnknownTime = std::chrono::steady_clock::time_point::min();

// Payloads and results up to this size are kept as exact-size copies inside the broker's own
// records. libzmq receives small messages into shared 8 KiB buffers (ZMQ_IN_BATCH_SIZE) and hands
// out frames pointing into them, so a kept frame would pin its whole buffer; larger frames have a
// buffer of their own and are kept as they are.
inline constexpr std::size_t kInlinePayloadBytes = 8192;

// A job's rarely set fields.
struct JobDetails {
    // What the producer asked for; absent fields follow the queue's settings.
    protocol::RetryPolicy retry;
    std::optional<std::uint64_t> timeout_ms;
    std::string unique_key;

    std::vector<protocol::AttemptError> errors;  // failed attempts, oldest first (the last kMaxAttemptsLimit)
    std::string last_error;                      // the last failed attempt's whole error text
    std::optional<std::uint32_t> progress;       // percent, while running
    std::string progress_message;

    std::optional<JobTimers::Handle> ready_timer;  // while delayed
    std::optional<JobTimers::Handle> lease_timer;  // while running with a timeout
    std::chrono::steady_clock::time_point ready_at{};  // while delayed
    std::chrono::steady_clock::time_point died_at{};   // while dead
    zmq::message_t large_payload;  // a payload over kInlinePayloadBytes (the record holds no bytes then)
};

struct JobRecord {
    // Links of the one JobList the job is in: its priority's pending FIFO, its lease holder's
    // leases, or its queue's dead set. A job is in at most one of them at a time.
    JobRecord* prev = nullptr;
    JobRecord* next = nullptr;

    QueueState* queue = nullptr;           // queues are never destroyed while the scheduler lives
    WorkerRecord* lease_holder = nullptr;  // set while running
    const RoutingId* reply_to = nullptr;   // producer awaiting RESULT and PROGRESS (interned), or none
    std::uint64_t sequence = 0;     // submission order, for FIFO requeue of a dead worker's jobs
    std::uint64_t held_accept = 0;  // HeldAccepts ticket while reply_to's ACCEPTED waits; 0 = none
    // When the broker accepted the job, and when it entered its state (JobStates stamps it):
    // for a pending job the start of its wait (queue latency), for a running one its attempt's start.
    std::chrono::steady_clock::time_point created_at = kUnknownTime;
    std::chrono::steady_clock::time_point state_since = kUnknownTime;
    std::uint32_t attempt = 0;      // attempts started; the current lease is (id, attempt)
    std::uint32_t uncounted_attempts = 0;  // attempts not counted against max_attempts: before the last RETRY, or given back
    std::int32_t priority = 0;
    std::uint32_t id_hash = 0;  // IdTable's, so that it moves entries without reading the id
    std::uint32_t inline_payload_bytes = 0;
    std::uint8_t id_bytes = 0;  // ids are at most kMaxJobIdBytes (128)
    JobState state = JobState::created;  // changed only by JobStates (job_states.hpp)
    bool has_large_payload = false;  // in details().large_payload, not in the record
    // Its first dispatch is in its queue's wait histogram: a dispatch undone (the worker's
    // connection full or gone) and made again does not count twice. Fits in the padding.
    bool is_wait_counted = false;
    // A RECALL went to its lease holder for the current attempt (Dispatcher::recall_ready_jobs);
    // cleared when the attempt ends, however it ends.
    bool is_recall_sent = false;

    // A new record for `id` whose payload is `payload`: copied into the record when small, else
    // kept as it is. Throws std::bad_alloc. Free it with destroy().
    static JobRecord* create(std::string_view id, zmq::message_t&& payload) {
        if (payload.size() <= kInlinePayloadBytes) return allocate(id, protocol::view_of(payload));
        JobRecord* job = allocate(id, {});
        job->writable_details().large_payload = std::move(payload);
        job->has_large_payload = true;
        return job;
    }
    // The same from bytes (a journal replay).
    static JobRecord* create(std::string_view id, std::string_view payload) {
        if (payload.size() <= kInlinePayloadBytes) return allocate(id, payload);
        return create(id, protocol::make_payload(payload));
    }
    static void destroy(JobRecord* job) noexcept {
        job->~JobRecord();
        ::operator delete(job);
    }

    std::string_view id() const noexcept { return {bytes(), id_bytes}; }
    std::string_view payload() const noexcept {
        if (has_large_payload) return protocol::view_of(details_->large_payload);
        return {bytes() + id_bytes, inline_payload_bytes};
    }
    // A message carrying the payload, for a JOB: a copy of small payloads (the record may be gone
    // before libzmq sends it), the shared buffer of large ones.
    zmq::message_t payload_message() {
        if (has_large_payload) {
            zmq::message_t shared;
            shared.copy(details_->large_payload);
            return shared;
        }
        return zmq::message_t(bytes() + id_bytes, inline_payload_bytes);
    }

    // The rare fields, or their defaults when none was ever set.
    const JobDetails& details() const noexcept { return details_ != nullptr ? *details_ : no_details(); }
    // The rare fields to change, allocated on first use. Throws std::bad_alloc.
    JobDetails& writable_details() {
        if (details_ == nullptr) details_ = std::make_unique<JobDetails>();
        return *details_;
    }
    bool has_details() const noexcept { return details_ != nullptr; }

    std::uint32_t attempts_this_round() const noexcept { return attempt - uncounted_attempts; }

    JobRecord(const JobRecord&) = delete;
    JobRecord& operator=(const JobRecord&) = delete;

private:
    JobRecord() = default;
    ~JobRecord() = default;

    std::unique_ptr<JobDetails> details_;  // see details() and writable_details()

    static JobRecord* allocate(std::string_view id, std::string_view inline_payload) {
        assert(id.size() <= UINT8_MAX);
        void* memory = ::operator new(sizeof(JobRecord) + id.size() + inline_payload.size());
        auto* job = new (memory) JobRecord();
        job->id_bytes = static_cast<std::uint8_t>(id.size());
        job->inline_payload_bytes = static_cast<std::uint32_t>(inline_payload.size());
        std::memcpy(job->bytes(), id.data(), id.size());
        if (!inline_payload.empty()) std::memcpy(job->bytes() + id.size(), inline_payload.data(), inline_payload.size());
        return job;
    }
    char* bytes() noexcept { return reinterpret_cast<char*>(this + 1); }
    const char* bytes() const noexcept { return reinterpret_cast<const char*>(this + 1); }
    static const JobDetails& no_details() noexcept {
        static const JobDetails none;
        return none;
    }
};

// Frees a JobRecord (for std::unique_ptr).
struct JobRecordDeleter {
    void operator()(JobRecord* job) const noexcept { JobRecord::destroy(job); }
};

}  // namespace corsair::broker
