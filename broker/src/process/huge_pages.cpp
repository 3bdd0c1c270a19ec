#include "corsair/broker/huge_pages.hpp"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace corsair::broker {

namespace {

constexpr const char* kTunable = "glibc.malloc.hugetlb=1";

// "always [madvise] never": huge pages are available unless "never" is the one chosen.
bool kernel_offers_huge_pages() {
    std::ifstream setting("/sys/kernel/mm/transparent_hugepage/enabled");
    std::string text;
    if (!std::getline(setting, text)) return false;
    return text.find("[never]") == std::string::npos;
}

}  // namespace

HugePagesSetting read_huge_pages_setting(const char* value) {
    const std::string text = value != nullptr ? value : "";
    if (text.empty() || text == "0") return {};
    if (text == "1") return {true, std::nullopt};
    return {false, "CORSAIR_HUGE_PAGES must be 0 or 1, not '" + text + "'"};
}

void reexec_with_huge_pages(char** argv) noexcept {
    try {
        if (!read_huge_pages_setting(std::getenv("CORSAIR_HUGE_PAGES")).is_requested) return;
        const char* current = std::getenv("GLIBC_TUNABLES");
        std::string tunables = current != nullptr ? current : "";
        // Also the guard against re-executing forever.
        if (tunables.find("glibc.malloc.hugetlb") != std::string::npos) return;
        if (!kernel_offers_huge_pages()) return;
        tunables += tunables.empty() ? kTunable : std::string(":") + kTunable;
        if (::setenv("GLIBC_TUNABLES", tunables.c_str(), 1) != 0) return;
        // Exec the resolved path, not /proc/self/exe, or the process would be named "exe" in ps
        // and top (the kernel names a process after the file it executes).
        std::error_code error;
        const auto self = std::filesystem::read_symlink("/proc/self/exe", error);
        if (error) return;
        ::execv(self.c_str(), argv);
        // exec failed: carry on with ordinary pages rather than not start.
    } catch (...) {
    }
}

}  // namespace corsair::broker
