// A queue's jobs that are ready to run: higher priority first, FIFO among equal priorities,
// with jobs taken back from a dead worker put ahead of their priority's others (docs/jobs.md).
// One intrusive FIFO (JobList) per priority level in use, so push, pop and removing any job
// (cancel) allocate nothing and cost O(log L) for L levels in use, plus, when a level empties,
// a step over the empty levels below it. Owned by the broker's loop thread.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "job_list.hpp"

namespace corsair::broker {

class PendingQueue {
public:
    void push_back(JobRecord* job) {
        const std::size_t level = level_of(job->priority);
        levels_[level].jobs.push_back(job);
        note_pushed(level);
    }
    void push_front(JobRecord* job) {
        const std::size_t level = level_of(job->priority);
        levels_[level].jobs.push_front(job);
        note_pushed(level);
    }

    bool empty() const noexcept { return size_ == 0; }
    std::size_t size() const noexcept { return size_; }
    // The job that runs next; the queue must not be empty.
    JobRecord* front() const noexcept { return levels_[top_].jobs.front(); }
    void pop_front() noexcept {
        levels_[top_].jobs.pop_front();
        note_removed(top_);
    }
    // The job that runs after `job` (nullptr: none), for listing in run order; `job` must be in
    // this queue. O(1) within a priority, O(log L) plus the empty levels when crossing to the next.
    JobRecord* after(const JobRecord* job) const noexcept {
        if (JobRecord* next = JobList::next(job)) return next;
        for (std::size_t level = find_level(job->priority) + 1; level < levels_.size(); ++level) {
            if (!levels_[level].jobs.empty()) return levels_[level].jobs.front();
        }
        return nullptr;
    }
    // Calls f(job) for the job at the head of each priority level in use (STATS' queue latency).
    template <class F>
    void for_each_head(F&& f) const {
        for (const Level& level : levels_) {
            if (!level.jobs.empty()) f(*level.jobs.front());
        }
    }
    // `job` must be in this queue.
    void erase(JobRecord* job) noexcept {
        const std::size_t level = find_level(job->priority);
        levels_[level].jobs.erase(job);
        note_removed(level);
    }

private:
    struct Level {
        std::int32_t priority;
        JobList jobs;
    };

    // Index of `priority`'s level, which exists.
    std::size_t find_level(std::int32_t priority) const noexcept {
        if (levels_.size() == 1) return 0;
        auto it = std::lower_bound(levels_.begin(), levels_.end(), priority,
                                   [](const Level& l, std::int32_t p) { return l.priority > p; });
        return static_cast<std::size_t>(it - levels_.begin());
    }
    // Index of `priority`'s level, added when first used. Levels stay once added (at most one
    // per priority value), so a queue that keeps emptying allocates nothing.
    std::size_t level_of(std::int32_t priority) {
        if (levels_.size() == 1 && levels_[0].priority == priority) return 0;
        auto it = std::lower_bound(levels_.begin(), levels_.end(), priority,
                                   [](const Level& l, std::int32_t p) { return l.priority > p; });
        const auto index = static_cast<std::size_t>(it - levels_.begin());
        if (it == levels_.end() || it->priority != priority) {
            levels_.insert(it, Level{priority, {}});
            if (index <= top_) ++top_;
        }
        return index;
    }
    void note_pushed(std::size_t level) noexcept {
        ++size_;
        if (level < top_) top_ = level;
    }
    void note_removed(std::size_t level) noexcept {
        --size_;
        if (level != top_) return;
        while (top_ < levels_.size() && levels_[top_].jobs.empty()) ++top_;
    }

    std::vector<Level> levels_;  // every priority used so far, highest first
    std::size_t top_ = 0;        // the first non-empty level; levels_.size() when none
    std::size_t size_ = 0;
};

}  // namespace corsair::broker
