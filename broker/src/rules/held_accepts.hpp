// ACCEPTEDs a producer let wait (SUBMIT accept_within_ms, docs/protocol.md §5.1): each is sent
// when its time is up, or left out when the job's RESULT goes to the producer first, since a
// RESULT acknowledges the job too. A producer that waits for results then sees two messages per
// job instead of three, which on a loaded machine is a third of its wake-ups.
//
// Every operation is O(1) and allocates nothing per job beyond deque growth: held ACCEPTEDs sit
// in FIFO lanes, one per rounded wait (so deadlines within a lane only grow), and a job keeps
// its ticket (lane and position) so that its RESULT can cancel the entry in place. Owned by the
// broker's loop thread.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>

#include "job_record.hpp"

namespace corsair::broker {

class HeldAccepts {
public:
    using TimePoint = std::chrono::steady_clock::time_point;

    // Holds `job`'s ACCEPTED until `now + within`, rounded down to a lane; within > 0.
    void hold(JobRecord& job, std::chrono::milliseconds within, TimePoint now) {
        std::size_t lane = 0;
        while (lane + 1 < kLaneMs.size() && kLaneMs[lane + 1] <= within.count()) ++lane;
        Lane& l = lanes_[lane];
        l.entries.push_back(Entry{now + std::chrono::milliseconds(kLaneMs[lane]), &job});
        job.held_accept = (static_cast<std::uint64_t>(lane) << kLaneShift) |
                          (l.first_position + l.entries.size());  // positions start at 1: 0 = none
        ++held_;
    }

    // Forgets `job`'s held ACCEPTED, if any: its RESULT or another ACCEPTED answers for it.
    // True if one was held.
    bool release(JobRecord& job) {
        if (job.held_accept == 0) return false;
        Lane& l = lanes_[job.held_accept >> kLaneShift];
        const std::uint64_t position = job.held_accept & kPositionMask;
        l.entries[position - 1 - l.first_position].job = nullptr;
        job.held_accept = 0;
        --held_;
        drop_released_front(l);
        return true;
    }

    std::optional<TimePoint> next_due() const {
        std::optional<TimePoint> earliest;
        if (held_ == 0) return earliest;
        for (const Lane& l : lanes_) {
            if (!l.entries.empty() && (!earliest || l.entries.front().due < *earliest)) earliest = l.entries.front().due;
        }
        return earliest;
    }

    // Calls `send(job)` for every held ACCEPTED due at `now`, oldest first within a lane, after
    // forgetting it.
    template <class Send>
    void fire(TimePoint now, Send&& send) {
        for (Lane& l : lanes_) {
            while (!l.entries.empty() && l.entries.front().due <= now) {
                JobRecord* job = l.entries.front().job;
                l.entries.pop_front();
                ++l.first_position;
                if (job == nullptr) continue;
                job->held_accept = 0;
                --held_;
                send(*job);
            }
            drop_released_front(l);
        }
    }

    std::size_t size() const noexcept { return held_; }

private:
    // The waits a request is rounded down to: an ACCEPTED is never later than asked.
    static constexpr std::array<std::int64_t, 15> kLaneMs{1,    2,    5,    10,   20,    50,    100,  200,
                                                          500,  1000, 2000, 5000, 10000, 20000, 60000};
    static constexpr int kLaneShift = 56;
    static constexpr std::uint64_t kPositionMask = (std::uint64_t{1} << kLaneShift) - 1;

    struct Entry {
        TimePoint due;
        JobRecord* job;  // nullptr once released
    };
    struct Lane {
        std::deque<Entry> entries;
        std::uint64_t first_position = 0;  // entries popped from this lane so far
    };

    static void drop_released_front(Lane& l) {
        while (!l.entries.empty() && l.entries.front().job == nullptr) {
            l.entries.pop_front();
            ++l.first_position;
        }
    }

    std::array<Lane, kLaneMs.size()> lanes_{};
    std::size_t held_ = 0;
};

}  // namespace corsair::broker
