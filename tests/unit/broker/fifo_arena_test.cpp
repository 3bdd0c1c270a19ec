#include "fifo_arena.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <cstring>
#include <deque>
#include <random>
#include <vector>

using corsair::broker::FifoArena;

namespace {

// A block as the tests write it: its size first, then a fill byte, so that for_each can read
// sizes back and overlaps show up as corrupted fills.
struct Block {
    std::size_t bytes;
    unsigned char fill;
};

void* allocate_block(FifoArena& arena, std::size_t bytes, unsigned char fill) {
    void* at = arena.allocate(bytes);
    std::memset(at, fill, bytes);
    std::memcpy(at, &bytes, sizeof bytes);
    return at;
}

std::size_t size_of_block(const void* block) {
    std::size_t bytes = 0;
    std::memcpy(&bytes, block, sizeof bytes);
    return bytes;
}

bool is_intact(const void* block, const Block& expected) {
    if (size_of_block(block) != expected.bytes) return false;
    const auto* bytes = static_cast<const unsigned char*>(block);
    for (std::size_t i = sizeof(std::size_t); i < expected.bytes; ++i) {
        if (bytes[i] != expected.fill) return false;
    }
    return true;
}

}  // namespace

TEST_CASE("a fifo arena hands out 8-aligned blocks in order and releases them oldest first", "[broker][fifo_arena]") {
    FifoArena arena(256);
    CHECK(arena.oldest() == nullptr);
    void* first = allocate_block(arena, 17, 1);
    void* second = allocate_block(arena, 40, 2);
    CHECK(reinterpret_cast<std::uintptr_t>(first) % 8 == 0);
    CHECK(reinterpret_cast<std::uintptr_t>(second) % 8 == 0);
    CHECK(static_cast<char*>(second) - static_cast<char*>(first) == 24);  // 17 rounded up to 8
    CHECK(arena.oldest() == first);
    arena.release_oldest(17);
    CHECK(arena.oldest() == second);
    arena.release_oldest(40);
    CHECK(arena.oldest() == nullptr);
    CHECK(arena.size() == 0);
    SECTION("an emptied chunk is started over") { CHECK(allocate_block(arena, 8, 3) == first); }
    SECTION("a block larger than a chunk gets a chunk of its own") {
        void* big = allocate_block(arena, 1000, 4);
        CHECK(arena.oldest() == big);
        CHECK(is_intact(big, {1000, 4}));
        arena.release_oldest(1000);
        CHECK(arena.oldest() == nullptr);
    }
}

TEST_CASE("a fifo arena keeps every block intact across chunks under random use", "[broker][fifo_arena]") {
    FifoArena arena(512);
    std::mt19937 random(20250505);
    std::deque<std::pair<void*, Block>> live;
    std::size_t released = 0;
    for (int step = 0; step < 20000; ++step) {
        const bool adds = live.empty() || random() % 3 != 0;
        if (adds) {
            const std::size_t bytes = sizeof(std::size_t) + random() % 200 + (random() % 50 == 0 ? 600 : 0);
            const auto fill = static_cast<unsigned char>(step);
            live.emplace_back(allocate_block(arena, bytes, fill), Block{bytes, fill});
        } else {
            REQUIRE(arena.oldest() == live.front().first);
            REQUIRE(is_intact(live.front().first, live.front().second));
            arena.release_oldest(live.front().second.bytes);
            live.pop_front();
            ++released;
        }
        REQUIRE(arena.size() == live.size());
    }
    CHECK(released > 1000);
    std::vector<const void*> seen;
    arena.for_each(size_of_block, [&](const void* block) { seen.push_back(block); });
    REQUIRE(seen.size() == live.size());
    for (std::size_t i = 0; i < live.size(); ++i) {
        CHECK(seen[i] == live[i].first);
        CHECK(is_intact(seen[i], live[i].second));
    }
    // Roughly what the live blocks need, not a chunk per block: chunks are reused and freed.
    std::size_t live_bytes = 0;
    for (const auto& [at, block] : live) live_bytes += FifoArena::rounded(block.bytes);
    CHECK(arena.reserved_bytes() <= 2 * live_bytes + 4 * 1024);
    while (!live.empty()) {
        arena.release_oldest(live.front().second.bytes);
        live.pop_front();
    }
    CHECK(arena.oldest() == nullptr);
}

TEST_CASE("a fifo arena's default chunks each start a chunk-aligned block (one huge page) and survive a fill and a drain",
          "[broker][fifo_arena]") {
    FifoArena arena;
    constexpr std::size_t kBlockBytes = 1000;
    const std::size_t blocks = 3 * (FifoArena::kDefaultChunkBytes / kBlockBytes) + 1;  // one into a fourth chunk
    std::deque<std::pair<void*, Block>> live;
    std::size_t chunk_starts = 0;
    for (std::size_t i = 0; i < blocks; ++i) {
        const auto fill = static_cast<unsigned char>(i);
        void* at = allocate_block(arena, kBlockBytes, fill);
        // A chunk's first block follows its 32-byte header at the start of an aligned chunk.
        if (reinterpret_cast<std::uintptr_t>(at) % FifoArena::kChunkAlignment == 32) ++chunk_starts;
        live.emplace_back(at, Block{kBlockBytes, fill});
    }
    CHECK(chunk_starts == 4);
    CHECK(arena.reserved_bytes() == 4 * FifoArena::kDefaultChunkBytes);
    for (const auto& [at, block] : live) REQUIRE(is_intact(at, block));
    while (!live.empty()) {
        REQUIRE(arena.oldest() == live.front().first);
        arena.release_oldest(kBlockBytes);
        live.pop_front();
    }
    // Emptied chunks are given back, but one spare and the last (now empty) one are kept.
    CHECK(arena.reserved_bytes() <= 2 * FifoArena::kDefaultChunkBytes);
    void* again = allocate_block(arena, kBlockBytes, 7);
    CHECK(is_intact(again, Block{kBlockBytes, 7}));
}
