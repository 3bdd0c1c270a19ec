// The journal reader, recovery and salvage. The input is a whole journal file, kept in memory
// (a memfd read through /proc/self/fd, salvage's output on tmpfs). What must hold:
//   - JournalReader refuses only a file that is not a journal (bad magic) or of a version it does
//     not read, with JournalError; anything else it reads to a clean end, a torn tail with no
//     intact record after it, or corruption with intact data after it.
//   - every record it returns is an intact frame of the file (its CRC-32C recomputed here), and
//     re-encodes to a frame that decodes to a record encoding to the same bytes;
//   - replaying those records into a Scheduler throws nothing, and the snapshot of the state it
//     rebuilds, replayed into a second Scheduler, gives the very same snapshot (nothing silently
//     lost or changed by a round through the journal);
//   - salvage keeps every record of a clean file and skips nothing, and its output reads clean
//     with exactly the records it says it kept.
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <spdlog/logger.h>
#include <spdlog/sinks/null_sink.h>

#include "corsair/broker/journal_record.hpp"
#include "corsair/broker/scheduler.hpp"
#include "crc32c.hpp"
#include "fuzz_input.hpp"
#include "journal_error.hpp"
#include "journal_file.hpp"
#include "journal_reader.hpp"
#include "journal_salvage.hpp"

namespace {

namespace b = corsair::broker;
using corsair::fuzz::check;

class NullOutbox final : public b::Outbox {
public:
    corsair::protocol::SendStatus to_worker(const b::RoutingId&, corsair::protocol::Frames&) override {
        return corsair::protocol::SendStatus::sent;
    }
    corsair::protocol::SendStatus to_producer(const b::RoutingId&, corsair::protocol::Frames&) override {
        return corsair::protocol::SendStatus::sent;
    }
};

// The input as a file that lives in memory only: one memfd for the whole run, emptied and
// rewritten per input, so an input costs no file creation.
class MemoryFile {
public:
    MemoryFile() : fd_(::memfd_create("journal", MFD_CLOEXEC)), path_("/proc/self/fd/" + std::to_string(fd_)) {
        check(fd_ >= 0, "memfd_create failed");
    }
    MemoryFile(const MemoryFile&) = delete;
    MemoryFile& operator=(const MemoryFile&) = delete;
    ~MemoryFile() { ::close(fd_); }

