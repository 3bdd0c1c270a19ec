// One named queue: its pending jobs (FIFO, requeued jobs at the head) and the workers serving it
// that have credit, least recently used first.
#pragma once

#include <cstdint>
#include <deque>
#include <list>
#include <string>

namespace corsair::broker {

struct JobRecord;
struct WorkerRecord;

struct QueueState {
    std::string name;
    std::deque<JobRecord*> pending;
    std::list<WorkerRecord*> idle_workers;  // front = least recently given a job
    std::uint64_t in_flight = 0;
    std::uint64_t done = 0;
    std::uint64_t failed = 0;
    bool is_dirty = false;  // queued for a dispatch pass at the end of the current event
};

}  // namespace corsair::broker
