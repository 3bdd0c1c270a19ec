#include "journal_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#include "journal_error.hpp"

namespace corsair::broker {

namespace {

std::string describe_errno(const std::string& action, const std::filesystem::path& path, int error) {
    return "journal: cannot " + action + " " + path.string() + ": " + std::strerror(error);
}

std::filesystem::path parent_of(const std::filesystem::path& path) {
    auto parent = path.parent_path();
    return parent.empty() ? std::filesystem::path(".") : parent;
}

std::string header_bytes() {
    std::string header;
    append_journal_header(header);
    return header;
}

// Rewrites the header of an older-version journal to the current version and syncs it. Through
// a second descriptor: on Linux, pwrite(2) on an O_APPEND descriptor appends.
void upgrade_header(const std::filesystem::path& path) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) throw JournalError(describe_errno("open to upgrade", path, errno));
    const std::string header = header_bytes();
    const bool is_written = ::pwrite(fd, header.data(), header.size(), 0) == static_cast<ssize_t>(header.size());
    const int error = is_written ? (::fdatasync(fd) == 0 ? 0 : errno) : (errno != 0 ? errno : EIO);
    ::close(fd);
    if (error != 0) throw JournalError(describe_errno("upgrade the header of", path, error));
}

}  // namespace

void append_journal_header(std::string& out, std::uint32_t version) {
    out.append(kJournalMagic, sizeof kJournalMagic);
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((version >> (8 * i)) & 0xFFu));
}

std::optional<std::uint32_t> journal_version_of(std::string_view header) noexcept {
    if (header.size() < kJournalHeaderBytes || header.substr(0, sizeof kJournalMagic) != std::string_view(kJournalMagic, sizeof kJournalMagic)) {
        return std::nullopt;
    }
    std::uint32_t version = 0;
    for (std::size_t i = 0; i < 4; ++i) {
        version |= static_cast<std::uint32_t>(static_cast<unsigned char>(header[4 + i])) << (8 * i);
    }
    return version;
}

JournalFile JournalFile::open_for_append(const std::filesystem::path& path) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) throw JournalError(describe_errno("open", path, errno));
    struct stat status {};
    if (::fstat(fd, &status) != 0) {
        const int error = errno;
        ::close(fd);
        throw JournalError(describe_errno("stat", path, error));
    }
    JournalFile file(fd, path, static_cast<std::uint64_t>(status.st_size));
    if (file.size_bytes_ == 0) {
        const std::string header = header_bytes();
        if (int error = file.write({header}); error != 0) throw JournalError(describe_errno("write", path, error));
        if (int error = file.sync_data(); error != 0) throw JournalError(describe_errno("sync", path, error));
        if (int error = sync_directory(parent_of(path)); error != 0) {
            throw JournalError(describe_errno("sync the directory of", path, error));
        }
        return file;
    }
    char header[kJournalHeaderBytes];
    if (file.size_bytes_ < kJournalHeaderBytes || ::pread(fd, header, sizeof header, 0) != sizeof header) {
        throw JournalError("journal: " + path.string() + " has a torn header; truncate it to 0 bytes first");
    }
    const auto version = journal_version_of(std::string_view(header, sizeof header));
    if (!version || !is_readable_journal_version(*version)) {
        throw JournalError("journal: " + path.string() + " is not a version-" +
                           std::to_string(kOldestJournalFormatVersion) + " to " + std::to_string(kJournalFormatVersion) +
                           " Corsair journal");
    }
    if (*version < kJournalFormatVersion) upgrade_header(path);
    return file;
}

JournalFile JournalFile::create_new(const std::filesystem::path& path) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) throw JournalError(describe_errno("create", path, errno));
    JournalFile file(fd, path, 0);
    const std::string header = header_bytes();
    if (int error = file.write({header}); error != 0) {
        ::unlink(path.c_str());
        throw JournalError(describe_errno("write", path, error));
    }
    return file;
}

JournalFile::JournalFile(JournalFile&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), path_(std::move(other.path_)), size_bytes_(other.size_bytes_) {}

JournalFile& JournalFile::operator=(JournalFile&& other) noexcept {
    if (this != &other) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = std::exchange(other.fd_, -1);
        path_ = std::move(other.path_);
        size_bytes_ = other.size_bytes_;
    }
    return *this;
}

JournalFile::~JournalFile() {
    if (fd_ >= 0) ::close(fd_);
}

int JournalFile::write(std::initializer_list<std::string_view> pieces) noexcept {
    iovec vectors[8];
    std::size_t count = 0;
    for (const auto& piece : pieces) {
        if (piece.empty()) continue;
        if (count == std::size(vectors)) return EINVAL;
        vectors[count++] = iovec{const_cast<char*>(piece.data()), piece.size()};
    }
    iovec* next = vectors;
    while (count > 0) {
        const ssize_t written = ::writev(fd_, next, static_cast<int>(count));
        if (written < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        size_bytes_ += static_cast<std::uint64_t>(written);
        auto remaining = static_cast<std::size_t>(written);
        while (count > 0 && remaining >= next->iov_len) {
            remaining -= next->iov_len;
            ++next;
            --count;
        }
        if (count > 0) {
            next->iov_base = static_cast<char*>(next->iov_base) + remaining;
            next->iov_len -= remaining;
        }
    }
    return 0;
}

int JournalFile::truncate_to(std::uint64_t size_bytes) noexcept {
    while (::ftruncate(fd_, static_cast<off_t>(size_bytes)) != 0) {
        if (errno != EINTR) return errno;
    }
    size_bytes_ = size_bytes;
    return 0;
}

int JournalFile::refresh_size() noexcept {
    struct stat status {};
    if (::fstat(fd_, &status) != 0) return errno;
    size_bytes_ = static_cast<std::uint64_t>(status.st_size);
    return 0;
}

int JournalFile::sync_data() noexcept {
    while (::fdatasync(fd_) != 0) {
        if (errno != EINTR) return errno;
    }
    return 0;
}

int JournalFile::rename_to(const std::filesystem::path& path) noexcept {
    if (::rename(path_.c_str(), path.c_str()) != 0) return errno;
    try {
        path_ = path;
    } catch (...) {
        return ENOMEM;
    }
    return 0;
}

int sync_directory(const std::filesystem::path& directory) noexcept {
    const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return errno;
    int error = 0;
    while (::fsync(fd) != 0) {
        if (errno != EINTR) {
            error = errno;
            break;
        }
    }
    ::close(fd);
    return error;
}

void truncate_journal(const std::filesystem::path& path, std::uint64_t size_bytes) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) throw JournalError(describe_errno("open", path, errno));
    int error = 0;
    if (::ftruncate(fd, static_cast<off_t>(size_bytes)) != 0 || ::fsync(fd) != 0) error = errno;
    ::close(fd);
    if (error != 0) throw JournalError(describe_errno("truncate", path, error));
}

std::filesystem::path compaction_path_of(const std::filesystem::path& journal) {
    auto path = journal;
    path += ".compact";
    return path;
}

}  // namespace corsair::broker
