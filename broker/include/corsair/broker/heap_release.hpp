// Giving the broker's freed heap back to the kernel, so that its resident memory follows what it
// holds now rather than the most it ever held (docs/performance.md, Soak).
//
// Why: a backlog (a loop paused by a compaction's fork, a loaded machine, a burst of submits)
// fills the heap with job records and messages that are freed minutes later; glibc returns the
// heap's top only when the top itself is free, so a few records still alive above the freed ones
// keep the whole span resident. In a 14-minute soak the main heap held 15 MiB with 4 MiB in use
// and grew with each stall; the hour before this grew 96 MiB. malloc_trim(0) also releases the whole free pages inside the heap
// (MADV_DONTNEED), at the cost of a walk over the free lists: once a minute, on the loop thread.
// And with glibc's dynamic mmap threshold, a large block once freed (a grown table) raises the
// threshold, after which the result store's 2 MiB chunks come from the heap, between job records,
// with their alignment padding; a fixed threshold keeps every large block in its own mapping.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>

#include <spdlog/logger.h>

namespace corsair::broker {

// Large blocks at least this big are mapped on their own, whatever was freed before.
inline constexpr std::size_t kMallocMmapThresholdBytes = std::size_t{2} << 20;

// Fixes glibc's mmap threshold at kMallocMmapThresholdBytes (which also turns its dynamic
// threshold off), unless GLIBC_TUNABLES already sets glibc.malloc.mmap_threshold: the operator's
// choice wins. Called first thing in main, before any thread exists.
void fix_malloc_mmap_threshold() noexcept;

// This process's resident memory, from /proc/self/statm; 0 if unknown. Non-blocking.
std::uint64_t resident_bytes();

// Calls malloc_trim(0) at most once per interval. Owned by the broker's loop thread.
class HeapTrimmer {
public:
    static constexpr std::chrono::seconds kDefaultInterval{60};
    // Notable enough for an info line: a backlog's worth of memory given back.
    static constexpr std::uint64_t kLoggedReleaseBytes = std::uint64_t{16} << 20;

    explicit HeapTrimmer(std::shared_ptr<spdlog::logger> log,
                         std::chrono::steady_clock::duration interval = kDefaultInterval);

    // Trims if an interval has passed since the last trim (or since construction). Blocks for
    // the trim, a walk over the free lists: 8 to 13 ms when it gave back 16 to 30 MiB in the
    // one-hour soak (docs/performance.md, Soak). Returns whether it trimmed.
    bool maybe_trim(std::chrono::steady_clock::time_point now);

    std::uint64_t trims() const noexcept { return trims_; }
    // Resident bytes the trims gave back, as /proc/self/statm saw it around each.
    std::uint64_t released_bytes() const noexcept { return released_bytes_; }

private:
    std::shared_ptr<spdlog::logger> log_;
    std::chrono::steady_clock::duration interval_;
    std::chrono::steady_clock::time_point next_trim_{};
    std::uint64_t trims_ = 0;
    std::uint64_t released_bytes_ = 0;
};

}  // namespace corsair::broker
