// A queue's jobs that are ready to run: higher priority first, FIFO among equal priorities,
// with jobs taken back from a dead worker put ahead of their priority's others. Removing any
// job (cancel) is O(log n). Owned by the broker's loop thread.
#pragma once

#include <cstdint>
#include <set>

#include "job_record.hpp"

namespace corsair::broker {

class PendingQueue {
public:
    void push_back(JobRecord* job) { insert(job, ++tail_); }
    void push_front(JobRecord* job) { insert(job, --head_); }

    bool empty() const noexcept { return entries_.empty(); }
    std::size_t size() const noexcept { return entries_.size(); }
    JobRecord* front() const { return entries_.begin()->job; }
    void pop_front() { entries_.erase(entries_.begin()); }
    void erase(JobRecord* job) { entries_.erase(Entry{job->priority, job->pending_order, job}); }

private:
    struct Entry {
        std::int32_t priority;
        std::int64_t order;
        JobRecord* job;
    };
    struct RunsFirst {
        bool operator()(const Entry& a, const Entry& b) const noexcept {
            if (a.priority != b.priority) return a.priority > b.priority;
            return a.order < b.order;
        }
    };

    void insert(JobRecord* job, std::int64_t order) {
        job->pending_order = order;
        entries_.insert(Entry{job->priority, order, job});
    }

    std::set<Entry, RunsFirst> entries_;
    std::int64_t head_ = 0;  // decreases: push_front goes before everything of its priority
    std::int64_t tail_ = 0;
};

}  // namespace corsair::broker
