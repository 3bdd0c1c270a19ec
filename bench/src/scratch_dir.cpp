#include "scratch_dir.hpp"

#include <filesystem>
#include <stdexcept>
#include <system_error>
#include <vector>

#include <linux/magic.h>
#include <stdlib.h>
#include <sys/vfs.h>

namespace corsair::bench {

ScratchDir::ScratchDir(const std::string& parent, bool keeps) : keeps_(keeps) {
    std::string pattern = parent + "/corsair-bench-XXXXXX";
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    if (mkdtemp(buffer.data()) == nullptr) throw std::runtime_error("cannot create a folder in " + parent);
    path_ = buffer.data();
}

ScratchDir::~ScratchDir() {
    if (keeps_) return;
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
}

std::string ScratchDir::fresh_subdir(const std::string& name) const {
    const auto path = std::filesystem::path(path_) / name;
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
        default: return "f_type 0x" + [&] {
            char text[32];
            std::snprintf(text, sizeof text, "%lx", static_cast<unsigned long>(info.f_type));
            return std::string(text);
        }();
    }
}

}  // namespace corsair::bench
