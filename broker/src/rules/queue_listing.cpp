#include "queue_listing.hpp"

#include <algorithm>
#include <tuple>

#include "queue_registry.hpp"
#include "worker_record.hpp"

namespace corsair::broker {

namespace p = corsair::protocol;

namespace {

JobState job_state_of(p::ListedState state) {
    switch (state) {
        case p::ListedState::pending: return JobState::pending;
        case p::ListedState::delayed: return JobState::delayed;
        case p::ListedState::running: return JobState::running;
        case p::ListedState::failed: return JobState::dead;
    }
    return JobState::pending;
}

// What the page's budget counts for one entry: its strings plus a fixed allowance for the rest.
std::size_t entry_bytes(const p::ListedJob& entry) {
    return 120 + entry.id.size() + entry.worker.size() + entry.error.size();
}

}  // namespace

std::optional<std::uint64_t> QueueListing::wall_ms(TimePoint at, TimePoint now) const {
    if (at == kUnknownTime) return std::nullopt;
    return wall_.ms_at(at, now);
}

p::ListedJob QueueListing::entry(const JobRecord& job, TimePoint now) const {
    const JobDetails& details = job.details();
    p::ListedJob entry;
    entry.id = job.id();
    entry.attempt = job.attempt;
    entry.counted_attempts = job.attempts_this_round();
    entry.max_attempts = max_attempts_of(job);
    entry.priority = job.priority;
    entry.payload_bytes = job.payload().size();
    entry.created_ms = wall_ms(job.created_at, now);
    if (job.state == JobState::delayed) entry.ready_at_ms = wall_.ms_at(details.ready_at, now);
    if (job.state == JobState::running) {
        entry.started_ms = wall_ms(job.state_since, now);
        if (job.lease_holder != nullptr) {
            entry.worker = job.lease_holder->name;
            entry.is_held_ready = job.lease_holder->holds_ready(job);
        }
    }
    if (job.state == JobState::dead) entry.died_ms = wall_.ms_at(details.died_at, now);
    entry.error = details.last_error.substr(0, p::kMaxHistoryErrorBytes);
    return entry;
}

std::vector<const JobRecord*> QueueListing::scanned(const QueueState& queue, JobState state) const {
    std::vector<const JobRecord*> found;
    jobs_.for_each([&](const JobRecord* job) {
        if (job->queue == &queue && job->state == state) found.push_back(job);
    });
    const auto key = [state](const JobRecord* job) {
        const TimePoint at = state == JobState::delayed ? job->details().ready_at : job->state_since;
        return std::make_tuple(at, job->sequence);
    };
    std::sort(found.begin(), found.end(), [&](const JobRecord* a, const JobRecord* b) { return key(a) < key(b); });
    return found;
}

std::uint64_t QueueListing::total_of(const QueueState& queue, p::ListedState state) const {
    switch (state) {
        case p::ListedState::pending: return queue.pending.size();
        case p::ListedState::delayed: return queue.delayed;
        case p::ListedState::running: return queue.in_flight;
        case p::ListedState::failed: return queue.dead.size();
    }
    return 0;
}

p::ListReply QueueListing::page(const QueueState& queue, const p::ListRequest& request, std::size_t budget_bytes,
                                TimePoint now) const {
    const JobState state = job_state_of(request.state);
    p::ListReply reply;
    reply.queue = queue.name;
    reply.state = request.state;
    reply.total = total_of(queue, request.state);
    const JobRecord* cursor = request.after.empty() ? nullptr : jobs_.find(request.after);
    if (cursor != nullptr && (cursor->queue != &queue || cursor->state != state)) cursor = nullptr;

    // The walk: the first job of the page, then each next one, in the state's order.
    std::vector<const JobRecord*> sorted;
    std::size_t at = 0;
    const JobRecord* job = nullptr;
    auto next_of = [&](const JobRecord* from) -> const JobRecord* {
        switch (request.state) {
            case p::ListedState::pending: return queue.pending.after(from);
            case p::ListedState::failed: return JobList::previous(from);
            default: return ++at < sorted.size() ? sorted[at] : nullptr;
        }
    };
    if (request.state == p::ListedState::pending) {
        job = cursor != nullptr ? queue.pending.after(cursor) : (queue.pending.empty() ? nullptr : queue.pending.front());
    } else if (request.state == p::ListedState::failed) {
        job = cursor != nullptr ? JobList::previous(cursor) : queue.dead.back();
    } else {
        sorted = scanned(queue, state);
        if (cursor != nullptr) at = static_cast<std::size_t>(std::find(sorted.begin(), sorted.end(), cursor) - sorted.begin()) + 1;
        job = at < sorted.size() ? sorted[at] : nullptr;
    }

    std::size_t bytes = 0;
    for (; job != nullptr; job = next_of(job)) {
        if (reply.jobs.size() >= request.limit) break;
        p::ListedJob listed = entry(*job, now);
        if (!reply.jobs.empty() && bytes + entry_bytes(listed) > budget_bytes) break;
        bytes += entry_bytes(listed);
        reply.jobs.push_back(std::move(listed));
    }
    if (job != nullptr && !reply.jobs.empty()) reply.next = reply.jobs.back().id;
    return reply;
}

}  // namespace corsair::broker
