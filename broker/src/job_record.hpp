// One job the broker holds while it is pending, delayed, running or dead (in its queue's dead
// set). Ended jobs (done, cancelled, purged) live in ResultStore.
#pragma once

#include <chrono>
#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "corsair/protocol/messages.hpp"
#include "corsair/broker/timer_queue.hpp"

namespace corsair::broker {

struct WorkerRecord;
struct JobRecord;

using JobTimers = TimerQueue<JobRecord*>;  // also declared in scheduler.hpp

struct JobRecord {
    std::string id;
    std::string queue;
    zmq::message_t payload;  // kept until the job ends, so a retry can resend it
    protocol::JobState state = protocol::JobState::pending;
    std::uint32_t attempt = 0;     // attempts started; the current lease is (id, attempt)
    std::uint32_t first_attempt_of_round = 0;  // attempts before this round (RETRY starts a round)
    std::uint64_t sequence = 0;    // submission order, for FIFO requeue of a dead worker's jobs
    WorkerRecord* lease_holder = nullptr;  // set while running
    std::string reply_to;          // producer routing id awaiting RESULT and PROGRESS, or empty
    std::uint64_t held_accept = 0;  // HeldAccepts ticket while reply_to's ACCEPTED waits; 0 = none

    // What the producer asked for; absent fields follow the queue's settings.
    std::int32_t priority = 0;
    protocol::RetryPolicy retry;
    std::optional<std::uint64_t> timeout_ms;
    std::string unique_key;

    std::vector<protocol::AttemptError> errors;  // failed attempts, oldest first (the last kMaxAttemptsLimit)
    std::string last_error;                      // the last failed attempt's whole error text
    std::optional<std::uint32_t> progress;       // percent, while running
    std::string progress_message;

    std::int64_t pending_order = 0;              // position key in PendingQueue
    std::optional<JobTimers::Handle> ready_timer;  // while delayed
    std::optional<JobTimers::Handle> lease_timer;  // while running with a timeout
    std::chrono::steady_clock::time_point ready_at{};  // while delayed
    std::chrono::steady_clock::time_point died_at{};   // while dead
    std::list<JobRecord*>::iterator dead_position{};   // while dead

    std::uint32_t attempts_this_round() const noexcept { return attempt - first_attempt_of_round; }
};

}  // namespace corsair::broker
