// Reads a journal file's records in order, for recovery at startup, and says how the file ends.
// Used by one thread (the broker's, before its loop starts). The file is memory-mapped read-only
// and must not be written while a reader is open.
//
// How the end is judged. When the record at offset X is not intact (truncated, or a bad length,
// type or checksum), the reader scans the rest of the file for any intact record
// (find_next_record). None found: X starts a torn tail, the remains of a write cut short by a
// crash, and the caller truncates the file at X. One found at Y: the damage is not at the tail,
// so truncating would throw away intact records; the reader reports corruption at X (and Y) and
// the broker should refuse to start until an operator runs salvage_journal. A record whose
// checksum holds but whose body does not decode was written that way (a bug, or an unknown
// format), never torn, so it is reported as corruption wherever it is.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "corsair/broker/journal_record.hpp"

namespace corsair::broker {

struct JournalEnding {
    enum class Kind {
        clean,      // every byte belonged to an intact record
        torn_tail,  // an incomplete or bad last record, nothing intact after it: truncate at valid_bytes
        corrupt,    // a bad record with intact data after it: refuse to start, salvage
    };
    Kind kind = Kind::clean;
    // Where intact data ends: the file size (clean), the length to truncate to (torn_tail), or
    // the offset of the first byte of the bad record (corrupt).
    std::uint64_t valid_bytes = 0;
    std::uint64_t resumes_at = 0;  // corrupt: offset of the next intact record
    std::uint64_t file_bytes = 0;
    std::filesystem::path path;
    std::string reason;  // why the record at valid_bytes was rejected; empty when clean

    // One line for a log or an error message: kind, path, offsets, reason.
    std::string describe() const;
};

class JournalReader {
public:
    // Opens and maps `path` and checks its header. Blocks on disk. Throws JournalError if the file
    // cannot be opened or mapped, is not a Corsair journal (bad magic), or has a format version
    // this broker does not read. A file shorter than a header whose bytes are a prefix of one (a
    // crash while creating it) reads as a torn tail at 0.
    explicit JournalReader(std::filesystem::path path);
    ~JournalReader();
    JournalReader(const JournalReader&) = delete;
    JournalReader& operator=(const JournalReader&) = delete;

    // The next record, or nullopt once the records end; ending() then says how. Never throws on
    // file content.
    std::optional<JournalRecord> next();
    // Valid after next() has returned nullopt.
    const JournalEnding& ending() const noexcept { return ending_; }
    bool has_ended() const noexcept { return has_ended_; }

    // Offset of the next record: the end of the intact data read so far.
    std::uint64_t offset() const noexcept { return offset_; }
    std::uint64_t records_read() const noexcept { return records_read_; }
    const std::filesystem::path& path() const noexcept { return path_; }

private:
    void unmap() noexcept;
    void end(JournalEnding::Kind kind, std::string reason, std::uint64_t resumes_at = 0);

    std::filesystem::path path_;
    const char* data_ = nullptr;  // mapping of the whole file, or null when it is empty
    std::size_t size_ = 0;
    std::uint64_t offset_ = 0;
    std::uint64_t records_read_ = 0;
    bool has_ended_ = false;
    JournalEnding ending_;
};

}  // namespace corsair::broker
