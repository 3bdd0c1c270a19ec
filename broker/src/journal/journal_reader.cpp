#include "journal_reader.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "journal_error.hpp"
#include "journal_file.hpp"

namespace corsair::broker {

std::string JournalEnding::describe() const {
    switch (kind) {
        case Kind::clean:
            return "journal " + path.string() + " ends cleanly at byte " + std::to_string(valid_bytes);
        case Kind::torn_tail:
            return "journal " + path.string() + " has a torn tail at byte " + std::to_string(valid_bytes) + " of " +
                   std::to_string(file_bytes) + " (" + reason + ")";
        case Kind::corrupt:
            return "journal " + path.string() + " is corrupt at byte " + std::to_string(valid_bytes) + " (" + reason +
                   "); intact records resume at byte " + std::to_string(resumes_at) + " of " +
                   std::to_string(file_bytes);
    }
    return {};
}

JournalReader::JournalReader(std::filesystem::path path) : path_(std::move(path)) {
    const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw JournalError("journal: cannot open " + path_.string() + ": " + std::strerror(errno));
    struct stat status {};
    if (::fstat(fd, &status) != 0) {
        const int error = errno;
        ::close(fd);
        throw JournalError("journal: cannot stat " + path_.string() + ": " + std::strerror(error));
    }
    size_ = static_cast<std::size_t>(status.st_size);
    if (size_ > 0) {
        void* mapping = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
        if (mapping == MAP_FAILED) {
            const int error = errno;
            ::close(fd);
            throw JournalError("journal: cannot map " + path_.string() + ": " + std::strerror(error));
        }
        data_ = static_cast<const char*>(mapping);
        ::madvise(mapping, size_, MADV_SEQUENTIAL);
    }
    ::close(fd);  // the mapping keeps the file

    const std::string_view bytes(data_, size_);
    const std::size_t magic_compared = std::min(size_, sizeof kJournalMagic);
    if (bytes.substr(0, magic_compared) != std::string_view(kJournalMagic, magic_compared)) {
        unmap();
        throw JournalError("journal: " + path_.string() + " is not a Corsair journal (bad magic)");
    }
    if (const auto version = journal_version_of(bytes); version && !is_readable_journal_version(*version)) {
        const std::string message = "journal: " + path_.string() + " has format version " + std::to_string(*version) +
                                    "; this broker reads versions " + std::to_string(kOldestJournalFormatVersion) +
                                    " to " + std::to_string(kJournalFormatVersion);
        unmap();
        throw JournalError(message);
    }
    if (size_ < kJournalHeaderBytes) {
        end(JournalEnding::Kind::torn_tail, "incomplete file header");
        return;
    }
    offset_ = kJournalHeaderBytes;
}

JournalReader::~JournalReader() { unmap(); }

void JournalReader::unmap() noexcept {
    if (data_ != nullptr) ::munmap(const_cast<char*>(data_), size_);
    data_ = nullptr;
}

std::optional<JournalRecord> JournalReader::next() {
    if (has_ended_) return std::nullopt;
    const std::string_view bytes(data_, size_);
    if (offset_ == size_) {
        end(JournalEnding::Kind::clean, "");
        return std::nullopt;
    }
    const JournalFrame frame = check_frame(bytes.substr(offset_));
    if (frame.status == JournalFrame::Status::intact) {
        auto record = decode_body(frame.type, frame.body);
        if (!record) {
            const auto resumes_at = find_next_record(bytes, offset_ + frame.frame_bytes);
            end(JournalEnding::Kind::corrupt,
                "undecodable " + std::string(to_string(frame.type)) + " record: " + record.error(),
                resumes_at.value_or(size_));
            return std::nullopt;
        }
        offset_ += frame.frame_bytes;
        ++records_read_;
        return std::move(record).value();
    }
    if (const auto resumes_at = find_next_record(bytes, offset_ + 1)) {
        end(JournalEnding::Kind::corrupt, frame.reason, *resumes_at);
    } else {
        end(JournalEnding::Kind::torn_tail, frame.reason);
    }
    return std::nullopt;
}

void JournalReader::end(JournalEnding::Kind kind, std::string reason, std::uint64_t resumes_at) {
    has_ended_ = true;
    ending_.kind = kind;
    ending_.valid_bytes = offset_;
    ending_.resumes_at = resumes_at;
    ending_.file_bytes = size_;
    ending_.path = path_;
    ending_.reason = std::move(reason);
}

}  // namespace corsair::broker
