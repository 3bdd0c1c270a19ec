// Rebuilding the broker's state from its journal at startup, and writing the snapshot that
// compaction replaces the journal with (docs/durability.md). Replay puts each job where its
// records say (JobStates::place); what was running when the broker stopped is `unclaimed`, for
// its worker to announce again (LeaseAdoption). Owned by the broker's loop thread.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "corsair/broker/journal_record.hpp"
#include "corsair/broker/scheduler.hpp"
#include "job_endings.hpp"
#include "job_states.hpp"
#include "job_store.hpp"
#include "queue_registry.hpp"
#include "result_store.hpp"
#include "scheduler_context.hpp"

namespace corsair::broker {

// What the records say of an ended job's last attempt, and whether they held its payload (a
// snapshot's ended job has none, so a resubmission's cannot be compared with it).
struct EndedDetails {
    std::optional<std::uint64_t> started_ms;
    std::string_view worker;
    bool is_payload_known = true;
};

class JournalReplay {
public:
    using TimePoint = std::chrono::steady_clock::time_point;

    JournalReplay(const SchedulerContext& context, JobStore& jobs, QueueRegistry& queues, JobStates& states,
                  JobEndings& endings, ResultStore& results)
        : context_(context), jobs_(jobs), queues_(queues), states_(states), endings_(endings), results_(results) {}
    JournalReplay(const JournalReplay&) = delete;
    JournalReplay& operator=(const JournalReplay&) = delete;

    // Replays one record into the state (startup only, before the journal is attached).
    void replay(const JournalRecord& record, TimePoint now);
    // Counts what was running at the stop (left unclaimed) and expires dead sets; the counts are
    // for the startup log.
    RecoveryCounts finish(TimePoint now);

    // Every record needed to rebuild the current state, appended to `out` encoded; `drain`, if
    // given, is called with `out` whenever it passes `chunk_bytes`. Returns the record count.
    std::size_t write_snapshot(std::string& out, TimePoint now, std::size_t chunk_bytes,
                               const std::function<void(std::string&)>& drain) const;
    // Roughly how many bytes a snapshot of the current state would take.
    std::uint64_t estimated_snapshot_bytes() const noexcept;

private:
    void replay_submitted(const JournalSubmitted& r, TimePoint now);
    // A snapshot's record of one job's whole state (journal format 3).
    void replay_whole_job(const JournalJob& r, TimePoint now);
    // One record about `job`, which the state holds.
    void replay_job(JobRecord& job, const JournalDispatched& r, TimePoint now);
    void replay_job(JobRecord& job, const JournalDone& r, TimePoint now);
    void replay_job(JobRecord& job, const JournalAttemptFailed& r, TimePoint now);
    void replay_job(JobRecord& job, const JournalDead& r, TimePoint now);
    void replay_job(JobRecord& job, const JournalCancelled& r, TimePoint now);
    void replay_job(JobRecord& job, const JournalRetried& r, TimePoint now);
    void replay_job(JobRecord& job, const JournalPurged& r, TimePoint now);
    void replay_job(JobRecord& job, const JournalReleased& r, TimePoint now);
    // An ended job: into the ResultStore if still within the result TTL, then destroyed.
    void keep_ended(JobRecord& job, protocol::JobState state, zmq::message_t result, std::string error,
                    std::uint64_t ended_at_ms, TimePoint now, const EndedDetails& details = EndedDetails());
    // A time a record may hold (absent: the broker did not keep it then).
    TimePoint steady_or_unknown(std::optional<std::uint64_t> wall_ms, TimePoint now) const {
        return wall_ms ? context_.wall.steady_at(*wall_ms, now) : kUnknownTime;
    }
    TimePoint steady_or_now(std::uint64_t wall_ms, TimePoint now) const {
        return wall_ms != 0 ? context_.wall.steady_at(wall_ms, now) : now;
    }

    const SchedulerContext& context_;
    JobStore& jobs_;
    QueueRegistry& queues_;
    JobStates& states_;
    JobEndings& endings_;
    ResultStore& results_;
    RecoveryCounts counts_;
};

}  // namespace corsair::broker
