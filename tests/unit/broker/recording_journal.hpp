// A JournalSink that keeps every record in memory, and the restart that replays them into a fresh
// Scheduler: what the journal tests use instead of a file.
#pragma once

#include <cstdint>
#include <vector>

#include "corsair/broker/journal_record.hpp"
#include "journal_sink.hpp"
#include "scheduler_fixture.hpp"

namespace corsair::broker::test {

struct RecordingJournal final : JournalSink {
    std::uint64_t append(const JournalRecord& record) override {
        records.push_back(record);
        return records.size();
    }
    std::vector<JournalRecord> records;
};

// Replays `journal` into `restarted` at its own clocks, as a broker does at startup.
inline RecoveryCounts replay_into(Fixture& restarted, const RecordingJournal& journal) {
    for (const auto& record : journal.records) restarted.scheduler.recover(record, restarted.now);
    return restarted.scheduler.finish_recovery(restarted.now);
}

}  // namespace corsair::broker::test
