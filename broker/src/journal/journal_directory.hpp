// The broker's data directory (--data-dir): created if missing, locked so that one broker at a
// time uses it, and the place that names its files. Built and destroyed by the broker's main
// thread; holds the lock for its whole life.
//
// Files:
//   LOCK                 flock(2)ed exclusively while a broker runs; holds that broker's PID
//   journal.log          the journal of record (journal_file.hpp, journal_record.hpp)
//   journal.log.compact  the next journal while a compaction writes it (JournalWriter::compact)
//
// Crash safety:
// - The lock is flock(2): the kernel releases it when the holder exits or dies, so no crash
//   leaves a stale lock to clear by hand. The LOCK file itself is never removed (removing it
//   would let two brokers lock two different inodes). The PID in it is advice for the message
//   only. flock is not reliable on some network filesystems; use a local disk.
// - journal.log only ever grows by appends, so a crash leaves a prefix of what was written,
//   possibly ending in a torn record, which recovery cuts off (JournalReader, truncate_journal).
//   Records are acknowledged only once durable under the fsync policy (JournalWriter).
// - journal.log is replaced only by rename(2) of a fully written and fdatasync'd
//   journal.log.compact, followed by an fsync of this directory. rename is atomic, so after a
//   crash journal.log is either the complete old journal or the complete new one, never a mix;
//   the directory fsync makes the new name survive a power cut before anything that depends on
//   it is acknowledged.
// - A journal.log.compact found at startup is a compaction that never reached its rename: it is
//   never the journal of record, and remove_stale_compaction() deletes it.
// - A new journal.log is synced together with this directory when created (JournalFile), and
//   creating the directory syncs its parent, so an empty journal cannot vanish after acknowledging.
#pragma once

#include <filesystem>

namespace corsair::broker {

class JournalDirectory {
public:
    // Creates `directory` (and missing parents) and takes the exclusive lock on its LOCK file,
    // writing this process's PID there. Never waits for the lock. Throws JournalError naming the
    // directory when another process holds it ("...in use by another broker (pid 1234)"), or
    // when the directory or its LOCK file cannot be created, opened or locked.
    explicit JournalDirectory(std::filesystem::path directory);
    // Releases the lock.
    ~JournalDirectory();
    JournalDirectory(const JournalDirectory&) = delete;
    JournalDirectory& operator=(const JournalDirectory&) = delete;

    const std::filesystem::path& path() const noexcept { return directory_; }
    std::filesystem::path lock_path() const { return directory_ / "LOCK"; }
    std::filesystem::path journal_path() const { return directory_ / "journal.log"; }
    std::filesystem::path compaction_path() const;

    // Deletes a compaction file left by a crash before its rename. Returns true if there was one.
    // Throws JournalError if it exists and cannot be removed.
    bool remove_stale_compaction() const;

private:
    std::filesystem::path directory_;
    int lock_fd_ = -1;
};

}  // namespace corsair::broker