    // The file holds exactly these bytes afterwards.
    void assign(const std::uint8_t* data, std::size_t size) {
        check(::ftruncate(fd_, 0) == 0, "truncating the memfd failed");
        for (std::size_t done = 0; done < size;) {
            const auto written = ::pwrite(fd_, data + done, size - done, static_cast<off_t>(done));
            check(written > 0, "writing the memfd failed");
            done += static_cast<std::size_t>(written);
        }
    }
    const std::filesystem::path& path() const { return path_; }

private:
    int fd_;
    std::filesystem::path path_;
};

const std::filesystem::path& salvage_directory() {
    static const std::filesystem::path directory = [] {
        char name[] = "/dev/shm/corsair-fuzz-journal-XXXXXX";
        check(::mkdtemp(name) != nullptr, "mkdtemp failed");
        return std::filesystem::path(name);
    }();
    return directory;
}

// A fixed clock, so both replays see the same time.
const auto kNow = std::chrono::steady_clock::time_point(std::chrono::hours(1000));
const auto kWall = std::chrono::system_clock::time_point(std::chrono::milliseconds(1'750'000'000'000));

std::string replay_and_snapshot(const std::vector<b::JournalRecord>& records) {
    static const auto log = std::make_shared<spdlog::logger>("fuzz", std::make_shared<spdlog::sinks::null_sink_st>());
    b::BrokerOptions options;
    options.random_seed = 42;
    NullOutbox outbox;
    b::Scheduler scheduler(options, outbox, log, [] { return kWall; });
    for (const auto& record : records) scheduler.recover(record, kNow);
    scheduler.finish_recovery(kNow);
    std::string snapshot;
    scheduler.write_snapshot(snapshot, kNow);
    return snapshot;
}

// The records of a snapshot (frames back to back, no file header); every one must be intact.
std::vector<b::JournalRecord> records_of(std::string_view bytes) {
    std::vector<b::JournalRecord> records;
    while (!bytes.empty()) {
        const auto frame = b::check_frame(bytes);
        check(frame.status == b::JournalFrame::Status::intact, std::string("a snapshot frame is not intact: ") + frame.reason);
        auto record = b::decode_body(frame.type, frame.body);
        check(record.has_value(), "a snapshot record does not decode: " + (record ? "" : record.error()));
        records.push_back(std::move(record).value());
        bytes.remove_prefix(frame.frame_bytes);
    }
    return records;
}

// The record read from bytes[from, to) is that very frame, its checksum holds, and it re-encodes
// to a frame of its own that decodes to the same encoding.
void check_record(std::string_view file, std::uint64_t from, std::uint64_t to, const b::JournalRecord& record) {
    check(to > from && to <= file.size(), "a record's offsets are outside the file");
    const std::string_view bytes = file.substr(from, to - from);
    std::uint32_t stored = 0;
    std::memcpy(&stored, bytes.data() + 4, sizeof stored);
    check(b::crc32c(bytes.substr(8)) == stored, "a record read does not pass its CRC-32C");
    check(static_cast<std::uint8_t>(bytes[8]) == static_cast<std::uint8_t>(b::type_of(record)),
          "a record read has another type than its frame");
    std::string encoded;
    b::encode(record, encoded);
    const auto again = records_of(encoded);
    check(again.size() == 1, "a record re-encodes to several frames");
    std::string encoded_again;
    b::encode(again.front(), encoded_again);
    check(encoded_again == encoded, "a record's encoding changes after a round trip");
}

void check_ending(std::string_view file, const b::JournalEnding& ending) {
    switch (ending.kind) {
        case b::JournalEnding::Kind::clean:
            check(ending.valid_bytes == file.size(), "a clean ending before the end of the file");
            break;
        case b::JournalEnding::Kind::torn_tail:
            check(ending.valid_bytes < file.size() || file.size() < b::kJournalHeaderBytes, "a torn tail past the end");
            check(!b::find_next_record(file, std::max<std::size_t>(ending.valid_bytes, b::kJournalHeaderBytes) + 1),
                  "a torn tail with an intact record after it: truncating would lose it");
            break;
        case b::JournalEnding::Kind::corrupt:
            check(ending.resumes_at > ending.valid_bytes && ending.resumes_at <= file.size(), "corruption resumes nowhere");
            check(ending.resumes_at == file.size() || b::find_next_record(file, ending.resumes_at) == ending.resumes_at,
                  "corruption said to resume where no intact record starts");
            break;
    }
}

struct Read {
    std::vector<b::JournalRecord> records;
    bool is_clean = false;
};

// Reads the file as the broker does at startup; nullopt when it refuses the file.
std::optional<Read> read_journal(const std::filesystem::path& path, std::string_view file) {
    try {
        b::JournalReader reader(path);
        Read read;
        std::uint64_t from = reader.offset();
        while (auto record = reader.next()) {
            check_record(file, from, reader.offset(), *record);
            from = reader.offset();
            read.records.push_back(std::move(*record));
        }
        check_ending(file, reader.ending());
        read.is_clean = reader.ending().kind == b::JournalEnding::Kind::clean;
        return read;
    } catch (const b::JournalError&) {
        const auto version = b::journal_version_of(file);
        const bool has_magic = file.substr(0, 4) == std::string_view(b::kJournalMagic, std::min<std::size_t>(4, file.size()));
        check(!has_magic || (version && !b::is_readable_journal_version(*version)),
              "a journal with a readable header was refused");
        return std::nullopt;
    }
}

void check_salvage(const std::filesystem::path& path, bool is_clean, std::size_t records_read) {
    static const auto out = salvage_directory() / "salvaged";
    std::filesystem::remove(out);
    const auto report = b::salvage_journal(path, out);
    if (is_clean) {
        check(report.records_kept == records_read, "salvage of a clean journal did not keep every record");
        check(report.bytes_skipped == 0, "salvage of a clean journal skipped bytes");
    }
    check(report.records_kept >= records_read, "salvage kept fewer records than the reader read");
    b::JournalReader reader(out);
    std::size_t kept = 0;
    while (reader.next()) ++kept;
    check(reader.ending().kind == b::JournalEnding::Kind::clean, "salvage's output is not clean");
    check(kept == report.records_kept, "salvage's output holds another count of records than reported");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view file(reinterpret_cast<const char*>(data), size);
    static MemoryFile memory;
    memory.assign(data, size);
    bool is_clean = false;
    std::size_t records_read = 0;
    if (const auto read = read_journal(memory.path(), file)) {
        records_read = read->records.size();
        is_clean = read->is_clean;
        const std::string first = replay_and_snapshot(read->records);
        const std::string second = replay_and_snapshot(records_of(first));
        check(first == second, "the state rebuilt from a snapshot differs from the state the snapshot was taken of");
    }
    check_salvage(memory.path(), is_clean, records_read);
    return 0;
}
