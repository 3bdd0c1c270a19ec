#include "corsair/broker/heap_release.hpp"

#include <malloc.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>

namespace corsair::broker {

void fix_malloc_mmap_threshold() noexcept {
    const char* tunables = std::getenv("GLIBC_TUNABLES");
    if (tunables != nullptr && std::strstr(tunables, "glibc.malloc.mmap_threshold") != nullptr) return;
    ::mallopt(M_MMAP_THRESHOLD, static_cast<int>(kMallocMmapThresholdBytes));
}

std::uint64_t resident_bytes() {
    std::ifstream statm("/proc/self/statm");
    std::uint64_t size_pages = 0;
    std::uint64_t resident_pages = 0;
    if (!(statm >> size_pages >> resident_pages)) return 0;
    return resident_pages * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
}

HeapTrimmer::HeapTrimmer(std::shared_ptr<spdlog::logger> log, std::chrono::steady_clock::duration interval)
    : log_(std::move(log)), interval_(interval) {}

bool HeapTrimmer::maybe_trim(std::chrono::steady_clock::time_point now) {
    if (next_trim_ == std::chrono::steady_clock::time_point{}) next_trim_ = now + interval_;
    if (now < next_trim_) return false;
    next_trim_ = now + interval_;
    const std::uint64_t before = resident_bytes();
    const auto started = std::chrono::steady_clock::now();
    ::malloc_trim(0);
    const auto took = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started);
    const std::uint64_t after = resident_bytes();
    const std::uint64_t released = before > after ? before - after : 0;
    ++trims_;
    released_bytes_ += released;
    if (released >= kLoggedReleaseBytes) {
        log_->info("heap trimmed released_bytes={} rss_bytes={} took_us={}", released, after, took.count());
    } else {
        log_->debug("heap trimmed released_bytes={} rss_bytes={} took_us={}", released, after, took.count());
    }
    return true;
}

}  // namespace corsair::broker
