#include "scratch_dir.hpp"

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <system_error>

#include <linux/magic.h>
#include <sys/vfs.h>

namespace corsair::test {

ScratchDir::ScratchDir(std::string_view prefix, const std::filesystem::path& parent, bool keeps) : keeps_(keeps) {
    const auto folder = parent.empty() ? std::filesystem::temp_directory_path() : parent;
    std::string pattern = (folder / prefix).string() + "-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("cannot create a folder in " + folder.string());
    path_ = pattern;
}

ScratchDir::~ScratchDir() {
    if (keeps_) return;
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
}

std::string ScratchDir::fresh_subdir(const std::string& name) const {
    const auto path = path_ / name;
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
    return path.string();
}

std::string ScratchDir::filesystem_type() const {
    struct statfs info {};
    if (statfs(path_.c_str(), &info) != 0) return "unknown";
    switch (static_cast<unsigned long>(info.f_type)) {
        case EXT4_SUPER_MAGIC: return "ext2/3/4";
        case TMPFS_MAGIC: return "tmpfs";
        case XFS_SUPER_MAGIC: return "xfs";
        case BTRFS_SUPER_MAGIC: return "btrfs";
        case OVERLAYFS_SUPER_MAGIC: return "overlayfs";
        default: {
            char text[32];
            std::snprintf(text, sizeof text, "f_type 0x%lx", static_cast<unsigned long>(info.f_type));
            return text;
        }
    }
}

bool ScratchDir::is_kept_by_environment() {
    const char* value = std::getenv("CORSAIR_KEEP_SCRATCH");
    return value != nullptr && *value != '\0' && std::string_view(value) != "0";
}

}  // namespace corsair::test
