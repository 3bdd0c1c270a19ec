// Backing the broker's heap with transparent huge pages. Called first thing in main, before any
// thread exists.
//
// Why: compaction forks the broker (docs/durability.md), and fork copies one page-table entry per
// 4 KiB page of heap, pausing the loop in proportion to its memory; with 2 MiB pages it copies one
// entry per 512 of them (docs/performance.md has the pauses measured both ways).
// glibc's malloc asks for huge pages (madvise) only under GLIBC_TUNABLES=glibc.malloc.hugetlb=1,
// and reads tunables only at process start, so the broker re-executes itself once with it set.
#pragma once

namespace corsair::broker {

// Re-executes this program (the file /proc/self/exe points to) with `argv` and glibc.malloc.hugetlb=1 appended to GLIBC_TUNABLES.
// Returns without doing anything when the tunable is already there, when the kernel offers no
// transparent huge pages, or when CORSAIR_HUGE_PAGES=0; also returns if exec fails. Otherwise
// does not return (the PID stays the same).
void reexec_with_huge_pages(char** argv) noexcept;

}  // namespace corsair::broker
