// Giving freed heap back to the kernel (heap_release.hpp): the trimmer's pace, and that a trim
// really lowers resident memory held by freed blocks below a live one.
#include <chrono>
#include <cstring>
#include <memory>
#include <vector>

#include <catch2/catch.hpp>
#include <spdlog/sinks/null_sink.h>

#include "corsair/broker/heap_release.hpp"

using corsair::broker::HeapTrimmer;
using corsair::broker::resident_bytes;
using namespace std::chrono_literals;

namespace {

std::shared_ptr<spdlog::logger> quiet_log() {
    return std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::null_sink_st>());
}

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kHeapIsGlibcs = false;  // the sanitizer's allocator serves malloc, not glibc's heap
#else
constexpr bool kHeapIsGlibcs = true;
#endif

}  // namespace

TEST_CASE("the heap trimmer trims once per interval, the first an interval after it starts", "[broker][heap_release]") {
    HeapTrimmer trimmer(quiet_log(), 10s);
    const auto t0 = std::chrono::steady_clock::time_point{} + 1h;
    CHECK_FALSE(trimmer.maybe_trim(t0));
    CHECK_FALSE(trimmer.maybe_trim(t0 + 9s));
    CHECK(trimmer.maybe_trim(t0 + 10s));
    CHECK_FALSE(trimmer.maybe_trim(t0 + 19s));
    CHECK(trimmer.maybe_trim(t0 + 25s));
    CHECK_FALSE(trimmer.maybe_trim(t0 + 34s));
    CHECK(trimmer.maybe_trim(t0 + 35s));
    CHECK(trimmer.trims() == 3);
}

TEST_CASE("a trim gives back the pages of freed blocks that a live block above them holds in the heap",
          "[broker][heap_release]") {
    if (!kHeapIsGlibcs) return;
    // A backlog: 64 MiB of small blocks, then one that stays, as a job record still running.
    constexpr std::size_t kBlocks = 16 * 1024;
    constexpr std::size_t kBlockBytes = 4000;
    std::vector<char*> backlog;
    backlog.reserve(kBlocks);
    for (std::size_t i = 0; i < kBlocks; ++i) {
        backlog.push_back(static_cast<char*>(std::malloc(kBlockBytes)));
        std::memset(backlog.back(), 1, kBlockBytes);
    }
    char* survivor = static_cast<char*>(std::malloc(kBlockBytes));
    std::memset(survivor, 1, kBlockBytes);
    for (char* block : backlog) std::free(block);
    const auto held = resident_bytes();

    HeapTrimmer trimmer(quiet_log(), 1s);
    const auto t0 = std::chrono::steady_clock::now();
    CHECK_FALSE(trimmer.maybe_trim(t0));
    REQUIRE(trimmer.maybe_trim(t0 + 1s));
    CHECK(trimmer.released_bytes() >= 48u << 20);
    CHECK(resident_bytes() + (48u << 20) <= held);
    std::free(survivor);
}
