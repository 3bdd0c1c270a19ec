#include "journal_salvage.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>

#include "journal_error.hpp"
#include "journal_file.hpp"
#include "corsair/broker/journal_record.hpp"

namespace corsair::broker {

namespace {

// Output is gathered into chunks this size, so a journal of small records costs few writes.
constexpr std::size_t kChunkBytes = 1 << 20;

// The input, mapped read-only for the length of one salvage.
class MappedInput {
public:
    explicit MappedInput(const std::filesystem::path& path) {
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) throw JournalError("salvage: cannot open " + path.string() + ": " + std::strerror(errno));
        struct stat status {};
        if (::fstat(fd, &status) == 0) {
            size_ = static_cast<std::size_t>(status.st_size);
            if (size_ > 0) {
                void* mapping = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
                if (mapping != MAP_FAILED) data_ = static_cast<const char*>(mapping);
            }
        }
        const int error = errno;
        ::close(fd);
        if (size_ > 0 && data_ == nullptr) {
            throw JournalError("salvage: cannot read " + path.string() + ": " + std::strerror(error));
        }
    }
    ~MappedInput() {
        if (data_ != nullptr) ::munmap(const_cast<char*>(data_), size_);
    }
    MappedInput(const MappedInput&) = delete;
    MappedInput& operator=(const MappedInput&) = delete;

    std::string_view bytes() const noexcept { return {data_, size_}; }

private:
    const char* data_ = nullptr;
    std::size_t size_ = 0;
};

void write_or_throw(JournalFile& out, std::string_view bytes) {
    if (int error = out.write({bytes}); error != 0) {
        throw JournalError("salvage: cannot write " + out.path().string() + ": " + std::strerror(error));
    }
}

SalvageReport copy_intact_records(std::string_view input, JournalFile& out) {
    SalvageReport report;
    std::string chunk;
    std::size_t offset = std::min(input.size(), kJournalHeaderBytes);
    while (offset < input.size()) {
        const JournalFrame frame = check_frame(input.substr(offset));
        if (frame.status == JournalFrame::Status::intact && decode_body(frame.type, frame.body).has_value()) {
            chunk.append(input.substr(offset, frame.frame_bytes));
            offset += frame.frame_bytes;
            ++report.records_kept;
            if (chunk.size() >= kChunkBytes) write_or_throw(out, chunk), chunk.clear();
            continue;
        }
        const std::size_t resumes_at = find_next_record(input, offset + 1).value_or(input.size());
        report.bytes_skipped += resumes_at - offset;
        ++report.damaged_regions;
        offset = resumes_at;
    }
    write_or_throw(out, chunk);
    return report;
}

}  // namespace

SalvageReport salvage_journal(const std::filesystem::path& path_in, const std::filesystem::path& path_out) {
    const MappedInput input(path_in);
    JournalFile out = JournalFile::create_new(path_out);
    try {
        const SalvageReport report = copy_intact_records(input.bytes(), out);
        if (int error = out.sync_data(); error != 0) {
            throw JournalError("salvage: cannot sync " + path_out.string() + ": " + std::strerror(error));
        }
        auto directory = path_out.parent_path();
        if (int error = sync_directory(directory.empty() ? "." : directory); error != 0) {
            throw JournalError("salvage: cannot sync the directory of " + path_out.string() + ": " +
                               std::strerror(error));
        }
        return report;
    } catch (...) {
        std::error_code ignored;
        std::filesystem::remove(path_out, ignored);
        throw;
    }
}

}  // namespace corsair::broker
