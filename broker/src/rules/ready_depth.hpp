// How many jobs the broker leases a worker beyond its capacity, to hold ready (READY `prefetch`,
// protocol.md §11): for short jobs the whole prefetch, so that the next job is there when one ends
// and jobs and results travel many to a message; for long ones a single job, since one held ready
// already hides the round trip, and each more would only wait there (behind a worker that may
// die, or while another worker could have run it).
//
// The measure is the worker's pace: the time from one of its attempts ending to the next, or from
// the lease when that came later (so that idle time does not count), smoothed. With its slots
// busy that is a job's run time over the slots, which is how long a job held ready waits per job
// ahead of it. The broker holds ready as many jobs as the worker gets through in
// kReadyWorkBudget, at least one and at most its prefetch. The same pace sizes a worker's share
// of a dispatch pass (kPassWorkBudget, worker_record.hpp). Owned by the broker's loop thread.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace corsair::broker {

class ReadyDepth {
public:
    using TimePoint = std::chrono::steady_clock::time_point;

    // The work a worker's jobs held ready add up to, at its pace: 10 ms (docs/jobs.md, Prefetch).
    static constexpr std::chrono::nanoseconds kReadyWorkBudget = std::chrono::milliseconds(10);

    // An attempt of this worker ended at `now` (DONE, FAIL, or its timeout); `leased_at` is when
    // its lease was granted (time_point::min() when not known), so a job that came after the
    // previous ending counts from there.
    void attempt_ended(TimePoint leased_at, TimePoint now) noexcept {
        const TimePoint since = std::max(leased_at, last_end_);
        last_end_ = now;
        if (since == TimePoint{} || now < since) return;  // no earlier point to measure from
        const double gap = std::chrono::duration<double, std::nano>(now - since).count();
        // A weight of 1/8: the jobs of one DONES share a turn's time, so their gaps are the
        // first one's and zeros; a few such messages make the average.
        pace_ns_ = has_pace_ ? pace_ns_ + (gap - pace_ns_) / 8 : gap;
        has_pace_ = true;
    }

    // Jobs to hold ready now for a worker that announced `prefetch`: one until its pace is known.
    std::uint32_t depth(std::uint32_t prefetch) const noexcept {
        if (prefetch <= 1) return prefetch;
        return jobs_within(kReadyWorkBudget, prefetch);
    }

    // How many jobs the worker gets through in `budget` at its pace: at least one, at most `most`
    // (when that is at least one); one until its pace is known.
    std::uint32_t jobs_within(std::chrono::nanoseconds budget, std::uint32_t most) const noexcept {
        if (most <= 1 || !has_pace_) return 1;
        const double budget_ns = std::chrono::duration<double, std::nano>(budget).count();
        if (pace_ns_ * most <= budget_ns) return most;
        return std::max<std::uint32_t>(1, static_cast<std::uint32_t>(budget_ns / pace_ns_));
    }

private:
    TimePoint last_end_{};
    double pace_ns_ = 0;
    bool has_pace_ = false;
};

}  // namespace corsair::broker
