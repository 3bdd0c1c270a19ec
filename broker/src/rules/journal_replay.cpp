#include "journal_replay.hpp"

#include <algorithm>
#include <vector>

namespace corsair::broker {

namespace p = corsair::protocol;

namespace {

template <class... F>
struct Overloaded : F... {
    using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

bool has_rare_fields(const p::RetryPolicy& retry, const std::optional<std::uint64_t>& timeout_ms,
                     const std::string& unique_key) {
    return retry.max_attempts || retry.backoff_ms || retry.backoff_max_ms || retry.backoff_jitter_pct || timeout_ms ||
           !unique_key.empty();
}

}  // namespace

void JournalReplay::replay(const JournalRecord& record, TimePoint now) {
    ++counts_.records;
    queues_.set_replaying(true);
    std::visit(Overloaded{
                   [&](const JournalSubmitted& r) { replay_submitted(r, now); },
                   [&](const JournalJob& r) { replay_whole_job(r, now); },
                   [&](const JournalQueueSettings& r) { apply(queues_.named(r.settings.queue).config, r.settings); },
                   [&](const JournalQueueDeleted& r) {
                       if (QueueState* queue = queues_.find(r.queue)) queues_.remove(*queue);
                   },
                   // Every other record names a job; one no longer held (ended and expired) is skipped.
                   [&](const auto& r) {
                       if (JobRecord* job = jobs_.find(r.id)) replay_job(*job, r, now);
                   },
               },
               record);
}

void JournalReplay::replay_whole_job(const JournalJob& r, TimePoint now) {
    if (jobs_.find(r.id) != nullptr || results_.find(r.id) != nullptr) return;
    using State = JournalJob::State;
    const bool has_ended = r.state == State::done || r.state == State::cancelled || r.state == State::purged;
    // A snapshot states every existing queue first: an ended job's queue that is missing was deleted.
    QueueState& queue = has_ended ? queues_.record_of(r.queue) : queues_.named(r.queue);
    JobRecord& job = jobs_.create(r.id, std::string_view(r.payload), queue, r.sequence);
    job.created_at = steady_or_unknown(r.created_ms, now);
    job.priority = r.priority;
    job.attempt = r.attempt;
    job.uncounted_attempts = r.uncounted_attempts;
    if (has_rare_fields(r.retry, r.timeout_ms, r.unique_key) || !r.errors.empty() || !r.last_error.empty()) {
        JobDetails& details = job.writable_details();
        details.retry = r.retry;
        details.timeout_ms = r.timeout_ms;
        details.unique_key = r.unique_key;
        details.errors = r.errors;
        details.last_error = r.last_error;
    }
    const TimePoint at = steady_or_now(r.at_ms, now);
    const EndedDetails ended{r.started_ms, r.worker, false};
    switch (r.state) {
        case State::done:
            keep_ended(job, p::JobState::done, p::make_payload(r.result), {}, r.at_ms, now, ended);
            return;
        case State::cancelled: keep_ended(job, p::JobState::cancelled, {}, "cancelled", r.at_ms, now, ended); return;
        case State::purged: keep_ended(job, p::JobState::failed, {}, r.last_error, r.at_ms, now, ended); return;
        case State::dead:
            states_.place(job, JobMove::dead(at));
            return;
        case State::running: states_.place(job, JobMove::unclaimed()); break;
        case State::delayed:
            if (at > now) {
                states_.place(job, JobMove::delayed(at));
                break;
            }
            [[fallthrough]];
        case State::pending:
            // A job that failed an attempt and waits for no backoff stood at the head of its queue.
            states_.place(job, r.errors.empty() ? JobMove::pending() : JobMove::pending_at_head());
            break;
    }
    jobs_.hold_unique_key(job);
}

void JournalReplay::replay_job(JobRecord& job, const JournalDispatched& r, TimePoint) {
    job.attempt = std::max(job.attempt, r.attempt);
    states_.place(job, JobMove::unclaimed());
}

void JournalReplay::replay_job(JobRecord& job, const JournalDone& r, TimePoint now) {
    job.attempt = std::max(job.attempt, r.attempt);
    keep_ended(job, p::JobState::done, p::make_payload(r.result), {}, r.ended_at_ms, now,
               EndedDetails{r.started_ms, r.worker, true});
}

void JournalReplay::replay_job(JobRecord& job, const JournalCancelled& r, TimePoint now) {
    keep_ended(job, p::JobState::cancelled, {}, "cancelled", r.ended_at_ms, now);
}

void JournalReplay::replay_job(JobRecord& job, const JournalPurged&, TimePoint now) {
    keep_ended(job, p::JobState::failed, {}, job.details().last_error, 0, now);
}

void JournalReplay::replay_job(JobRecord& job, const JournalReleased&, TimePoint) {
    ++job.uncounted_attempts;
    states_.place(job, JobMove::pending_at_head());
}

void JournalReplay::replay_submitted(const JournalSubmitted& r, TimePoint now) {
    if (jobs_.find(r.id) != nullptr || results_.find(r.id) != nullptr) return;
    JobRecord& job = jobs_.create(r.id, std::string_view(r.payload), queues_.named(r.queue), r.sequence);
    job.created_at = steady_or_unknown(r.created_ms, now);
    job.priority = r.priority;
    if (has_rare_fields(r.retry, r.timeout_ms, r.unique_key)) {
        JobDetails& details = job.writable_details();
        details.retry = r.retry;
        details.timeout_ms = r.timeout_ms;
        details.unique_key = r.unique_key;
    }
    jobs_.hold_unique_key(job);
    const TimePoint ready_at = steady_or_now(r.ready_at_ms, now);
    states_.place(job, ready_at > now ? JobMove::delayed(ready_at) : JobMove::pending());
}

void JournalReplay::replay_job(JobRecord& job, const JournalAttemptFailed& r, TimePoint now) {
    job.attempt = std::max(job.attempt, r.attempt);
    JobDetails& details = job.writable_details();
    details.errors.push_back({r.attempt, r.error.substr(0, p::kMaxHistoryErrorBytes)});
    if (details.errors.size() > p::kMaxAttemptsLimit) details.errors.erase(details.errors.begin());
    details.last_error = r.error;
    const TimePoint retry_at = steady_or_now(r.retry_at_ms, now);
    states_.place(job, retry_at > now ? JobMove::delayed(retry_at) : JobMove::pending_at_head());
}

void JournalReplay::replay_job(JobRecord& job, const JournalDead& r, TimePoint now) {
    states_.place(job, JobMove::dead(steady_or_now(r.died_at_ms, now)));
    jobs_.release_unique_key(job);
}

void JournalReplay::replay_job(JobRecord& job, const JournalRetried&, TimePoint) {
    job.uncounted_attempts = job.attempt;
    jobs_.hold_unique_key(job);
    states_.place(job, JobMove::pending());
}

void JournalReplay::keep_ended(JobRecord& job, p::JobState state, zmq::message_t result, std::string error,
                               std::uint64_t ended_at_ms, TimePoint now, const EndedDetails& details) {
    states_.place(job, JobMove::ended());
    const TimePoint ended_at = steady_or_now(ended_at_ms, now);
    jobs_.release_unique_key(job);
    const auto ttl = context_.options.result_ttl;
    if (ttl.count() == 0 || now - ended_at < ttl) {  // a TTL of 0 is no age limit
        EndedJob ended = JobEndings::ended_record(job, state, std::move(result), std::move(error), ended_at);
        ended.started_at = steady_or_unknown(details.started_ms, now);
        ended.worker = details.worker;
        ended.payload_is_known = details.is_payload_known;
        results_.add(job.id(), ended);
    }
    jobs_.destroy(job);
}

RecoveryCounts JournalReplay::finish(TimePoint now) {
    queues_.set_replaying(false);
    // Running at the stop: unclaimed, until their workers announce them again or the re-adoption
    // window closes (LeaseAdoption).
    counts_.running_at_stop = states_.unclaimed().size();
    queues_.for_each([&](QueueState& queue) {
        counts_.pending += queue.pending.size();
        counts_.delayed += queue.delayed;
        counts_.dead += queue.dead.size();
        endings_.expire_dead(queue, now);
    });
    counts_.results = results_.size();
    counts_.queues = queues_.size();
    return counts_;
}

std::uint64_t JournalReplay::estimated_snapshot_bytes() const noexcept {
    // About what a live job's records cost besides its payload (id, queue, field names, framing),
    // rounded up (docs/performance.md). An ended job's memory cost (ResultStore) stands in for its
    // records: both are its id, queue and result plus about a hundred bytes.
    constexpr std::uint64_t kRecordBytesPerJob = 96;
    return jobs_.live_payload_bytes() + kRecordBytesPerJob * jobs_.size() + results_.bytes();
}

}  // namespace corsair::broker
