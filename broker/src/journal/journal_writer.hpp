// Appends journal records to disk on a background thread, so the broker's loop never waits on
// write(2) or fdatasync(2). The loop thread (the one that constructs it) calls every public
// method; the writer thread owns the open file and nothing else.
//
// Threads. append() encodes into a mutex-guarded batch (the lock is held only to encode, or,
// on the writer's side, to swap the batch for an empty buffer) and, for the first record of a
// batch only, wakes the writer (an eventfd, WakeSignal). The writer thread polls it (plus a
// timer under the interval policy), takes the whole batch, writes it with one writev(2), syncs
// per policy, stores the durable sequence and notifies the loop through a second eventfd, which
// the loop polls as a raw descriptor (an inproc ZeroMQ pair cost the loop two system calls per
// wait even when silent, wake_signal.hpp). Notifications coalesce, however fast records arrive.
//
// Sequences. append() numbers records 1, 2, 3... in call order; "durable up to N" means every
// record numbered N or less is safe to the policy's guarantee, so acknowledgements can be
// released in order. Sequence numbers are not stored in the file: they live as long as the writer.
//
// Policies (what "durable" means when take_durable() reports N):
//   always   N is on stable storage: written and fdatasync'd. Group commit: each batch (every
//            record appended while the previous fdatasync ran) is written and synced once, so
//            many records share one fdatasync and throughput follows batch size, not disk latency.
//   interval N is written to the page cache (reported as soon as write(2) returns). Nothing is
//            lost if the broker process crashes; a power failure or kernel crash loses what was
//            written since the last fdatasync, at most about fsync_interval plus one sync's time.
//            The writer syncs fsync_interval after the first unsynced write.
//   never    N is written to the page cache and never synced while running (the kernel writes
//            it back in its own time, typically within 30 s). Process crash: nothing lost.
// Every policy syncs on clean shutdown, and during compaction (below).
//
// Full disk. A write(2) that fails for want of space (ENOSPC, EDQUOT, or EFBIG past a file size
// limit) stalls the writer instead of stopping it: the file is cut back to its last whole record,
// the records stay in memory, is_stalled() turns true and a notification is sent. The writer
// tries again every kStalledRetryInterval; once a write succeeds it carries on as before and
// the durable sequence advances over everything held. Nothing is reported durable meanwhile, so
// the loop acknowledges nothing; it should also stop taking new work, since the records held in
// memory are bounded by max_stalled_bytes (past that the writer fails, below). A compaction under
// way when the disk fills is abandoned.
//
// Failure. Any other error from write(2), an error from fdatasync(2) or syncing the directory,
// or cutting back a partial write, stops the writer for good: the durable sequence never
// advances again, later records are dropped, has_failed() turns true and a notification is sent.
// A failed fdatasync cannot be retried safely (Linux may have discarded the dirty pages), so
// the loop should stop acknowledging and shut the broker down.
//
// Compaction. compact(write_snapshot) starts a new journal at the current end of the record
// stream. On the loop thread it creates <journal>.compact (compaction_path_of) with a header and
// forks a SnapshotProcess that runs `write_snapshot` against the fork's copy of the broker: the
// state after every record appended so far, so the loop pauses only for the fork. Meanwhile the
// writer thread carries on as always, appending every record to the current journal, and keeps a
// copy of the records appended after compact() in memory. When the child has written and synced
// the snapshot and exited, the writer thread
//   1. appends the kept records to the compaction file and fdatasyncs it;
//   2. rename(2)s it over the journal and fsyncs the directory;
//   3. appends from then on to the new file.
// Acknowledgements never wait for a compaction: every record is durable in the current journal
// under the policy, and a crash at any point leaves a journal holding every acknowledged record
// (before the rename the old journal is complete and untouched; after it the new one is complete
// and synced). If the child fails, or any step before the rename fails, or more than
// kMaxCompactionHeldBytes of records pile up while the child runs, the compaction file is
// removed and the writer carries on with the old journal (logged and counted). is_compacting()
// is true from compact() until the switch is done or abandoned; a notification is sent at the end.
#pragma once

