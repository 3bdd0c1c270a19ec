#include "journal_writer.hpp"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstring>

#include "journal_error.hpp"

namespace corsair::broker {

namespace {

using Clock = std::chrono::steady_clock;

}  // namespace

std::string_view to_string(FsyncPolicy policy) noexcept {
    switch (policy) {
        case FsyncPolicy::always:
            return "always";
        case FsyncPolicy::interval:
            return "interval";
        case FsyncPolicy::never:
            return "never";
    }
    return "always";
}

std::optional<FsyncPolicy> parse_fsync_policy(std::string_view text) noexcept {
    for (auto policy : {FsyncPolicy::always, FsyncPolicy::interval, FsyncPolicy::never}) {
        if (to_string(policy) == text) return policy;
    }
    return std::nullopt;
}

JournalWriter::JournalWriter(std::filesystem::path path, JournalWriterOptions options,
                             std::shared_ptr<spdlog::logger> log)
    : path_(std::move(path)),
      options_(options),
      log_(std::move(log)),
      owner_(std::this_thread::get_id()),
      file_(JournalFile::open_for_append(path_)) {
    journal_bytes_ = file_.size_bytes();
    thread_ = std::jthread([this] { run(); });
}

JournalWriter::~JournalWriter() {
    check_owner();
    is_stop_requested_.store(true);
    wake_.notify();
    thread_.join();
}

std::uint64_t JournalWriter::append(const JournalRecord& record) {
    check_owner();
    bool needs_wake = false;
    {
        const std::lock_guard lock(mutex_);
        if (!has_failed_.load()) encode(record, queued_);
        queued_last_sequence_ = ++last_sequence_;
        needs_wake = !std::exchange(has_wake_pending_, true);
    }
    // At most one wake is outstanding per batch, and a wake is an eventfd write: never blocks.
    if (needs_wake) send_wake();
    return last_sequence_;
}

std::uint64_t JournalWriter::take_durable() {
    check_owner();
    // Take, then clear, then load. The writer notifies only when it flips has_notified_ from
    // false, so the flag must never stay true once its notification is taken: clearing before
    // taking could swallow a notification made in between and leave the flag set, and no
    // notification would ever come again. In this order, a value published after the load flips
    // the cleared flag and notifies, and one published before it is seen by the load (a leftover
    // notification only makes a spurious wake).
    durable_signal_.take();
    has_notified_.store(false);
    return durable_.load();
}

bool JournalWriter::compact(const SnapshotProcess::Writer& write_snapshot) {
    check_owner();
    if (is_compacting_.load() || has_failed_.load()) return false;
    // No compaction is under way, so the writer thread is not touching the compaction file.
    const auto compaction_path = compaction_path_of(path_);
    auto refuse = [&](const std::string& why) {
        std::error_code ignored;
        std::filesystem::remove(compaction_path, ignored);
        ++compactions_failed_;
        log_->error("journal compaction not started path={} error=\"{}\"", compaction_path.string(), why);
        return false;
    };
    std::optional<JournalFile> file;
    try {
        std::error_code ignored;
        std::filesystem::remove(compaction_path, ignored);  // a leftover from a crash mid-compaction
        file.emplace(JournalFile::create_new(compaction_path));
    } catch (const JournalError& error) {
        return refuse(error.what());
    }
    // Between the fork and queuing the boundary below nothing is appended (both happen on this
    // thread), so the child's state is exactly the records before the boundary.
    std::string error;
    auto process = SnapshotProcess::start(*file, write_snapshot, error);
    if (!process) return refuse(error);
    bool needs_wake = false;
    {
        const std::lock_guard lock(mutex_);
        is_compacting_.store(true);
        queued_compaction_.emplace(Compaction{std::move(*file), std::move(*process), queued_.size(), {}});
        needs_wake = !std::exchange(has_wake_pending_, true);
    }
    if (needs_wake) send_wake();
    return true;
}

void JournalWriter::send_wake() { wake_.notify(); }

std::string JournalWriter::failure() const {
    const std::lock_guard lock(mutex_);
    return failure_;
}

JournalWriterStats JournalWriter::stats() const noexcept {
    JournalWriterStats stats;
    stats.records_written = records_written_.load();
    stats.batches_written = batches_written_.load();
    stats.fdatasyncs = fdatasyncs_.load();
    stats.journal_bytes = journal_bytes_.load();
    stats.compactions = compactions_.load();
    stats.compactions_failed = compactions_failed_.load();
    stats.last_snapshot_bytes = last_snapshot_bytes_.load();
    stats.stalls = stalls_.load();
    return stats;
}

void JournalWriter::run() noexcept {
    bool is_stopping = false;
    while (!is_stopping) {
        const bool has_child_exited = wait_for_work(is_stalled_ ? std::min(sync_due_, retry_due_) : sync_due_, is_stopping);
        write_round(is_stopping, has_child_exited);
    }
}

bool JournalWriter::wait_for_work(Clock::time_point sync_due, bool& is_stopping) {
    auto timeout = std::chrono::milliseconds(-1);
    if (sync_due != Clock::time_point::max()) {
        timeout = std::max(std::chrono::milliseconds(0), std::chrono::ceil<std::chrono::milliseconds>(sync_due - Clock::now()));
    }
    // The snapshot child's pidfd turns readable when it exits.
    pollfd items[2] = {{wake_.fd(), POLLIN, 0}, {compaction_ ? compaction_->process.exit_fd() : -1, POLLIN, 0}};
    ::poll(items, compaction_ ? 2 : 1, static_cast<int>(timeout.count()));  // EINTR: a round early, harmless
    wake_.take();
    if (is_stop_requested_.load()) is_stopping = true;
    return compaction_ && (items[1].revents & POLLIN);
}

void JournalWriter::write_round(bool is_stopping, bool has_child_exited) {
    std::uint64_t sequence = 0;
    std::optional<Compaction> started;
    {
        const std::lock_guard lock(mutex_);
        // While stalled, batch_ still holds what could not be written: new records go after it.
        if (batch_.empty()) {
            batch_.swap(queued_);
        } else {
            batch_.append(queued_);
            queued_.clear();
        }
        sequence = queued_last_sequence_;
        started.swap(queued_compaction_);
        has_wake_pending_ = false;
    }
    if (has_failed_.load()) {
        batch_.clear();
        if (started) discard(*started);
        return;
    }
    if (is_stalled_.load() && !may_retry_stalled(started, is_stopping)) return;
    const bool has_news = sequence != written_sequence_;
    if (has_news && !write_batch()) {
        if (started) drop_compaction(*started, "the journal cannot be written");
        if (is_stopping && is_stalled_.load()) {
            log_->error("journal stopped with records unwritten path={} unwritten_bytes={} (none was acknowledged)",
                        path_.string(), batch_.size());
        }
        return;
    }
    if (is_stalled_.load()) end_stall();
    // Keep what the compaction file will need: records after the boundary, then every batch.
    if (started) {
        compaction_.emplace(std::move(*started));
        compaction_->records_after.assign(std::string_view(batch_).substr(compaction_->boundary_bytes));
    } else if (compaction_) {
        compaction_->records_after.append(batch_);
    }
    batch_.clear();
    if (has_news) {
        records_written_ += sequence - written_sequence_;
        ++batches_written_;
        written_sequence_ = sequence;
    }
    const bool must_sync = is_stopping || options_.fsync == FsyncPolicy::always || Clock::now() >= sync_due_;
    if (is_dirty_ && must_sync && !sync()) return;
    if (!is_dirty_) sync_due_ = Clock::time_point::max();
    if (is_dirty_ && sync_due_ == Clock::time_point::max() && options_.fsync == FsyncPolicy::interval) {
        sync_due_ = Clock::now() + options_.fsync_interval;
    }
    if (has_news) publish_durable(written_sequence_);
    advance_compaction(is_stopping, has_child_exited);
}

void JournalWriter::advance_compaction(bool is_stopping, bool has_child_exited) {
    if (!compaction_) return;
    if (is_stopping) {
        abandon_compaction("the broker is stopping", false);
    } else if (compaction_->records_after.size() > kMaxCompactionHeldBytes) {
        abandon_compaction("over " + std::to_string(kMaxCompactionHeldBytes) +
                           " bytes of records arrived while the snapshot was written");
    } else if (has_child_exited) {
        finish_compaction();
    }
}

bool JournalWriter::may_retry_stalled(std::optional<Compaction>& started, bool is_stopping) {
    if (started) drop_compaction(*started, "the disk is full");
    started.reset();
    if (batch_.size() > options_.max_stalled_bytes) {
        fail("hold more than " + std::to_string(options_.max_stalled_bytes) + " bytes of records while the disk is full",
             ENOSPC);
        return false;
    }
    return is_stopping || Clock::now() >= retry_due_;
}

bool JournalWriter::write_batch() {
    const auto size_before = file_.size_bytes();
    const int error = file_.write({batch_});
    if (error == 0) {
        is_dirty_ = true;
        journal_bytes_ = file_.size_bytes();
        return true;
    }
    if (error != ENOSPC && error != EDQUOT && error != EFBIG) {
        fail("write " + file_.path().string(), error);
        return false;
    }
    // Cut off what part of the batch did land, so that the retry appends whole records.
    if (int cut = file_.truncate_to(size_before); cut != 0) {
        fail("cut a partial write back in " + file_.path().string(), cut);
        return false;
    }
    stall(error);
    return false;
}

void JournalWriter::stall(int error) {
    const auto now = Clock::now();
    retry_due_ = now + kStalledRetryInterval;
    if (is_stalled_.load()) return;
    stalled_since_ = now;
    {
        const std::lock_guard lock(mutex_);
        failure_ = "journal: cannot write " + file_.path().string() + ": " + std::strerror(error);
    }
    ++stalls_;
    is_stalled_.store(true);
    if (compaction_) abandon_compaction("the disk is full");
    log_->error("journal cannot be written path={} error=\"{}\" held_bytes={}; holding its records in memory and "
                "trying again every {} ms",
                path_.string(), std::strerror(error), batch_.size(), kStalledRetryInterval.count());
    notify();
}

void JournalWriter::end_stall() {
    {
        const std::lock_guard lock(mutex_);
        failure_.clear();
    }
    is_stalled_.store(false);
    const auto stalled = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - stalled_since_);
    log_->warn("journal writable again path={} stalled_ms={} written_bytes={}", path_.string(), stalled.count(),
               batch_.size());
    notify();
}

