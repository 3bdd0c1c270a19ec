// JournalReplay::write_snapshot: the records a compacted journal starts with: the queues' settings,
// then one `job` record per job kept (docs/durability.md).
#include <algorithm>
#include <vector>

#include "journal_replay.hpp"

namespace corsair::broker {

namespace p = corsair::protocol;

namespace {

JournalJob::State journal_state_of(JobState state) {
    switch (state) {
        case JobState::delayed: return JournalJob::State::delayed;
        case JobState::running:
        case JobState::unclaimed: return JournalJob::State::running;
        case JobState::dead: return JournalJob::State::dead;
        default: return JournalJob::State::pending;
    }
}

std::optional<std::uint64_t> wall_ms_of(std::chrono::steady_clock::time_point at, const WallTime& wall,
                                        std::chrono::steady_clock::time_point now) {
    if (at == kUnknownTime) return std::nullopt;
    return wall.ms_at(at, now);
}

JournalJob live_record(const JobRecord& job, const WallTime& wall, std::chrono::steady_clock::time_point now) {
    const JobDetails& details = job.details();
    JournalJob r;
    r.id = job.id();
    r.queue = job.queue->name;
    r.state = journal_state_of(job.state);
    r.payload = job.payload();
    r.priority = job.priority;
    r.retry = details.retry;
    r.timeout_ms = details.timeout_ms;
    r.unique_key = details.unique_key;
    r.sequence = job.sequence;
    r.attempt = job.attempt;
    r.uncounted_attempts = job.uncounted_attempts;
    r.errors = details.errors;
    r.last_error = details.last_error;
    if (job.state == JobState::delayed) r.at_ms = wall.ms_at(details.ready_at, now);
    if (job.state == JobState::dead) r.at_ms = wall.ms_at(details.died_at, now);
    r.created_ms = wall_ms_of(job.created_at, wall, now);
    return r;
}

// Ended jobs within their TTL: enough to answer STATUS and a late resubmission.
JournalJob ended_record(const KeptResult& ended, const WallTime& wall, std::chrono::steady_clock::time_point now) {
    JournalJob r;
    r.id = ended.id();
    r.queue = *ended.queue;
    r.state = ended.state == p::JobState::done        ? JournalJob::State::done
              : ended.state == p::JobState::cancelled ? JournalJob::State::cancelled
                                                      : JournalJob::State::purged;
    r.priority = ended.priority;
    r.retry.max_attempts = ended.max_attempts;
    r.attempt = ended.attempt;
    r.uncounted_attempts = ended.uncounted_attempts;
    r.errors = ended.errors();
    r.last_error = ended.error();
    r.at_ms = wall.ms_at(ended.ended_at, now);
    r.result = ended.result();
    r.created_ms = wall_ms_of(ended.created_at, wall, now);
    r.started_ms = wall_ms_of(ended.started_at, wall, now);
    if (ended.worker != nullptr) r.worker = *ended.worker;
    return r;
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
    results_.for_each([&](const KeptResult& ended) { put(ended_record(ended, context_.wall, now)); });
    std::vector<const JobRecord*> live;
    live.reserve(jobs_.size());
    jobs_.for_each([&](const JobRecord* job) { live.push_back(job); });
    std::sort(live.begin(), live.end(), [](const JobRecord* a, const JobRecord* b) { return a->sequence < b->sequence; });
    for (const JobRecord* job : live) put(live_record(*job, context_.wall, now));
    return records;
}

}  // namespace corsair::broker