#include <spdlog/logger.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "journal_file.hpp"
#include "journal_sink.hpp"
#include "snapshot_process.hpp"
#include "corsair/broker/journal_record.hpp"
#include "corsair/loop/wake_signal.hpp"

namespace corsair::broker {

enum class FsyncPolicy { always, interval, never };

std::string_view to_string(FsyncPolicy policy) noexcept;
std::optional<FsyncPolicy> parse_fsync_policy(std::string_view text) noexcept;

struct JournalWriterOptions {
    FsyncPolicy fsync = FsyncPolicy::always;
    // interval: the longest written data waits before an fdatasync. 100 ms bounds the loss on a
    // power failure to a tenth of a second of jobs while keeping syncs to at most ten a second.
    std::chrono::milliseconds fsync_interval{100};
    // Full disk: the most bytes of records held in memory before the writer fails (see above).
    std::size_t max_stalled_bytes = 64 * 1024 * 1024;
};

struct JournalWriterStats {
    std::uint64_t records_written = 0;
    std::uint64_t batches_written = 0;
    std::uint64_t fdatasyncs = 0;     // on the journal and on compaction files
    std::uint64_t journal_bytes = 0;  // current size of the journal file
    std::uint64_t compactions = 0;
    std::uint64_t compactions_failed = 0;
    std::uint64_t last_snapshot_bytes = 0;  // the compacted journal's size at its switch
    std::uint64_t stalls = 0;               // times the disk filled up (see Full disk above)
};

// While the disk is full, how often a write is tried again.
inline constexpr std::chrono::milliseconds kStalledRetryInterval{1000};

// Records appended while a snapshot is being written are also kept in memory until the switch;
// past this, the compaction is abandoned rather than let a stuck child grow the broker.
inline constexpr std::size_t kMaxCompactionHeldBytes = 256 * 1024 * 1024;

class JournalWriter {
public:
    // Opens (or creates, with a header) the journal at `path`, starts the writer thread and waits
    // for it to be ready. Blocks on disk. Throws JournalError if the file cannot be opened or is
    // not a version-1 journal; a torn tail must be truncated first (JournalReader).
    JournalWriter(std::filesystem::path path, JournalWriterOptions options, std::shared_ptr<spdlog::logger> log);
    // Writes and syncs every appended record (whatever the policy), then joins the thread. Blocks
    // for the last batch's write and one fdatasync.
    ~JournalWriter();
    JournalWriter(const JournalWriter&) = delete;
    JournalWriter& operator=(const JournalWriter&) = delete;

    // Queues `record` after every record appended before it and returns its sequence number.
    // Never blocks on disk. Throws std::length_error for a record over kMaxJournalBodyBytes
    // (nothing is queued then). After a failure the record is dropped but still numbered.
    std::uint64_t append(const JournalRecord& record);
    std::uint64_t last_sequence() const noexcept { return last_sequence_; }

    // For the loop's poll, a raw descriptor: readable when the durable sequence has advanced, a
    // compaction has ended, or the writer has failed. Call take_durable() then; never read it.
    int durable_fd() const noexcept { return durable_signal_.fd(); }
    // Clears the notification and returns the newest durable sequence (0 before any). Never blocks.
    std::uint64_t take_durable();

    // Starts a compaction (see above) and returns true; returns false while one is under way, or
    // when the compaction file cannot be created or the fork fails (logged and counted as failed).
    // Blocks only to create the file and fork.
    bool compact(const SnapshotProcess::Writer& write_snapshot);
    bool is_compacting() const noexcept { return is_compacting_.load(); }

    // True while writes fail for want of space and the records wait in memory (see above).
    bool is_stalled() const noexcept { return is_stalled_.load(); }
    bool has_failed() const noexcept { return has_failed_.load(); }
    // What failed or stalls the writer (the call, the path, strerror), or empty.
    std::string failure() const;
    JournalWriterStats stats() const noexcept;
    // A copy of the histograms of the journal file's fdatasyncs (a compaction's own sync is not
    // in them). Takes a lock the writer holds only to count a sync.
    JournalHistograms histograms() const;

private:
    struct Compaction {
        JournalFile file;
        SnapshotProcess process;
        std::size_t boundary_bytes = 0;  // records before this offset in the batch precede it
        std::string records_after;       // writer thread: appended since compact(), kept for the file
    };

