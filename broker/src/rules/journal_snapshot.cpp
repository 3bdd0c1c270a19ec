// JournalReplay::write_snapshot: the records a compacted journal starts with.
#include <algorithm>
#include <vector>

#include "journal_replay.hpp"

namespace corsair::broker {

namespace p = corsair::protocol;

namespace {

// Ended jobs within their TTL: enough to answer STATUS and a late resubmission.
template <class Put>
void put_ended(const KeptResult& ended, std::uint64_t ended_ms, Put&& put) {
    const std::string id(ended.id());
    put(JournalSubmitted{id, *ended.queue, {}, ended.priority, {}, {}, 0, {}, 0});
    for (const auto& e : ended.errors()) put(JournalAttemptFailed{id, e.attempt, e.error, false, 0});
    if (ended.state == p::JobState::done) {
        put(JournalDone{id, ended.attempt, std::string(ended.result()), ended_ms});
    } else if (ended.state == p::JobState::cancelled) {
        put(JournalCancelled{id, ended_ms});
    } else {
        put(JournalPurged{id});
    }
}

// A live job as the records that rebuild it. The attempt count is restored with a Dispatched +
// Retried pair, since this record format has no field for it.
template <class Put>
void put_live(const JobRecord& job, const WallTime& wall, std::chrono::steady_clock::time_point now, Put&& put) {
    const JobDetails& details = job.details();
    const std::string id(job.id());
    // A job delayed by --delay/--at that never ran keeps its ready time in the submit itself.
    const bool is_first_delay = job.state == JobState::delayed && details.errors.empty();
    put(JournalSubmitted{id, job.queue->name, std::string(job.payload()), job.priority, details.retry,
                         details.timeout_ms, is_first_delay ? wall.ms_at(details.ready_at, now) : 0,
                         details.unique_key, job.sequence});
    if (job.uncounted_attempts > 0) {
        put(JournalDispatched{id, job.uncounted_attempts});
        put(JournalRetried{id});
    }
    for (std::size_t i = 0; i < details.errors.size(); ++i) {
        const auto& e = details.errors[i];
        const bool is_last = i + 1 == details.errors.size();
        const std::uint64_t retry_at = is_last && job.state == JobState::delayed ? wall.ms_at(details.ready_at, now) : 0;
        put(JournalAttemptFailed{id, e.attempt, is_last ? details.last_error : e.error, false, retry_at});
    }
    switch (job.state) {
        case JobState::running: put(JournalDispatched{id, job.attempt}); break;
        case JobState::dead: put(JournalDead{id, wall.ms_at(details.died_at, now)}); break;
        default:
            if (job.attempt > job.uncounted_attempts && details.errors.empty()) {
                put(JournalDispatched{id, job.attempt});  // taken back from a worker that left
            }
            break;
    }
}

}  // namespace

std::size_t JournalReplay::write_snapshot(std::string& out, TimePoint now, std::size_t chunk_bytes,
                                          const std::function<void(std::string&)>& drain) const {
    std::size_t records = 0;
    auto put = [&](const JournalRecord& record) {
        encode(record, out);
        ++records;
        if (drain && out.size() >= chunk_bytes) drain(out);
    };
    queues_.for_each([&](const QueueState& queue) { put(JournalQueueSettings{settings_of(queue)}); });
    results_.for_each([&](const KeptResult& ended) { put_ended(ended, context_.wall.ms_at(ended.ended_at, now), put); });
    std::vector<const JobRecord*> live;
    live.reserve(jobs_.size());
    jobs_.for_each([&](const JobRecord* job) { live.push_back(job); });
    std::sort(live.begin(), live.end(), [](const JobRecord* a, const JobRecord* b) { return a->sequence < b->sequence; });
    for (const JobRecord* job : live) put_live(*job, context_.wall, now, put);
    return records;
}

}  // namespace corsair::broker
