// The run's own folder under --scratch-dir: process logs and fresh journal folders. Removed with
// everything in it when the suite ends, unless kept for a post-mortem.
#pragma once

#include <string>

namespace corsair::bench {

class ScratchDir {
public:
    // Creates PARENT/corsair-bench-XXXXXX. Throws std::runtime_error if it cannot.
    ScratchDir(const std::string& parent, bool keeps);
    ~ScratchDir();
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;

    const std::string& path() const noexcept { return path_; }
    // A new, empty folder PATH/NAME (emptied if it existed); returns its path.
    std::string fresh_subdir(const std::string& name) const;
    // The file system the folder is on ("ext4", "tmpfs", ...): fsync means little on tmpfs.
    std::string filesystem_type() const;

private:
    std::string path_;
    bool keeps_;
};

}  // namespace corsair::bench
