// One job the broker holds while it is pending or running (ended jobs live in ResultStore).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include <zmq.hpp>

#include "corsair/protocol/messages.hpp"

namespace corsair::broker {

struct WorkerRecord;

struct JobRecord {
    std::string id;
    std::string queue;
    zmq::message_t payload;  // kept until the job ends, so a requeue can resend it
    protocol::JobState state = protocol::JobState::pending;
    std::uint32_t attempt = 0;          // attempts started; the current lease is (id, attempt)
    std::uint64_t sequence = 0;         // submission order, for FIFO requeue of a dead worker's jobs
    WorkerRecord* lease_holder = nullptr;  // set while running
    std::string reply_to;               // producer routing id awaiting RESULT, or empty
};

}  // namespace corsair::broker
