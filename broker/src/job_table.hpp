// Records by id (jobs, ended jobs): an open-addressing hash table of record pointers, so that a
// record costs one 8-byte slot and no allocation of its own. Each slot packs the pointer with 16
// bits of the id's hash, so a probe rarely reads a record that is not the one sought; records keep
// 32 bits of the hash (`id_hash`) so that growth and deletion move entries without hashing ids.
// Linear probing, at most 3/4 full, growth by doubling, and backward-shift deletion (no
// tombstones). The table does not own its records. Owned by the broker's loop thread.
//
// `Record` provides `std::string_view id() const` and a `std::uint32_t id_hash` member, which the
// table sets on insert.
#pragma once

#include <cassert>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string_view>

namespace corsair::broker {

template <class Record>
class JobTable {
public:
    JobTable() = default;
    JobTable(const JobTable&) = delete;
    JobTable& operator=(const JobTable&) = delete;

    std::size_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }
    std::size_t capacity() const noexcept { return slots_ ? mask_ + 1 : 0; }
    // The slots' memory, for estimates.
    std::size_t slot_bytes() const noexcept { return capacity() * sizeof(std::uint64_t); }

    // The record with this id, or nullptr.
    Record* find(std::string_view id) const noexcept {
        if (size_ == 0) return nullptr;
        const std::uint64_t hash = hash_of(id);
        const std::uint64_t tag = tag_of(hash);
        for (std::size_t i = hash & mask_;; i = (i + 1) & mask_) {
            const std::uint64_t slot = slots_[i];
            if (slot == 0) return nullptr;
            if ((slot & kTagMask) == tag && record_of(slot)->id() == id) return record_of(slot);
        }
    }

    // Adds `record`, whose id must not be in the table. Throws std::bad_alloc when growing.
    void insert(Record* record) {
        if ((size_ + 1) * 4 > capacity() * 3) grow();
        const std::uint64_t hash = hash_of(record->id());
        record->id_hash = static_cast<std::uint32_t>(hash);
        place(slot_of(record, tag_of(hash)), hash);
        ++size_;
    }

    // Removes and returns the record with this id, or nullptr.
    Record* remove(std::string_view id) noexcept {
        if (size_ == 0) return nullptr;
        const std::uint64_t hash = hash_of(id);
        const std::uint64_t tag = tag_of(hash);
        for (std::size_t i = hash & mask_;; i = (i + 1) & mask_) {
            const std::uint64_t slot = slots_[i];
            if (slot == 0) return nullptr;
            if ((slot & kTagMask) == tag && record_of(slot)->id() == id) {
                erase_at(i);
                return record_of(slot);
            }
        }
    }

    // Calls f(Record*) for every record, in no particular order. f must not change the table.
    template <class F>
    void for_each(F&& f) const {
        for (std::size_t i = 0; i < capacity(); ++i) {
            if (slots_[i] != 0) f(record_of(slots_[i]));
        }
    }

private:
    static constexpr int kTagShift = 48;
    static constexpr std::uint64_t kPointerMask = (std::uint64_t{1} << kTagShift) - 1;
    static constexpr std::uint64_t kTagMask = ~kPointerMask;
    static constexpr std::size_t kFirstCapacity = 16;

    static std::uint64_t hash_of(std::string_view id) noexcept { return std::hash<std::string_view>{}(id); }
    static std::uint64_t tag_of(std::uint64_t hash) noexcept { return hash & kTagMask; }
    static Record* record_of(std::uint64_t slot) noexcept { return reinterpret_cast<Record*>(slot & kPointerMask); }
    static std::uint64_t slot_of(Record* record, std::uint64_t tag) noexcept {
        const auto address = reinterpret_cast<std::uintptr_t>(record);
        // User-space addresses fit in 48 bits on x86-64 and AArch64 (without a hint asking for
        // more); the top 16 bits carry the tag.
        if ((address & kTagMask) != 0 || address == 0) {
            std::fputs("corsair: JobTable: record address does not fit in 48 bits\n", stderr);
            std::abort();
        }
        return address | tag;
    }

    // Puts `slot` in the first free slot from its home; there is one (load <= 3/4).
    void place(std::uint64_t slot, std::uint64_t hash) noexcept {
        std::size_t i = hash & mask_;
        while (slots_[i] != 0) i = (i + 1) & mask_;
        slots_[i] = slot;
    }

    void erase_at(std::size_t hole) noexcept {
        slots_[hole] = 0;
        --size_;
        // Backward shift: pull each following entry of the cluster back into the hole when the
        // hole lies between its home and where it sits, so that no lookup ever stops early.
        for (std::size_t i = (hole + 1) & mask_; slots_[i] != 0; i = (i + 1) & mask_) {
            const std::size_t home = record_of(slots_[i])->id_hash & mask_;
            if (((i - home) & mask_) >= ((i - hole) & mask_)) {
                slots_[hole] = slots_[i];
                slots_[i] = 0;
                hole = i;
            }
        }
    }

    void grow() {
        const std::size_t old_capacity = capacity();
        const std::size_t new_capacity = old_capacity == 0 ? kFirstCapacity : old_capacity * 2;
        // id_hash keeps 32 bits of the hash: enough for any home index below 2^32 slots.
        assert(new_capacity <= (std::size_t{1} << 32));
        std::unique_ptr<std::uint64_t[]> old = std::move(slots_);
        slots_ = std::make_unique<std::uint64_t[]>(new_capacity);  // zeroed: all empty
        mask_ = new_capacity - 1;
        for (std::size_t i = 0; i < old_capacity; ++i) {
            if (old[i] != 0) place(old[i], record_of(old[i])->id_hash);
        }
    }

    std::unique_ptr<std::uint64_t[]> slots_;
    std::size_t mask_ = 0;
    std::size_t size_ = 0;
};

}  // namespace corsair::broker
