// Where the Scheduler records every state change that must survive a crash (docs/durability.md).
// The Broker implements it with a JournalWriter; tests with a vector. Called on the loop thread.
#pragma once

#include <cstdint>
#include <optional>

#include "corsair/broker/journal_record.hpp"
#include "fixed_histogram.hpp"

namespace corsair::broker {

// How the journal's fdatasyncs went since the broker started (STATS, docs/protocol.md §5.7).
struct JournalHistograms {
    FsyncHistogram fsync;                        // each fdatasync's duration
    RecordsPerFsyncHistogram records_per_fsync;  // the records each one made durable
};

class JournalSink {
public:
    virtual ~JournalSink() = default;
    // Queues `record` for the journal; returns its sequence number. Never blocks on the disk.
    virtual std::uint64_t append(const JournalRecord& record) = 0;
    // A copy of the sync histograms, or nullopt from a sink that does not sync. May take a lock
    // (briefly): call it for STATS, not per job.
    virtual std::optional<JournalHistograms> histograms() const { return std::nullopt; }
};

}  // namespace corsair::broker
