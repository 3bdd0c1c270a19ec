// An intrusive FIFO of jobs, linked through JobRecord::prev/next: a priority level's pending
// jobs, a worker's leases, a queue's dead set. Every operation is O(1) and allocates nothing; a
// job is in at most one list at a time. Owned by the broker's loop thread.
#pragma once

#include <cassert>
#include <cstddef>

#include "job_record.hpp"

namespace corsair::broker {

class JobList {
public:
    bool empty() const noexcept { return head_ == nullptr; }
    std::size_t size() const noexcept { return size_; }
    // The first job, or nullptr when empty; follow JobRecord::next for the rest.
    JobRecord* front() const noexcept { return head_; }

    void push_back(JobRecord* job) noexcept {
        assert(job->prev == nullptr && job->next == nullptr && head_ != job);
        job->prev = tail_;
        if (tail_ != nullptr) {
            tail_->next = job;
        } else {
            head_ = job;
        }
        tail_ = job;
        ++size_;
    }
    void push_front(JobRecord* job) noexcept {
        assert(job->prev == nullptr && job->next == nullptr && head_ != job);
        job->next = head_;
        if (head_ != nullptr) {
            head_->prev = job;
        } else {
            tail_ = job;
        }
        head_ = job;
        ++size_;
    }
    void pop_front() noexcept { erase(head_); }
    // `job` must be in this list.
    void erase(JobRecord* job) noexcept {
        assert(size_ > 0);
        if (job->prev != nullptr) {
            job->prev->next = job->next;
        } else {
            assert(head_ == job);
            head_ = job->next;
        }
        if (job->next != nullptr) {
            job->next->prev = job->prev;
        } else {
            assert(tail_ == job);
            tail_ = job->prev;
        }
        job->prev = nullptr;
        job->next = nullptr;
        --size_;
    }

private:
    JobRecord* head_ = nullptr;
    JobRecord* tail_ = nullptr;
    std::size_t size_ = 0;
};

}  // namespace corsair::broker
