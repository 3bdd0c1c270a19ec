// corsair-job-table-growth: how long the broker's id table (IdTable, corsair/containers/id_table.hpp)
// can hold up one insert while it grows. Inserts N records with bench-style ids (16 hex digits, a
// dash, a counter) and prints the longest single insert and how many took over 1 ms. The broker's
// loop pays that time on a SUBMIT or an ended job, which is why the table grows incrementally.
// Usage: corsair-job-table-growth [ENTRIES] (default 6,000,000).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "corsair/containers/id_table.hpp"

namespace {

struct Record {
    std::string name;
    std::uint32_t id_hash = 0;
    char rest[96] = {};  // about a job record's size, so records spread over memory as the broker's do
    std::string_view id() const { return name; }
};

}  // namespace

int main(int argc, char** argv) {
    const long entries = argc > 1 ? std::strtol(argv[1], nullptr, 10) : 6'000'000;
    if (entries <= 0) {
        std::fprintf(stderr, "usage: corsair-job-table-growth [ENTRIES > 0]\n");
        return 2;
    }
    std::vector<std::unique_ptr<Record>> records;
    records.reserve(static_cast<std::size_t>(entries));
    for (long i = 0; i < entries; ++i) {
        records.push_back(std::make_unique<Record>());
        records.back()->name = "5eed0123456789ab-" + std::to_string(i);
    }
    corsair::containers::IdTable<Record> table;
    using Clock = std::chrono::steady_clock;
    Clock::duration longest{};
    long longest_at = 0;
    long over_1ms = 0;
    const auto start = Clock::now();
    for (long i = 0; i < entries; ++i) {
        const auto before = Clock::now();
        table.insert(records[static_cast<std::size_t>(i)].get());
        const auto took = Clock::now() - before;
        if (took > longest) longest = took, longest_at = i;
        if (took > std::chrono::milliseconds(1)) ++over_1ms;
    }
    const auto total = Clock::now() - start;
    using us = std::chrono::microseconds;
    std::printf("entries %ld, capacity %zu, total %lld ms (%.0f ns per insert)\n", entries, table.capacity(),
                static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(total).count()),
                static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(total).count()) /
                    static_cast<double>(entries));
    std::printf("longest insert %lld us (insert %ld); inserts over 1 ms: %ld\n",
                static_cast<long long>(std::chrono::duration_cast<us>(longest).count()), longest_at, over_1ms);
    return 0;
}
