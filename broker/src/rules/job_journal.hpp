// The Scheduler's side of the journal (docs/durability.md): every state change that must survive
// a crash goes through append(). It remembers the sequence of the last record, which is what an
// acknowledgement waits for (Replies). Without a sink (no --data-dir, or during replay) nothing is
// written and nothing waits. Owned by the broker's loop thread.
#pragma once

#include <cstdint>

#include "journal_sink.hpp"

namespace corsair::broker {

class JobJournal {
public:
    // Records every durable state change from now on (nullptr: none).
    void set_sink(JournalSink* sink) noexcept { sink_ = sink; }
    bool is_on() const noexcept { return sink_ != nullptr; }

    void append(const JournalRecord& record) {
        if (sink_ != nullptr) last_sequence_ = sink_->append(record);
    }
    // The sequence of the last record appended; an acknowledgement sent now must wait until the
    // journal is durable up to it. 0 when nothing was ever appended.
    std::uint64_t last_sequence() const noexcept { return sink_ != nullptr ? last_sequence_ : 0; }
    // The sink's sync histograms (STATS); nullopt without a journal.
    std::optional<JournalHistograms> histograms() const {
        return sink_ != nullptr ? sink_->histograms() : std::nullopt;
    }

private:
    JournalSink* sink_ = nullptr;
    std::uint64_t last_sequence_ = 0;
};

}  // namespace corsair::broker
