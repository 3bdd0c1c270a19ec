#include "journal_salvage.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>

#include "journal_error.hpp"
#include "journal_file.hpp"
#include "corsair/broker/journal_record.hpp"
#include "corsair/protocol/limits.hpp"

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

// Job ids still legible in damaged bytes: each record body writes its job id as the msgpack key
// "id" (fixstr a2 69 64) followed by a str8 or fixstr value of at most kMaxJobIdBytes.
void collect_legible_ids(std::string_view damaged, std::set<std::string>& ids) {
    constexpr std::string_view kIdKey("\xa2id", 3);
    for (std::size_t at = damaged.find(kIdKey); at != std::string_view::npos; at = damaged.find(kIdKey, at + 1)) {
        std::size_t value = at + kIdKey.size();
        if (value >= damaged.size()) break;
        const auto header = static_cast<unsigned char>(damaged[value]);
        std::size_t length = 0;
        if ((header & 0xE0) == 0xA0) {
            length = header & 0x1F;
            value += 1;
        } else if (header == 0xD9 && value + 1 < damaged.size()) {
            length = static_cast<unsigned char>(damaged[value + 1]);
            value += 2;
        } else {
            continue;
        }
        if (length == 0 || length > protocol::kMaxJobIdBytes || value + length > damaged.size()) continue;
        ids.emplace(damaged.substr(value, length));
    }
}

// Notes a kept record's job: whether its submit (or whole state) was kept, or only later changes.
struct KeptJobs {
    std::set<std::string> with_submit;
    std::set<std::string> without_submit;

    void note(const JournalRecord& record) {
        std::visit(
            [&](const auto& r) {
                using T = std::decay_t<decltype(r)>;
                if constexpr (std::is_same_v<T, JournalSubmitted> || std::is_same_v<T, JournalJob>) {
                    with_submit.insert(r.id);
                    without_submit.erase(r.id);
                } else if constexpr (requires { r.id; }) {  // every record that names a job
                    if (with_submit.count(r.id) == 0) without_submit.insert(r.id);
                }
            },
            record);
    }
};

SalvageReport copy_intact_records(std::string_view input, JournalFile& out) {
    SalvageReport report;
    std::set<std::string> affected;
    KeptJobs kept;
    std::string chunk;
    std::size_t offset = std::min(input.size(), kJournalHeaderBytes);
    while (offset < input.size()) {
        const JournalFrame frame = check_frame(input.substr(offset));
        std::optional<JournalRecord> record;
        if (frame.status == JournalFrame::Status::intact) {
            if (auto decoded = decode_body(frame.type, frame.body)) record = std::move(decoded).value();
        }
        if (record) {
            kept.note(*record);
            chunk.append(input.substr(offset, frame.frame_bytes));
            offset += frame.frame_bytes;
            ++report.records_kept;
            if (chunk.size() >= kChunkBytes) write_or_throw(out, chunk), chunk.clear();
            continue;
        }
        const std::size_t resumes_at = find_next_record(input, offset + 1).value_or(input.size());
        report.bytes_skipped += resumes_at - offset;
        ++report.damaged_regions;
        collect_legible_ids(input.substr(offset, resumes_at - offset), affected);
        offset = resumes_at;
    }
    write_or_throw(out, chunk);
    affected.insert(kept.without_submit.begin(), kept.without_submit.end());
    report.affected_ids.assign(affected.begin(), affected.end());
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
