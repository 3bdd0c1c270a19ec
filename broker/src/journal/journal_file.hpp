// One open journal file, appended to with write(2)/writev(2) and synced with fdatasync(2); plus
// the file header and the small filesystem steps around it. A JournalFile is used by one thread
// at a time (the JournalWriter's thread, or salvage); it may move between threads only while idle.
//
// File layout: an 8-byte header, then records (journal_record.hpp) back to back.
//
//   "CSRJ"          magic
//   u32 LE version  kJournalFormatVersion, written at creation
//
// Upgrade rule: a broker reads only the versions it knows and refuses others with a message
// naming both; a later format either reads the earlier ones itself or ships a converter.
// Versions: 1, the first; 2 adds the `released` record; 3 adds the `job` record, a job's whole
// state, which snapshots write; 4 adds the `queue_deleted` record. A broker reads every older version as it is, and an older file
// opened for appending has its header rewritten to the current version first, since records of
// a newer type may follow (an older broker then refuses it instead of misreading it).
#pragma once

#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace corsair::broker {

inline constexpr char kJournalMagic[4] = {'C', 'S', 'R', 'J'};
inline constexpr std::uint32_t kJournalFormatVersion = 4;
inline constexpr std::uint32_t kOldestJournalFormatVersion = 1;
inline constexpr std::size_t kJournalHeaderBytes = 8;

// Appends the header of a new journal (version kJournalFormatVersion) to `out`.
void append_journal_header(std::string& out, std::uint32_t version = kJournalFormatVersion);

// The format version in `header` (the first kJournalHeaderBytes of a file), or nullopt if it
// is shorter than that or does not start with the magic.
std::optional<std::uint32_t> journal_version_of(std::string_view header) noexcept;
inline bool is_readable_journal_version(std::uint32_t version) noexcept {
    return version >= kOldestJournalFormatVersion && version <= kJournalFormatVersion;
}

class JournalFile {
public:
    // Opens `path` for appending. A missing or empty file gets a header, synced together with its
    // directory entry before this returns. Blocks on disk. Throws JournalError if the file cannot
    // be opened or an existing file does not start with a version-1 header; a torn tail must be
    // cut first (JournalReader, truncate_journal), since appends land after whatever is there.
    static JournalFile open_for_append(const std::filesystem::path& path);
    // Creates `path`, which must not exist, holding just a header (not yet synced). Throws
    // JournalError if it exists or cannot be created.
    static JournalFile create_new(const std::filesystem::path& path);

    JournalFile(JournalFile&& other) noexcept;
    JournalFile& operator=(JournalFile&& other) noexcept;
    JournalFile(const JournalFile&) = delete;
    JournalFile& operator=(const JournalFile&) = delete;
    ~JournalFile();

    // Blocks until every byte of `pieces` is written, in order, retrying short writes and EINTR.
    // Returns 0, or the errno of the failed call (the file may then end in a partial record).
    int write(std::initializer_list<std::string_view> pieces) noexcept;
    // fdatasync(2): returns 0 or errno. After a failure the page cache state is unknown
    // (Linux may have dropped the dirty pages), so callers must treat it as fatal, never retry.
    int sync_data() noexcept;

    // rename(2)s the file to `path`, replacing any file there, and keeps it open. The caller
    // syncs the directory to make the new name durable. Returns 0 or errno.
    int rename_to(const std::filesystem::path& path) noexcept;

    // Cuts the file back to `size_bytes` (ftruncate(2)): after a failed write left part of a
    // batch behind. Returns 0 or errno.
    int truncate_to(std::uint64_t size_bytes) noexcept;

    // Re-reads the size from the file (fstat): after another process appended to the same file
    // (a SnapshotProcess). Returns 0 or errno.
    int refresh_size() noexcept;

    const std::filesystem::path& path() const noexcept { return path_; }
    int descriptor() const noexcept { return fd_; }
    std::uint64_t size_bytes() const noexcept { return size_bytes_; }
    bool is_open() const noexcept { return fd_ >= 0; }

private:
    JournalFile(int fd, std::filesystem::path path, std::uint64_t size_bytes) noexcept
        : fd_(fd), path_(std::move(path)), size_bytes_(size_bytes) {}

    int fd_ = -1;
    std::filesystem::path path_;
    std::uint64_t size_bytes_ = 0;
};

// fsync(2) on a directory, so that entries created, renamed or removed in it survive a power
// failure. Blocks. Returns 0 or errno.
int sync_directory(const std::filesystem::path& directory) noexcept;

// Cuts `path` to `size_bytes` and syncs it: how a caller drops a torn tail the reader reported.
// Throws JournalError on failure.
void truncate_journal(const std::filesystem::path& path, std::uint64_t size_bytes);

// Where compaction writes the next journal before renaming it over `journal`.
std::filesystem::path compaction_path_of(const std::filesystem::path& journal);

}  // namespace corsair::broker
