#include "journal_writer.hpp"

#include <unistd.h>

#include <cassert>
#include <cstring>

#include "journal_error.hpp"

namespace corsair::broker {

namespace {

// Pipe messages, one byte each.
constexpr char kReady = 'r';    // writer -> loop, once, after connecting
constexpr char kWake = 'w';     // loop -> writer: a batch is waiting
constexpr char kStop = 's';     // loop -> writer: write everything, sync, exit
constexpr char kDurable = 'd';  // writer -> loop: take_durable() has news

using Clock = std::chrono::steady_clock;

// Both ends of the pipe. Wakes and notifications coalesce to a couple in flight, but zmq judges
// "full" from the reader's acknowledgements, which lag by up to half the high-water mark; with
// the default mark a send could fail with EAGAIN after ~1000 messages and lose a wake for good.
// No mark at all makes those sends always succeed; the coalescing keeps the queue tiny.
void configure_pipe(zmq::socket_t& socket) {
    socket.set(zmq::sockopt::linger, 0);
    socket.set(zmq::sockopt::sndhwm, 0);
    socket.set(zmq::sockopt::rcvhwm, 0);
}

// zmq closes sockets asynchronously, so an inproc name can stay bound a moment after its writer
// is gone: each writer gets a name never used before, not one derived from its address.
std::string next_endpoint() {
    static std::atomic<std::uint64_t> count{0};
    return "inproc://corsair-journal-writer-" + std::to_string(++count);
}

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

JournalWriter::JournalWriter(zmq::context_t& context, std::filesystem::path path, JournalWriterOptions options,
                             std::shared_ptr<spdlog::logger> log)
    : path_(std::move(path)),
      options_(options),
      log_(std::move(log)),
      endpoint_(next_endpoint()),
      owner_(std::this_thread::get_id()),
      pipe_(context, zmq::socket_type::pair),
      file_(JournalFile::open_for_append(path_)) {
    journal_bytes_ = file_.size_bytes();
    configure_pipe(pipe_);
    pipe_.bind(endpoint_);
    thread_ = std::jthread([this, &context] { run(context); });
    // Handshake: a PAIR socket drops (EAGAIN) what is sent before its peer connects.
    zmq::message_t ready;
    [[maybe_unused]] auto received = pipe_.recv(ready);
    assert(received && ready.size() == 1 && *static_cast<const char*>(ready.data()) == kReady);
}

JournalWriter::~JournalWriter() {
    check_owner();
    pipe_.send(zmq::const_buffer(&kStop, 1));
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
    // At most one wake is outstanding per batch and the pipe has no high-water mark: never blocks.
    if (needs_wake) send_wake();
    return last_sequence_;
}

std::uint64_t JournalWriter::take_durable() {
    check_owner();
    // Drain, then clear, then load. The writer sends only when it flips has_notified_ from false,
    // so the flag must never stay true once its message is gone: clearing before draining could
    // swallow a message sent in between and leave the flag set, and no notification would ever
    // come again. In this order, a value published after the load flips the cleared flag and
    // sends, and one published before it is seen by the load (a leftover message only makes a
    // spurious wake).
    zmq::message_t message;
    while (pipe_.recv(message, zmq::recv_flags::dontwait)) {
    }
    has_notified_.store(false);
    return durable_.load();
}

bool JournalWriter::compact(std::string snapshot) {
    check_owner();
    bool needs_wake = false;
    {
        const std::lock_guard lock(mutex_);
        if (is_compacting_.load() || has_failed_.load()) return false;
        is_compacting_.store(true);
        queued_compaction_ = Compaction{std::move(snapshot), queued_.size()};
        needs_wake = !std::exchange(has_wake_pending_, true);
    }
    if (needs_wake) send_wake();
    return true;
}

void JournalWriter::send_wake() {
    [[maybe_unused]] const auto sent = pipe_.send(zmq::const_buffer(&kWake, 1), zmq::send_flags::dontwait);
    assert(sent && "a lost wake would stall the writer");
}

std::string JournalWriter::failure() const {
    const std::lock_guard lock(mutex_);
    return failure_;
}

std::size_t JournalWriter::backlog_bytes() const {
    const std::lock_guard lock(mutex_);
    return queued_.size();
}

JournalWriterStats JournalWriter::stats() const noexcept {
    JournalWriterStats stats;
    stats.records_written = records_written_.load();
    stats.batches_written = batches_written_.load();
    stats.fdatasyncs = fdatasyncs_.load();
    stats.journal_bytes = journal_bytes_.load();
    stats.compactions = compactions_.load();
    stats.compactions_failed = compactions_failed_.load();
    return stats;
}

void JournalWriter::run(zmq::context_t& context) noexcept {
    writer_pipe_.emplace(context, zmq::socket_type::pair);
    configure_pipe(*writer_pipe_);
    writer_pipe_->connect(endpoint_);
    writer_pipe_->send(zmq::const_buffer(&kReady, 1));

    std::string batch;
    std::uint64_t written_sequence = 0;
    // When unsynced data must be synced (interval policy); never while nothing is waiting.
    constexpr auto kNever = Clock::time_point::max();
    auto sync_due = kNever;
    bool is_stopping = false;
    while (!is_stopping) {
        auto timeout = std::chrono::milliseconds(-1);
        if (sync_due != kNever) {
            timeout = std::max(std::chrono::milliseconds(0),
                               std::chrono::ceil<std::chrono::milliseconds>(sync_due - Clock::now()));
        }
        zmq::pollitem_t item{writer_pipe_->handle(), 0, ZMQ_POLLIN, 0};
        zmq::poll(&item, 1, timeout);
        zmq::message_t message;
        while (writer_pipe_->recv(message, zmq::recv_flags::dontwait)) {
            if (message.size() == 1 && *static_cast<const char*>(message.data()) == kStop) is_stopping = true;
        }

        std::uint64_t sequence = 0;
        std::optional<Compaction> compaction;
        {
            const std::lock_guard lock(mutex_);
            batch.swap(queued_);
            sequence = queued_last_sequence_;
            compaction.swap(queued_compaction_);
            has_wake_pending_ = false;
        }
        if (has_failed_.load()) {
            batch.clear();
            continue;
        }
        const bool has_news = sequence != written_sequence || compaction.has_value();
        const bool is_written = !has_news || write_batch(batch, std::move(compaction));
        batch.clear();
        if (!is_written) continue;
        if (sequence != written_sequence) {
            records_written_ += sequence - written_sequence;
            ++batches_written_;
            written_sequence = sequence;
        }

        const bool must_sync = is_stopping || options_.fsync == FsyncPolicy::always || Clock::now() >= sync_due;
        if (is_dirty_ && must_sync && !sync()) continue;
        if (!is_dirty_) sync_due = kNever;
        if (is_dirty_ && sync_due == kNever && options_.fsync == FsyncPolicy::interval) {
            sync_due = Clock::now() + options_.fsync_interval;
        }
        if (has_news) publish_durable(written_sequence);
    }
    writer_pipe_.reset();
}

bool JournalWriter::write_batch(std::string_view batch, std::optional<Compaction> compaction) {
    const std::string_view records_before = batch.substr(0, compaction ? compaction->boundary_bytes : batch.size());
    if (int error = file_.write({records_before}); error != 0) {
        fail("write " + file_.path().string(), error);
        return false;
    }
    is_dirty_ = is_dirty_ || !records_before.empty();
    journal_bytes_ = file_.size_bytes();
    if (!compaction) return true;

    const std::string_view records_after = batch.substr(records_before.size());
    const bool has_switched = switch_to_compacted(*compaction, records_after);
    if (!has_switched && !has_failed_.load()) {
        if (int error = file_.write({records_after}); error != 0) {
            fail("write " + file_.path().string(), error);
        } else {
            is_dirty_ = is_dirty_ || !records_after.empty();
            journal_bytes_ = file_.size_bytes();
        }
    }
    is_compacting_.store(false);
    notify();
    return !has_failed_.load();
}

bool JournalWriter::switch_to_compacted(const Compaction& compaction, std::string_view records_after) {
    const auto compaction_path = compaction_path_of(path_);
    auto abandon = [&](const std::string& what, int error) {
        std::error_code ignored;
        std::filesystem::remove(compaction_path, ignored);
        ++compactions_failed_;
        log_->error("journal compaction abandoned path={} step=\"{}\" error=\"{}\"", compaction_path.string(), what,
                    std::strerror(error));
        return false;
    };
    std::error_code ignored;
    std::filesystem::remove(compaction_path, ignored);  // a leftover from a crash mid-compaction
    std::optional<JournalFile> next;
    try {
        next.emplace(JournalFile::create_new(compaction_path));
    } catch (const JournalError& error) {
        ++compactions_failed_;
        log_->error("journal compaction abandoned path={} error=\"{}\"", compaction_path.string(), error.what());
        return false;
    }
    if (int error = next->write({compaction.snapshot, records_after}); error != 0) return abandon("write", error);
    if (int error = next->sync_data(); error != 0) return abandon("fdatasync", error);
    ++fdatasyncs_;
    if (int error = next->rename_to(path_); error != 0) return abandon("rename", error);
    // Past the rename the new file is the journal, so a failure here is the writer's failure:
    // without the directory sync, a power cut could bring back the old name's contents.
    auto directory = path_.parent_path();
    if (int error = sync_directory(directory.empty() ? "." : directory); error != 0) {
        fail("sync the directory of " + path_.string(), error);
        return false;
    }
    file_ = std::move(*next);
    is_dirty_ = false;
    journal_bytes_ = file_.size_bytes();
    ++compactions_;
    log_->info("journal compacted path={} bytes={}", path_.string(), file_.size_bytes());
    return true;
}

bool JournalWriter::sync() {
    if (int error = file_.sync_data(); error != 0) {
        fail("fdatasync " + file_.path().string(), error);
        return false;
    }
    ++fdatasyncs_;
    is_dirty_ = false;
    return true;
}

void JournalWriter::publish_durable(std::uint64_t sequence) {
    durable_.store(sequence);
    notify();
}

void JournalWriter::notify() {
    if (!has_notified_.exchange(true)) {
        [[maybe_unused]] const auto sent =
            writer_pipe_->send(zmq::const_buffer(&kDurable, 1), zmq::send_flags::dontwait);
        assert(sent && "a lost notification would stall the loop");
    }
}

void JournalWriter::fail(const std::string& what, int error) {
    {
        const std::lock_guard lock(mutex_);
        failure_ = "journal: cannot " + what + ": " + std::strerror(error);
        queued_.clear();
    }
    has_failed_.store(true);
    is_compacting_.store(false);
    log_->error("journal writer stopped path={} error=\"{}\"", path_.string(), failure());
    notify();
}

void JournalWriter::check_owner() const noexcept {
    assert(std::this_thread::get_id() == owner_ && "JournalWriter is used by the thread that built it");
}

}  // namespace corsair::broker
