// Rebuilding the Scheduler's state from its journal at startup, and writing the snapshot that
// compaction replaces the journal with (docs/durability.md). Loop thread only.
#include <algorithm>

#include "corsair/broker/scheduler.hpp"
#include "job_record.hpp"
#include "job_table.hpp"
#include "queue_state.hpp"
#include "result_store.hpp"
#include "worker_record.hpp"

namespace corsair::broker {

namespace p = corsair::protocol;

namespace {

template <class... F>
struct Overloaded : F... {
    using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

}  // namespace

// Takes `job` out of whatever structure its state keeps it in (state unchanged).
static void detach(JobRecord& job, JobTimers& ready_timers) {
    QueueState& queue = *job.queue;
    switch (job.state) {
        case p::JobState::pending: queue.pending.erase(&job); break;
        case p::JobState::delayed: {
            JobDetails& details = job.writable_details();
            if (details.ready_timer) ready_timers.cancel(*details.ready_timer);
            details.ready_timer.reset();
            --queue.delayed;
            break;
        }
        case p::JobState::failed: queue.dead.erase(&job); break;
        default: break;  // running at the crash: in no structure until finish_recovery()
    }
}

void Scheduler::recover(const JournalRecord& record, TimePoint now) {
    ++recovered_.records;
    auto find = [this](const std::string& id) -> JobRecord* { return jobs_->find(id); };
    auto keep_ended = [&](JobRecord& job, p::JobState state, zmq::message_t result, std::string error,
                          std::uint64_t ended_at_ms) {
        const TimePoint ended_at = ended_at_ms != 0 ? steady_at(ended_at_ms, now) : now;
        release_unique_key(job);
        if (now - ended_at < options_.result_ttl) {
            results_->add(job.id(), ended_record(job, state, std::move(result), std::move(error), ended_at));
        }
        destroy_job(job);
    };
    std::visit(
        Overloaded{
            [&](const JournalSubmitted& r) {
                if (jobs_->find(r.id) != nullptr || results_->find(r.id) != nullptr) return;
                std::unique_ptr<JobRecord, JobRecordDeleter> created(JobRecord::create(r.id, std::string_view(r.payload)));
                jobs_->insert(created.get());
                JobRecord& job = *created.release();
                job.queue = &queue_named(r.queue);
                live_payload_bytes_ += job.payload().size();
                job.priority = r.priority;
                if (r.retry.max_attempts || r.retry.backoff_ms || r.retry.backoff_max_ms || r.retry.backoff_jitter_pct ||
                    r.timeout_ms || !r.unique_key.empty()) {
                    JobDetails& details = job.writable_details();
                    details.retry = r.retry;
                    details.timeout_ms = r.timeout_ms;
                    details.unique_key = r.unique_key;
                }
                job.sequence = r.sequence;
                next_sequence_ = std::max(next_sequence_, r.sequence + 1);
                if (!r.unique_key.empty()) unique_jobs_.emplace(r.queue + '\n' + r.unique_key, r.id);
                const TimePoint ready_at = r.ready_at_ms != 0 ? steady_at(r.ready_at_ms, now) : now;
                if (ready_at > now) {
                    delay_until(job, ready_at);
                } else {
                    make_pending(job, false);
                }
            },
            [&](const JournalDispatched& r) {
                JobRecord* job = find(r.id);
                if (job == nullptr) return;
                detach(*job, ready_timers_);
                job->attempt = std::max(job->attempt, r.attempt);
                job->state = p::JobState::running;
            },
            [&](const JournalDone& r) {
                JobRecord* job = find(r.id);
                if (job == nullptr) return;
                detach(*job, ready_timers_);
                job->attempt = std::max(job->attempt, r.attempt);
                ++job->queue->done;
                keep_ended(*job, p::JobState::done, p::make_payload(r.result), {}, r.ended_at_ms);
            },
            [&](const JournalAttemptFailed& r) {
                JobRecord* job = find(r.id);
                if (job == nullptr) return;
                detach(*job, ready_timers_);
                job->attempt = std::max(job->attempt, r.attempt);
                JobDetails& details = job->writable_details();
                details.errors.push_back({r.attempt, r.error.substr(0, p::kMaxHistoryErrorBytes)});
                if (details.errors.size() > p::kMaxAttemptsLimit) details.errors.erase(details.errors.begin());
                details.last_error = r.error;
                const TimePoint retry_at = r.retry_at_ms != 0 ? steady_at(r.retry_at_ms, now) : now;
                if (retry_at > now) {
                    delay_until(*job, retry_at);
                } else {
                    make_pending(*job, true);
                }
            },
            [&](const JournalDead& r) {
                JobRecord* job = find(r.id);
                if (job == nullptr) return;
                QueueState& queue = *job->queue;
                detach(*job, ready_timers_);
                job->state = p::JobState::failed;
                job->writable_details().died_at = r.died_at_ms != 0 ? steady_at(r.died_at_ms, now) : now;
                queue.dead.push_back(job);
                ++queue.failed;
                release_unique_key(*job);
            },
            [&](const JournalCancelled& r) {
                JobRecord* job = find(r.id);
                if (job == nullptr) return;
                detach(*job, ready_timers_);
                keep_ended(*job, p::JobState::cancelled, {}, "cancelled", r.ended_at_ms);
            },
            [&](const JournalRetried& r) {
                JobRecord* job = find(r.id);
                if (job == nullptr) return;
                detach(*job, ready_timers_);
                job->first_attempt_of_round = job->attempt;
                const std::string& key = job->details().unique_key;
                if (!key.empty()) unique_jobs_.emplace(job->queue->name + '\n' + key, std::string(job->id()));
                make_pending(*job, false);
            },
            [&](const JournalPurged& r) {
                JobRecord* job = find(r.id);
                if (job == nullptr) return;
                detach(*job, ready_timers_);
                keep_ended(*job, p::JobState::failed, {}, job->details().last_error, 0);
            },
            [&](const JournalQueueSettings& r) { apply(queue_named(r.settings.queue).config, r.settings); },
            [&](const JournalReleased& r) {
                JobRecord* job = find(r.id);
                if (job == nullptr) return;
                detach(*job, ready_timers_);
                ++job->first_attempt_of_round;
                make_pending(*job, true);
            },
        },
        record);
}

RecoveryCounts Scheduler::finish_recovery(TimePoint now) {
    // Running at the crash: back to the head of their queue. The attempt number stays counted
    // (a late answer from that lease is stale), but the broker's crash is not the job's failure,
    // so it does not use up one of the job's attempts.
    std::vector<JobRecord*> running;
    jobs_->for_each([&](JobRecord* job) {
        if (job->state == p::JobState::running) running.push_back(job);
    });
    std::sort(running.begin(), running.end(), [](const JobRecord* a, const JobRecord* b) { return a->sequence > b->sequence; });
    for (JobRecord* job : running) {
        ++job->first_attempt_of_round;
        make_pending(*job, true);
    }
    recovered_.running_at_crash = running.size();
    for (auto& [name, queue] : queues_) {
        recovered_.pending += queue.pending.size();
        recovered_.delayed += queue.delayed;
        recovered_.dead += queue.dead.size();
        expire_dead(queue, now);
    }
    recovered_.results = results_->size();
    recovered_.queues = queues_.size();
    return recovered_;
}

std::size_t Scheduler::write_snapshot(std::string& out, TimePoint now,
                                      const std::function<void(std::string&)>& drain) const {
    std::size_t records = 0;
    auto put = [&](const JournalRecord& record) {
        encode(record, out);
        ++records;
        if (drain && out.size() >= kSnapshotChunkBytes) drain(out);
    };
    for (const auto& [name, queue] : queues_) put(JournalQueueSettings{settings_of(queue)});
    // Ended jobs within their TTL: enough to answer STATUS and a late resubmission.
    results_->for_each([&](const KeptResult& ended) {
        const std::string id(ended.id());
        put(JournalSubmitted{id, *ended.queue, {}, ended.priority, {}, {}, 0, {}, 0});
        const auto ended_ms = wall_ms_at(ended.ended_at, now);
        for (const auto& e : ended.errors()) put(JournalAttemptFailed{id, e.attempt, e.error, false, 0});
        if (ended.state == p::JobState::done) {
            put(JournalDone{id, ended.attempt, std::string(ended.result()), ended_ms});
        } else if (ended.state == p::JobState::cancelled) {
            put(JournalCancelled{id, ended_ms});
        } else {
            put(JournalPurged{id});
        }
    });
    std::vector<const JobRecord*> live;
    live.reserve(jobs_->size());
    jobs_->for_each([&](const JobRecord* job) { live.push_back(job); });
    std::sort(live.begin(), live.end(), [](const JobRecord* a, const JobRecord* b) { return a->sequence < b->sequence; });
    for (const JobRecord* job : live) {
        // A job delayed by --delay/--at that never ran keeps its ready time in the submit itself.
        const JobDetails& details = job->details();
        const std::string id(job->id());
        const bool is_first_delay = job->state == p::JobState::delayed && details.errors.empty();
        put(JournalSubmitted{id, job->queue->name, std::string(job->payload()), job->priority, details.retry,
                             details.timeout_ms, is_first_delay ? wall_ms_at(details.ready_at, now) : 0,
                             details.unique_key, job->sequence});
        if (job->first_attempt_of_round > 0) {
            put(JournalDispatched{id, job->first_attempt_of_round});
            put(JournalRetried{id});
        }
        for (std::size_t i = 0; i < details.errors.size(); ++i) {
            const auto& e = details.errors[i];
            const bool is_last = i + 1 == details.errors.size();
            const std::uint64_t retry_at =
                is_last && job->state == p::JobState::delayed ? wall_ms_at(details.ready_at, now) : 0;
            put(JournalAttemptFailed{id, e.attempt, is_last ? details.last_error : e.error, false, retry_at});
        }
        switch (job->state) {
            case p::JobState::running: put(JournalDispatched{id, job->attempt}); break;
            case p::JobState::failed: put(JournalDead{id, wall_ms_at(details.died_at, now)}); break;
            default:
                if (job->attempt > job->first_attempt_of_round && details.errors.empty()) {
                    put(JournalDispatched{id, job->attempt});  // taken back from a worker that left
                }
                break;
        }
    }
    return records;
}

std::uint64_t Scheduler::estimated_snapshot_bytes() const noexcept {
    // About what a live job's records cost besides its payload (id, queue, field names, framing),
    // measured on the benchmark's jobs, rounded up. An ended job's memory cost (ResultStore)
    // stands in for its records: both are its id, queue and result plus about a hundred bytes.
    constexpr std::uint64_t kRecordBytesPerJob = 96;
    return live_payload_bytes_ + kRecordBytesPerJob * jobs_->size() + results_->bytes();
}

}  // namespace corsair::broker
