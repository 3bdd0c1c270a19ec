// One page of a queue's jobs in one state, for LIST (docs/protocol.md §5.28): pending jobs in
// the order they will run, delayed ones soonest ready first, running ones oldest attempt first,
// failed ones (the dead set) newest first. Reads the jobs, changes nothing. Owned by the loop
// thread.
//
// Cost per page: pending and failed walk their lists from the cursor, O(page); delayed and
// running have no per-queue list, so a page scans every job the broker holds and sorts the
// queue's matches, O(jobs + matches log matches).
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <vector>

#include "corsair/protocol/messages.hpp"
#include "job_record.hpp"
#include "job_store.hpp"
#include "queue_state.hpp"
#include "wall_time.hpp"

namespace corsair::broker {

class QueueListing {
public:
    using TimePoint = std::chrono::steady_clock::time_point;

    QueueListing(const JobStore& jobs, const WallTime& wall) : jobs_(jobs), wall_(wall) {}

    // The page `request` asks for from `queue`, holding at most `budget_bytes` of entries (so
    // that the reply stays under the payload limit). A cursor naming a job that has left the
    // list starts the page from the list's start.
    protocol::ListReply page(const QueueState& queue, const protocol::ListRequest& request, std::size_t budget_bytes,
                             TimePoint now) const;

    // A job as LIST shows it; times the broker does not know are left out.
    protocol::ListedJob entry(const JobRecord& job, TimePoint now) const;
    // The wall-clock milliseconds of `at`, or nullopt for kUnknownTime.
    std::optional<std::uint64_t> wall_ms(TimePoint at, TimePoint now) const;

private:
    // The jobs of `queue` in `state`, in listing order (delayed and running only).
    std::vector<const JobRecord*> scanned(const QueueState& queue, JobState state) const;
    std::uint64_t total_of(const QueueState& queue, protocol::ListedState state) const;

    const JobStore& jobs_;
    const WallTime& wall_;
};

}  // namespace corsair::broker