    void send_wake();

    // Writer thread.
    void run() noexcept;
    // Blocks until the loop thread wakes it, the snapshot child exits or `sync_due` passes; sets
    // `is_stopping` on a stop message. Returns whether the snapshot child has exited.
    bool wait_for_work(std::chrono::steady_clock::time_point sync_due, bool& is_stopping);
    // One round: takes what the loop queued, writes it, syncs as the policy says, publishes the
    // durable sequence and moves a compaction on.
    void write_round(bool is_stopping, bool has_child_exited);
    void advance_compaction(bool is_stopping, bool has_child_exited);
    // While stalled: drops a compaction just started, fails past max_stalled_bytes, and says
    // whether the retry is due (or the writer is stopping and tries one last time).
    bool may_retry_stalled(std::optional<Compaction>& started, bool is_stopping);
    // Writes batch_; false if it could not (then the writer has stalled or failed).
    bool write_batch();
    void stall(int error);
    void end_stall();
    void finish_compaction();
    void abandon_compaction(const std::string& why, bool is_failure = true);
    // Gives up a compaction the loop started that never reached this thread's compaction_.
    void drop_compaction(Compaction& compaction, const std::string& why);
    // Kills the snapshot process and removes the compaction file.
    static void discard(Compaction& compaction);
    bool sync();
    void publish_durable(std::uint64_t sequence);
    void notify();
    void fail(const std::string& what, int error);
    void check_owner() const noexcept;

    // Set at construction, then read-only.
    std::filesystem::path path_;
    JournalWriterOptions options_;
    std::shared_ptr<spdlog::logger> log_;
    std::thread::id owner_;

    // Loop thread.
    std::uint64_t last_sequence_ = 0;

    // Writer thread (moved there before it starts).
    JournalFile file_;
    bool is_dirty_ = false;  // written since the last fdatasync
    std::string batch_;      // the records of the round under way, or all held while stalled
    std::uint64_t written_sequence_ = 0;
    std::uint64_t synced_sequence_ = 0;  // the last record the last fdatasync covered
    // When unsynced data must be synced (interval policy); never while nothing is waiting.
    std::chrono::steady_clock::time_point sync_due_ = std::chrono::steady_clock::time_point::max();
    std::optional<Compaction> compaction_;  // taken from queued_compaction_ until it ends
    std::chrono::steady_clock::time_point retry_due_{};  // stalled: when to try the write again
    std::chrono::steady_clock::time_point stalled_since_{};

    // Shared, under mutex_.
    mutable std::mutex mutex_;
    std::string queued_;
    std::uint64_t queued_last_sequence_ = 0;
    std::optional<Compaction> queued_compaction_;
    bool has_wake_pending_ = false;
    std::string failure_;

    // Written by the writer thread at each sync, copied by histograms(), under histograms_mutex_.
    mutable std::mutex histograms_mutex_;
    JournalHistograms histograms_;

    // Shared, lock-free.
    std::atomic<std::uint64_t> durable_{0};
    std::atomic<bool> has_notified_{false};
    std::atomic<bool> is_stop_requested_{false};  // the destructor's: write everything, sync, exit
    loop::WakeSignal wake_;            // loop -> writer: a batch or a compaction is waiting, or stop
    loop::WakeSignal durable_signal_;  // writer -> loop: take_durable() has news
    std::atomic<bool> is_compacting_{false};
    std::atomic<bool> has_failed_{false};
    std::atomic<bool> is_stalled_{false};
    std::atomic<std::uint64_t> stalls_{0};
    std::atomic<std::uint64_t> records_written_{0};
    std::atomic<std::uint64_t> batches_written_{0};
    std::atomic<std::uint64_t> fdatasyncs_{0};
    std::atomic<std::uint64_t> journal_bytes_{0};
    std::atomic<std::uint64_t> compactions_{0};
    std::atomic<std::uint64_t> compactions_failed_{0};
    std::atomic<std::uint64_t> last_snapshot_bytes_{0};

    std::jthread thread_;  // last: starts after every member above exists, stops before they go
};

}  // namespace corsair::broker
