// A fresh folder PARENT/PREFIX-XXXXXX for one test or bench run (logs, journals), removed with
// everything in it when the ScratchDir goes away, unless kept for a post-mortem. Owned by the
// thread that made it.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace corsair::test {

class ScratchDir {
public:
    // Creates the folder under `parent` (empty: the system's temporary folder, $TMPDIR or /tmp).
    // Kept if `keeps`; by default when CORSAIR_KEEP_SCRATCH is set to anything but "" or "0".
    // Throws std::runtime_error if it cannot create the folder.
    explicit ScratchDir(std::string_view prefix = "corsair-test", const std::filesystem::path& parent = {},
                        bool keeps = is_kept_by_environment());
    ~ScratchDir();
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;

    const std::filesystem::path& path() const noexcept { return path_; }
    std::filesystem::path operator/(std::string_view name) const { return path_ / name; }
    // A new, empty folder PATH/NAME (emptied if it existed); returns its path.
    std::string fresh_subdir(const std::string& name) const;
    // The file system the folder is on ("ext2/3/4", "tmpfs", ...): fsync means little on tmpfs.
    std::string filesystem_type() const;

    // Whether CORSAIR_KEEP_SCRATCH asks to keep every scratch folder.
    static bool is_kept_by_environment();

private:
    std::filesystem::path path_;
    bool keeps_;
};

}  // namespace corsair::test
