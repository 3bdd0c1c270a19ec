// Shared by the journal tests: the harness's scratch folder, whole-file reads and writes, sample
// records of every type, field-by-field record equality, and a deadline wait for conditions that
// have no notification.
#pragma once

#include "deadline.hpp"
#include "scratch_dir.hpp"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "journal_file.hpp"
#include "corsair/broker/journal_record.hpp"

namespace corsair::broker::test {

using corsair::test::ScratchDir;

inline std::string read_bytes(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Replaces the file by a new one: truncating in place would make ext4 flush on close
// (auto_da_alloc), slowing the tests that rewrite a file once per byte.
inline void write_bytes(const std::filesystem::path& path, const std::string& bytes) {
    std::filesystem::remove(path);
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// One record of each type, every optional field set and every value away from its default.
inline std::vector<JournalRecord> one_record_of_each_type() {
    JournalSubmitted submitted;
    submitted.id = "job-1";
    submitted.queue = "emails";
    submitted.payload = std::string("pay\0load\xff", 9);
    submitted.priority = -17;
    submitted.retry = {5, 250, 60'000, 15};
    submitted.timeout_ms = 30'000;
    submitted.ready_at_ms = 1'700'000'000'123;
    submitted.unique_key = "user-42";
    submitted.sequence = 99;

    protocol::QueueSettings settings;
    settings.queue = "emails";
    settings.is_paused = true;
    settings.max_length = 1000;
    settings.retry = {7, 100, 5000, 0};
    settings.timeout_ms = 0;
    settings.dead_max_count = 12;
    settings.dead_max_age_ms = 86'400'000;

    JournalJob job;
    job.id = "job-5";
    job.queue = "emails";
    job.state = JournalJob::State::delayed;
    job.payload = std::string("pay\0load", 8);
    job.priority = 3;
    job.retry = {5, 250, {}, {}};
    job.timeout_ms = 1000;
    job.unique_key = "user-43";
    job.sequence = 100;
    job.attempt = 4;
    job.uncounted_attempts = 1;
    job.errors = {{2, "first"}, {4, "second"}};
    job.last_error = "second, whole";
    job.at_ms = 1'700'000'004'000;

    return {
        submitted,
        JournalDispatched{"job-1", 3},
        JournalDone{"job-1", 3, std::string("res\0ult", 7), 1'700'000'000'456, std::nullopt, {}},
        JournalAttemptFailed{"job-1", 2, "connection refused", true, 1'700'000'001'000},
        JournalDead{"job-1", 1'700'000'002'000},
        JournalCancelled{"job-2", 1'700'000'003'000},
        JournalRetried{"job-1"},
        JournalPurged{"job-3"},
        JournalQueueSettings{settings},
        JournalReleased{"job-4"},
        job,
        JournalQueueDeleted{"typo"},
    };
}

// A small submitted record numbered `n`, for files of many records.
inline JournalRecord numbered_record(std::uint64_t n, std::size_t payload_bytes = 40) {
    JournalSubmitted record;
    record.id = "job-" + std::to_string(n);
    record.queue = "q";
    record.payload = std::string(payload_bytes, static_cast<char>('a' + n % 26));
    record.sequence = n;
    return record;
}

inline auto fields(const protocol::RetryPolicy& r) {
    return std::tie(r.max_attempts, r.backoff_ms, r.backoff_max_ms, r.backoff_jitter_pct);
}
inline bool same_fields(const JournalSubmitted& a, const JournalSubmitted& b) {
    return std::tie(a.id, a.queue, a.payload, a.priority, a.timeout_ms, a.ready_at_ms, a.unique_key, a.sequence,
                    a.created_ms) == std::tie(b.id, b.queue, b.payload, b.priority, b.timeout_ms, b.ready_at_ms,
                                              b.unique_key, b.sequence, b.created_ms) &&
           fields(a.retry) == fields(b.retry);
}
inline bool same_fields(const JournalDispatched& a, const JournalDispatched& b) {
    return std::tie(a.id, a.attempt) == std::tie(b.id, b.attempt);
}
inline bool same_fields(const JournalDone& a, const JournalDone& b) {
    return std::tie(a.id, a.attempt, a.result, a.ended_at_ms, a.started_ms, a.worker) ==
           std::tie(b.id, b.attempt, b.result, b.ended_at_ms, b.started_ms, b.worker);
}
inline bool same_fields(const JournalAttemptFailed& a, const JournalAttemptFailed& b) {
    return std::tie(a.id, a.attempt, a.error, a.is_permanent, a.retry_at_ms) ==
           std::tie(b.id, b.attempt, b.error, b.is_permanent, b.retry_at_ms);
}
inline bool same_fields(const JournalDead& a, const JournalDead& b) {
    return std::tie(a.id, a.died_at_ms) == std::tie(b.id, b.died_at_ms);
}
inline bool same_fields(const JournalCancelled& a, const JournalCancelled& b) {
    return std::tie(a.id, a.ended_at_ms) == std::tie(b.id, b.ended_at_ms);
}
inline bool same_fields(const JournalRetried& a, const JournalRetried& b) { return a.id == b.id; }
inline bool same_fields(const JournalPurged& a, const JournalPurged& b) { return a.id == b.id; }
inline bool same_fields(const JournalReleased& a, const JournalReleased& b) { return a.id == b.id; }
inline bool same_fields(const JournalJob& a, const JournalJob& b) {
    auto errors = [](const JournalJob& j) {
        std::vector<std::pair<std::uint32_t, std::string>> list;
        for (const auto& e : j.errors) list.emplace_back(e.attempt, e.error);
        return list;
    };
    return std::tie(a.id, a.queue, a.state, a.payload, a.priority, a.timeout_ms, a.unique_key, a.sequence, a.attempt,
                    a.uncounted_attempts, a.last_error, a.at_ms, a.result, a.created_ms, a.started_ms, a.worker) ==
               std::tie(b.id, b.queue, b.state, b.payload, b.priority, b.timeout_ms, b.unique_key, b.sequence,
                        b.attempt, b.uncounted_attempts, b.last_error, b.at_ms, b.result, b.created_ms, b.started_ms,
                        b.worker) &&
           fields(a.retry) == fields(b.retry) && errors(a) == errors(b);
}
inline bool same_fields(const JournalQueueSettings& a, const JournalQueueSettings& b) {
    const auto& x = a.settings;
    const auto& y = b.settings;
    return std::tie(x.queue, x.is_paused, x.max_length, x.timeout_ms, x.dead_max_count, x.dead_max_age_ms) ==
               std::tie(y.queue, y.is_paused, y.max_length, y.timeout_ms, y.dead_max_count, y.dead_max_age_ms) &&
           fields(x.retry) == fields(y.retry);
}

inline bool same_fields(const JournalQueueDeleted& a, const JournalQueueDeleted& b) { return a.queue == b.queue; }

inline bool same_record(const JournalRecord& a, const JournalRecord& b) {
    if (a.index() != b.index()) return false;
    return std::visit([&b](const auto& left) { return same_fields(left, std::get<std::decay_t<decltype(left)>>(b)); },
                      a);
}

// A journal file: header, then `records` encoded back to back. `starts` gets each record's offset.
inline std::string journal_bytes(const std::vector<JournalRecord>& records,
                                 std::vector<std::size_t>* starts = nullptr) {
    std::string bytes;
    append_journal_header(bytes);
    for (const auto& record : records) {
        if (starts != nullptr) starts->push_back(bytes.size());
        encode(record, bytes);
    }
    return bytes;
}

// For conditions nothing announces (a counter on another thread): the suite's shared bounded wait.
using corsair::test::wait_until;

}  // namespace corsair::broker::test
