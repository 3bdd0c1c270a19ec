// Memory for records that are released in the order they were allocated (kept results, which
// all share one TTL). Allocation bumps a pointer in 2 MiB chunks and release advances one, so a
// record costs its own bytes rounded to 8 and no allocator call: a throughput run keeps every
// result it produces, and malloc's per-block header and the holes it left between job records
// and kept results made each kept result cost about 205 bytes of fresh memory where the record
// needs about 150 (docs/performance.md). Owned by the broker's loop thread.
#pragma once

#include <stdlib.h>
#include <sys/mman.h>

#include <cassert>
#include <cstddef>
#include <cstdint>
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
            release_chunk(head_);
            head_ = next;
        }
        if (spare_ != nullptr) release_chunk(spare_);
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
            release_chunk(emptied);
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

    // A default chunk is mapped on its own, 2 MiB-aligned, and asked to be one transparent huge
    // page: it is filled front to back and given back whole, so the huge page wastes nothing, and
    // one fault zeroes it where 512 faults did. A fault is a trap to the hypervisor on a VM:
    // with 4 KiB pages they were about a tenth of the broker's CPU in a throughput run, which
    // keeps every result (docs/performance.md). Mapped apart from malloc's heap, so the advice
    // reaches nothing else (the whole heap on huge pages grew, docs/durability.md). Where the
    // kernel offers no huge pages the advice does nothing and the chunk is 4 KiB pages as before.
    static bool is_mapped(std::size_t capacity) noexcept {
        return !kIsAddressSanitized && capacity == kDefaultChunkBytes;
    }

    static void* map_huge_page() {
        constexpr std::size_t size = kChunkAlignment;
        // Twice the size, then the ends cut off, leaves one aligned chunk.
        void* mapping = ::mmap(nullptr, 2 * size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (mapping == MAP_FAILED) throw std::bad_alloc();
        const auto start = reinterpret_cast<std::uintptr_t>(mapping);
        const std::uintptr_t aligned = (start + size - 1) & ~(std::uintptr_t{size} - 1);
        if (aligned > start) ::munmap(mapping, aligned - start);
        if (start + 2 * size > aligned + size) {
            ::munmap(reinterpret_cast<void*>(aligned + size), start + 2 * size - (aligned + size));
        }
        void* chunk = reinterpret_cast<void*>(aligned);
        ::madvise(chunk, size, MADV_HUGEPAGE);  // best effort: EINVAL where THP is not built in
        return chunk;
    }

    static void release_chunk(Chunk* chunk) noexcept {
        if (is_mapped(chunk->capacity)) {
            ::munmap(chunk, kChunkAlignment);
        } else {
            std::free(chunk);
        }
    }

    void append_chunk(std::size_t bytes) {
        if (count_ == 0 && head_ != nullptr) {
            // The one chunk is empty (and too small): drop it, so that head_ holds the oldest.
            assert(head_ == tail_);
            if (spare_ == nullptr && head_->capacity == chunk_bytes_) {
                spare_ = head_;
            } else {
                release_chunk(head_);
            }
            head_ = tail_ = nullptr;
        }
        Chunk* chunk = nullptr;
        if (spare_ != nullptr && bytes <= spare_->capacity) {
            chunk = spare_;
            spare_ = nullptr;
        } else {
            const std::size_t capacity = bytes > chunk_bytes_ ? bytes : chunk_bytes_;
            void* memory = nullptr;
            if (is_mapped(capacity)) {
                memory = map_huge_page();
            } else if (::posix_memalign(&memory, kChunkAlignment, sizeof(Chunk) + capacity) != 0) {
                throw std::bad_alloc();
            }
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
