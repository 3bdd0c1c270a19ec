// Backing the broker's heap with transparent huge pages, on request (CORSAIR_HUGE_PAGES=1).
// Called first thing in main, before any thread exists.
//
// What it buys: compaction forks the broker (docs/durability.md), and fork copies one page-table
// entry per 4 KiB page of heap, pausing the loop in proportion to its memory; with 2 MiB pages it
// copies one entry per 512 of them (about 1.5 ms instead of 15 ms per 750 MiB).
// What it costs, and why it is off by default: in the soak (docs/performance.md, Soak) a broker on
// huge pages held 60 % more memory for the same state and grew faster (454 MiB and +558 MiB/h
// after 8 minutes, against 278 MiB on 4 KiB pages).
// glibc's malloc asks for huge pages (madvise) only under GLIBC_TUNABLES=glibc.malloc.hugetlb=1,
// and reads tunables only at process start, so the broker re-executes itself once with it set.
#pragma once

#include <optional>
#include <string>

namespace corsair::broker {

// CORSAIR_HUGE_PAGES: unset, empty or "0" is off, "1" is on. Any other value is an error whose
// message names the variable and the value; the broker does not start.
struct HugePagesSetting {
    bool is_requested = false;
    std::optional<std::string> error;
};
HugePagesSetting read_huge_pages_setting(const char* value);

// With CORSAIR_HUGE_PAGES=1: re-executes this program (the file /proc/self/exe points to) with
// `argv` and glibc.malloc.hugetlb=1 appended to GLIBC_TUNABLES, and does not return (the PID
// stays the same). Returns without doing anything when not requested, when the tunable is
// already there, when the kernel offers no transparent huge pages, or when exec fails.
void reexec_with_huge_pages(char** argv) noexcept;

}  // namespace corsair::broker
