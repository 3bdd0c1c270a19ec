// Where the Scheduler records every state change that must survive a crash (docs/durability.md).
// The Broker implements it with a JournalWriter; tests with a vector. Called on the loop thread.
#pragma once

#include <cstdint>

#include "corsair/broker/journal_record.hpp"

namespace corsair::broker {

class JournalSink {
public:
    virtual ~JournalSink() = default;
    // Queues `record` for the journal; returns its sequence number. Never blocks on the disk.
    virtual std::uint64_t append(const JournalRecord& record) = 0;
};

}  // namespace corsair::broker