void JournalWriter::drop_compaction(Compaction& compaction, const std::string& why) {
    discard(compaction);
    ++compactions_failed_;
    is_compacting_.store(false);
    log_->error("journal compaction abandoned path={} error=\"{}\"", compaction.file.path().string(), why);
    notify();
}

void JournalWriter::finish_compaction() {
    Compaction& compaction = *compaction_;
    if (auto failure = compaction.process.reap(); !failure.empty()) {
        abandon_compaction("snapshot process: " + failure);
        return;
    }
    auto step_failed = [&](const std::string& what, int error) {
        abandon_compaction(what + ": " + std::strerror(error));
    };
    JournalFile& next = compaction.file;
    if (int error = next.refresh_size(); error != 0) return step_failed("stat", error);
    const auto snapshot_bytes = next.size_bytes();
    if (int error = next.write({compaction.records_after}); error != 0) return step_failed("write", error);
    if (int error = next.sync_data(); error != 0) return step_failed("fdatasync", error);
    ++fdatasyncs_;
    if (int error = next.rename_to(path_); error != 0) return step_failed("rename", error);
    // Past the rename the new file is the journal, so a failure here is the writer's failure:
    // without the directory sync, a power cut could bring back the old name's contents.
    auto directory = path_.parent_path();
    const int directory_error = sync_directory(directory.empty() ? "." : directory);
    file_ = std::move(next);
    const auto held_bytes = compaction.records_after.size();
    compaction_.reset();
    if (directory_error != 0) {
        is_compacting_.store(false);
        fail("sync the directory of " + path_.string(), directory_error);
        return;
    }
    is_dirty_ = false;
    journal_bytes_ = file_.size_bytes();
    last_snapshot_bytes_ = snapshot_bytes;
    ++compactions_;
    // Last: whoever sees the compaction over (stats(), the broker's loop) sees its figures too.
    is_compacting_.store(false);
    log_->info("journal compacted path={} bytes={} snapshot_bytes={} records_during_snapshot_bytes={}",
               path_.string(), file_.size_bytes(), snapshot_bytes, held_bytes);
    notify();
}

