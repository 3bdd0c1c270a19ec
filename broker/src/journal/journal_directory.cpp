#include "journal_directory.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "journal_error.hpp"
#include "journal_file.hpp"

namespace corsair::broker {

namespace {

// The PID a running broker wrote into its LOCK file, or empty if it cannot be read.
std::string read_holder_pid(int fd) {
    char text[32] = {};
    const ssize_t size = ::pread(fd, text, sizeof text - 1, 0);
    if (size <= 0) return {};
    std::string pid(text, static_cast<std::size_t>(size));
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
    for (char c : pid) {
        if (c < '0' || c > '9') return {};
    }
    return pid;
}

}  // namespace

JournalDirectory::JournalDirectory(std::filesystem::path directory) : directory_(std::move(directory)) {
    std::error_code error;
    const bool is_new = std::filesystem::create_directories(directory_, error);
    if (error) {
        throw JournalError("data directory " + directory_.string() + " cannot be created: " + error.message());
    }
    if (is_new) {
        auto parent = std::filesystem::absolute(directory_).parent_path();
        if (int sync_error = sync_directory(parent); sync_error != 0) {
            throw JournalError("data directory " + directory_.string() +
                               ": cannot sync its parent: " + std::strerror(sync_error));
        }
    }
    const auto lock = lock_path();
    lock_fd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock_fd_ < 0) {
        throw JournalError("data directory " + directory_.string() + ": cannot open " + lock.string() + ": " +
                           std::strerror(errno));
    }
    if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
        const int lock_error = errno;
        const std::string pid = lock_error == EWOULDBLOCK ? read_holder_pid(lock_fd_) : std::string();
        ::close(lock_fd_);
        if (lock_error == EWOULDBLOCK) {
            throw JournalError("data directory " + directory_.string() + " is in use by another broker" +
                               (pid.empty() ? std::string() : " (pid " + pid + ")"));
        }
        throw JournalError("data directory " + directory_.string() + ": cannot lock " + lock.string() + ": " +
                           std::strerror(lock_error));
    }
    const std::string pid = std::to_string(::getpid()) + "\n";
    // The PID only improves another broker's message, so failing to write it is not an error.
    [[maybe_unused]] const bool has_pid =
        ::ftruncate(lock_fd_, 0) == 0 &&
        ::pwrite(lock_fd_, pid.data(), pid.size(), 0) == static_cast<ssize_t>(pid.size());
}

JournalDirectory::~JournalDirectory() {
    if (lock_fd_ >= 0) ::close(lock_fd_);
}

std::filesystem::path JournalDirectory::compaction_path() const { return compaction_path_of(journal_path()); }

bool JournalDirectory::remove_stale_compaction() const {
    std::error_code error;
    const bool is_removed = std::filesystem::remove(compaction_path(), error);
    if (error) {
        throw JournalError("data directory " + directory_.string() + ": cannot remove " + compaction_path().string() +
                           ": " + error.message());
    }
    return is_removed;
}

}  // namespace corsair::broker
