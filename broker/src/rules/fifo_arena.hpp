// Memory for records that are released in the order they were allocated (kept results, which
// all share one TTL). Allocation bumps a pointer in 2 MiB chunks and release advances one, so a
// record costs its own bytes rounded to 8 and no allocator call: a throughput run keeps every
// result it produces, and malloc's per-block header and the holes it left between job records
// and kept results made each kept result cost about 205 bytes of fresh memory where the record
// needs about 150 (docs/performance.md). Owned by the broker's loop thread.
#pragma once

#include <stdlib.h>

#include <cassert>
#include <cstddef>
#include <cstdlib>
#include <new>

namespace corsair::broker {

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kIsAddressSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kIsAddressSanitized = true;
#else
inline constexpr bool kIsAddressSanitized = false;
#endif
#else
inline constexpr bool kIsAddressSanitized = false;
#endif

class FifoArena {
public:
    // A chunk with its header is 2 MiB, one huge page. Under AddressSanitizer (the fuzz targets,
    // the ASan suite) it is 32 KiB: ASan serves a 2 MiB block as a fresh mapping whose shadow it
    // poisons at every allocation and free, milliseconds per Scheduler that keeps a result, while
    // 32 KiB comes from its size classes. Same code; small inputs cross more chunk boundaries.
    static constexpr std::size_t kChunkAlignment = kIsAddressSanitized ? std::size_t{32} << 10 : std::size_t{2} << 20;
    static constexpr std::size_t kDefaultChunkBytes = kChunkAlignment - 32;

    explicit FifoArena(std::size_t chunk_bytes = kDefaultChunkBytes) : chunk_bytes_(chunk_bytes) {}
    // Frees the chunks; objects still in them must have been destroyed by the caller.
    ~FifoArena() {
        while (head_ != nullptr) {
            Chunk* next = head_->next;
            std::free(head_);
            head_ = next;
        }
        std::free(spare_);
    }
    FifoArena(const FifoArena&) = delete;
    FifoArena& operator=(const FifoArena&) = delete;

    static constexpr std::size_t rounded(std::size_t bytes) noexcept { return (bytes + 7) & ~std::size_t{7}; }

    // `bytes` (rounded up to 8), 8-aligned, after every earlier allocation. Throws std::bad_alloc.
    void* allocate(std::size_t bytes) {
        bytes = rounded(bytes);
        if (tail_ == nullptr || tail_->capacity - tail_->used < bytes) append_chunk(bytes);
        char* at = tail_->bytes() + tail_->used;
        tail_->used += bytes;
        ++count_;
        return at;
    }

    // The oldest allocation still held, or nullptr.
    void* oldest() const noexcept { return count_ == 0 ? nullptr : head_->bytes() + head_offset_; }

    // Releases the oldest allocation, which was made with `bytes`.
    void release_oldest(std::size_t bytes) noexcept {
        assert(count_ > 0);
        head_offset_ += rounded(bytes);
        --count_;
        if (head_offset_ < head_->used) return;
        assert(head_offset_ == head_->used);
        head_offset_ = 0;
        if (head_ == tail_) {
            head_->used = 0;  // empty: start the chunk over
            return;
        }
        Chunk* emptied = head_;
        head_ = head_->next;
        // One spare chunk: a store that evicts as fast as it adds reuses memory already faulted in
        // instead of returning it to the kernel and zeroing a fresh chunk.
        if (spare_ == nullptr && emptied->capacity == chunk_bytes_) {
            spare_ = emptied;
        } else {
            std::free(emptied);
        }
    }

    // Calls f(block) for every allocation, oldest first; size_of(block) must return the bytes it
    // was allocated with.
    template <class SizeOf, class F>
    void for_each(SizeOf&& size_of, F&& f) const {
        std::size_t offset = head_offset_;
        for (const Chunk* chunk = head_; chunk != nullptr; chunk = chunk->next, offset = 0) {
            while (offset < chunk->used) {
                const char* block = chunk->bytes() + offset;
                offset += rounded(size_of(block));
                f(block);
            }
        }
    }

    std::size_t size() const noexcept { return count_; }
    // Chunk memory held, spare included.
    std::size_t reserved_bytes() const noexcept {
        std::size_t total = spare_ != nullptr ? spare_->capacity : 0;
        for (const Chunk* chunk = head_; chunk != nullptr; chunk = chunk->next) total += chunk->capacity;
        return total;
    }

private:
    struct alignas(16) Chunk {
        Chunk* next;
        std::size_t used;
        std::size_t capacity;
        char* bytes() noexcept { return reinterpret_cast<char*>(this + 1); }
        const char* bytes() const noexcept { return reinterpret_cast<const char*>(this + 1); }
    };
    static_assert(sizeof(Chunk) + kDefaultChunkBytes == kChunkAlignment, "a default chunk is exactly one huge page (or one sanitized chunk)");

    void append_chunk(std::size_t bytes) {
        if (count_ == 0 && head_ != nullptr) {
            // The one chunk is empty (and too small): drop it, so that head_ holds the oldest.
            assert(head_ == tail_);
            if (spare_ == nullptr && head_->capacity == chunk_bytes_) {
                spare_ = head_;
            } else {
                std::free(head_);
            }
            head_ = tail_ = nullptr;
        }
        Chunk* chunk = nullptr;
        if (spare_ != nullptr && bytes <= spare_->capacity) {
            chunk = spare_;
            spare_ = nullptr;
        } else {
            const std::size_t capacity = bytes > chunk_bytes_ ? bytes : chunk_bytes_;
            // Aligned to the chunk size, so that where the heap is on huge pages (huge_pages.hpp)
            // a chunk is whole huge pages: one fault per chunk instead of one per 4 KiB.
            void* memory = nullptr;
            if (::posix_memalign(&memory, kChunkAlignment, sizeof(Chunk) + capacity) != 0) throw std::bad_alloc();
            chunk = static_cast<Chunk*>(memory);
            chunk->capacity = capacity;
        }
        chunk->next = nullptr;
        chunk->used = 0;
        if (tail_ == nullptr) {
            head_ = chunk;
            head_offset_ = 0;
        } else {
            tail_->next = chunk;
        }
        tail_ = chunk;
    }

    std::size_t chunk_bytes_;
    Chunk* head_ = nullptr;  // oldest allocations
    Chunk* tail_ = nullptr;  // where new ones go
    Chunk* spare_ = nullptr;
    std::size_t head_offset_ = 0;
    std::size_t count_ = 0;
};

}  // namespace corsair::broker