void JournalWriter::discard(Compaction& compaction) {
    compaction.process.stop();
    std::error_code ignored;
    std::filesystem::remove(compaction.file.path(), ignored);
}

void JournalWriter::abandon_compaction(const std::string& why, bool is_failure) {
    const auto compaction_path = compaction_->file.path();
    discard(*compaction_);
    compaction_.reset();  // closes the file
    if (is_failure) ++compactions_failed_;
    is_compacting_.store(false);  // after the count, as in finish_compaction()
    if (is_failure) {
        log_->error("journal compaction abandoned path={} error=\"{}\"", compaction_path.string(), why);
    } else {
        log_->info("journal compaction cancelled path={} reason=\"{}\"", compaction_path.string(), why);
    }
    notify();
}

bool JournalWriter::sync() {
    const auto started = Clock::now();
    if (int error = file_.sync_data(); error != 0) {
        fail("fdatasync " + file_.path().string(), error);
        return false;
    }
    const auto took = Clock::now() - started;
    {
        const std::lock_guard lock(histograms_mutex_);
        histograms_.fsync.observe(took);
        histograms_.records_per_fsync.observe(written_sequence_ - synced_sequence_);
    }
    synced_sequence_ = written_sequence_;
    ++fdatasyncs_;
    is_dirty_ = false;
    return true;
}

JournalHistograms JournalWriter::histograms() const {
    const std::lock_guard lock(histograms_mutex_);
    return histograms_;
}

void JournalWriter::publish_durable(std::uint64_t sequence) {
    durable_.store(sequence);
    notify();
}

void JournalWriter::notify() {
    if (!has_notified_.exchange(true)) durable_signal_.notify();
}

void JournalWriter::fail(const std::string& what, int error) {
    {
        const std::lock_guard lock(mutex_);
        failure_ = "journal: cannot " + what + ": " + std::strerror(error);
        queued_.clear();
    }
    batch_.clear();
    is_stalled_.store(false);
    has_failed_.store(true);
    if (compaction_) {
        discard(*compaction_);
        compaction_.reset();
    }
    is_compacting_.store(false);
    log_->error("journal writer stopped path={} error=\"{}\"", path_.string(), failure());
    notify();
}

void JournalWriter::check_owner() const noexcept {
    assert(std::this_thread::get_id() == owner_ && "JournalWriter is used by the thread that built it");
}

}  // namespace corsair::broker
