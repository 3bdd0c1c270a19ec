// IdTable: records by id (the broker's jobs and ended jobs, the producer's tracked jobs), an
// open-addressing hash table of record pointers, so that a record costs one 8-byte slot and no
// allocation of its own. Each slot packs the pointer with 8 bits of the id's hash, so a probe
// rarely reads a record that is not the one sought, and with its distance from its home slot, so
// that a deletion shifts the entries behind it back without reading their records (one cache miss
// each in a large table). Records keep 32 bits of the hash (`id_hash`) so that growth moves entries
// without hashing ids, and so that a distance too long for the slot (255 or more) is still known.
// Linear probing, at most 3/4 full, growth by doubling, and backward-shift deletion. The table does not own its
// records. Used by one thread, its owner's (the broker's loop, a Producer's caller); not thread-safe.
//
// Growth is incremental past kIncrementalFrom slots, because moving every entry at once reads
// every record (for its hash) and would stall the owner's loop for tens or hundreds of
// milliseconds on a large table (corsair-job-table-growth measures it). Instead the old slots
// stay readable while each later insert or remove moves kMigrationStep of them; lookups try the
// new slots, then the old. The old slots take no inserts while they drain, so a moved or removed
// entry leaves a tombstone there, never a hole that would cut another entry's probe short.
//
// `Record` provides `std::string_view id() const` and a `std::uint32_t id_hash` member, which the
// table sets on insert. Records must stay at one address while they are in the table.
#pragma once

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <new>
#include <string_view>

namespace corsair::containers {

template <class Record>
class IdTable {
public:
    IdTable() = default;
    IdTable(const IdTable&) = delete;
    IdTable& operator=(const IdTable&) = delete;

    std::size_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }
    std::size_t capacity() const noexcept { return slots_ ? mask_ + 1 : 0; }
    bool is_migrating() const noexcept { return old_ != nullptr; }

    // The record with this id, or nullptr.
    Record* find(std::string_view id) const noexcept {
        if (size_ == 0) return nullptr;
        const std::uint64_t hash = hash_of(id);
        const std::uint64_t tag = tag_of(hash);
        for (std::size_t i = hash & mask_;; i = (i + 1) & mask_) {
            const std::uint64_t slot = slots_[i];
            if (slot == 0) break;
            if ((slot & kTagMask) == tag && record_of(slot)->id() == id) return record_of(slot);
        }
        if (!is_migrating()) return nullptr;
        const std::size_t at = find_old(id, hash);
        return at == kNowhere ? nullptr : record_of(old_[at]);
    }

    // Adds `record`, whose id must not be in the table. Throws std::bad_alloc when growing.
    void insert(Record* record) {
        if (is_migrating()) migrate(kMigrationStep);
        if ((size_ + 1) * 4 > capacity() * 3) grow();
        const std::uint64_t hash = hash_of(record->id());
        record->id_hash = static_cast<std::uint32_t>(hash);
        place(slot_of(record, tag_of(hash)), hash);
        ++size_;
    }

    // Removes and returns the record with this id, or nullptr.
    Record* remove(std::string_view id) noexcept {
        if (size_ == 0) return nullptr;
        if (is_migrating()) migrate(kMigrationStep);
        const std::uint64_t hash = hash_of(id);
        const std::uint64_t tag = tag_of(hash);
        for (std::size_t i = hash & mask_;; i = (i + 1) & mask_) {
            const std::uint64_t slot = slots_[i];
            if (slot == 0) break;
            if ((slot & kTagMask) == tag && record_of(slot)->id() == id) {
                erase_at(i);
                return record_of(slot);
            }
        }
        if (!is_migrating()) return nullptr;
        const std::size_t at = find_old(id, hash);
        if (at == kNowhere) return nullptr;
        Record* record = record_of(old_[at]);
        old_[at] = kTombstone;
        --size_;
        return record;
    }

    // Gives the slots' memory back; the table must be empty. The table never shrinks on its own,
    // so an owner that may stay idle after a burst calls this once it has emptied the table.
    void release() noexcept {
        assert(size_ == 0);
        slots_.reset();
        old_.reset();
        mask_ = 0;
        old_capacity_ = 0;
        migrated_ = 0;
    }

    // Calls f(Record*) for every record, in no particular order. f must not change the table.
    template <class F>
    void for_each(F&& f) const {
        for (std::size_t i = 0; i < capacity(); ++i) {
            if (slots_[i] != 0) f(record_of(slots_[i]));
        }
        for (std::size_t i = migrated_; i < old_capacity_; ++i) {
            if (old_[i] != 0 && old_[i] != kTombstone) f(record_of(old_[i]));
        }
    }

private:
    // A slot: the record's address in bits 0-47, its distance from home in 48-55, the top 8 bits
    // of the id's hash in 56-63.
    static constexpr int kDistanceShift = 48;
    static constexpr std::uint64_t kPointerMask = (std::uint64_t{1} << kDistanceShift) - 1;
    static constexpr std::uint64_t kDistanceMask = std::uint64_t{0xFF} << kDistanceShift;
    static constexpr std::uint64_t kTagMask = std::uint64_t{0xFF} << 56;
    // A distance of this or more is stored as this; the record's id_hash then gives its home.
    static constexpr std::size_t kLongDistance = 0xFF;
    static constexpr std::size_t kFirstCapacity = 16;
    // Tables smaller than this grow at once (well under a millisecond).
    static constexpr std::size_t kIncrementalFrom = std::size_t{1} << 12;
    // Old slots moved per insert or remove while migrating: a doubling from N slots is done after
    // N / kMigrationStep operations, long before the new table is 3/4 full (N * 3/4 inserts).
    static constexpr std::size_t kMigrationStep = 64;
    static constexpr std::uint64_t kTombstone = 1;  // never a record: records are aligned
    static constexpr std::size_t kNowhere = ~std::size_t{0};

    struct FreeSlots {
        void operator()(std::uint64_t* slots) const noexcept { std::free(slots); }
    };
    using Slots = std::unique_ptr<std::uint64_t[], FreeSlots>;
    // Zeroed slots (all empty). calloc takes large blocks straight from mmap, already zero, so
    // the pages are cleared as they are first touched instead of all at once here.
    static Slots zeroed_slots(std::size_t count) {
        auto* slots = static_cast<std::uint64_t*>(std::calloc(count, sizeof(std::uint64_t)));
        if (slots == nullptr) throw std::bad_alloc();
        return Slots(slots);
    }

    static std::uint64_t hash_of(std::string_view id) noexcept { return std::hash<std::string_view>{}(id); }
    static std::uint64_t tag_of(std::uint64_t hash) noexcept { return hash & kTagMask; }
    static Record* record_of(std::uint64_t slot) noexcept { return reinterpret_cast<Record*>(slot & kPointerMask); }
    static std::uint64_t slot_of(Record* record, std::uint64_t tag) noexcept {
        const auto address = reinterpret_cast<std::uintptr_t>(record);
        // User-space addresses fit in 48 bits on x86-64 and AArch64 (without a hint asking for
        // more); the top 16 bits carry the tag.
        if ((address & ~kPointerMask) != 0 || address == 0) {
            std::fputs("corsair: IdTable: record address does not fit in 48 bits\n", stderr);
            std::abort();
        }
        return address | tag;
    }

    static std::uint64_t with_distance(std::uint64_t slot, std::size_t distance) noexcept {
        const std::uint64_t stored = std::min(distance, kLongDistance);
        return (slot & ~kDistanceMask) | (stored << kDistanceShift);
    }
    // The home slot of the entry in slot `i`: from its stored distance, or, for a long one, from
    // its record.
    std::size_t home_of(std::size_t i) const noexcept {
        const std::uint64_t slot = slots_[i];
        const std::size_t distance = (slot & kDistanceMask) >> kDistanceShift;
        if (distance < kLongDistance) return (i - distance) & mask_;
        return record_of(slot)->id_hash & mask_;
    }

    // Puts `slot` in the first free slot from its home; there is one (load <= 3/4).
    void place(std::uint64_t slot, std::uint64_t hash) noexcept {
        const std::size_t home = hash & mask_;
        std::size_t i = home;
        while (slots_[i] != 0) i = (i + 1) & mask_;
        slots_[i] = with_distance(slot, (i - home) & mask_);
    }

    void erase_at(std::size_t hole) noexcept {
        slots_[hole] = 0;
        --size_;
        // Backward shift: pull each following entry of the cluster back into the hole when the
        // hole lies between its home and where it sits, so that no lookup ever stops early.
        for (std::size_t i = (hole + 1) & mask_; slots_[i] != 0; i = (i + 1) & mask_) {
            const std::size_t home = home_of(i);
            if (((i - home) & mask_) >= ((i - hole) & mask_)) {
                slots_[hole] = with_distance(slots_[i], (hole - home) & mask_);
                slots_[i] = 0;
                hole = i;
            }
        }
    }

    // Where `id` sits in the draining old slots, or kNowhere.
    std::size_t find_old(std::string_view id, std::uint64_t hash) const noexcept {
        const std::uint64_t tag = tag_of(hash);
        const std::size_t old_mask = old_capacity_ - 1;
        for (std::size_t i = hash & old_mask;; i = (i + 1) & old_mask) {
            const std::uint64_t slot = old_[i];
            if (slot == 0) return kNowhere;
            if (slot != kTombstone && (slot & kTagMask) == tag && record_of(slot)->id() == id) return i;
        }
    }

    // Moves up to `count` old slots into the new table; frees the old one when it is empty.
    void migrate(std::size_t count) noexcept {
        for (; count > 0 && migrated_ < old_capacity_; --count, ++migrated_) {
            const std::uint64_t slot = old_[migrated_];
            if (slot != 0 && slot != kTombstone) place(slot, record_of(slot)->id_hash);
            if (slot != 0) old_[migrated_] = kTombstone;
        }
        if (migrated_ == old_capacity_) {
            old_.reset();
            old_capacity_ = 0;
            migrated_ = 0;
        }
    }

    void grow() {
        // Still draining the last doubling (only when removals kept pace with inserts): finish it.
        if (is_migrating()) migrate(old_capacity_);
        const std::size_t old_capacity = capacity();
        const std::size_t new_capacity = old_capacity == 0 ? kFirstCapacity : old_capacity * 2;
        // id_hash keeps 32 bits of the hash: enough for any home index below 2^32 slots.
        assert(new_capacity <= (std::size_t{1} << 32));
        old_ = std::move(slots_);
        old_capacity_ = old_capacity;
        migrated_ = 0;
        slots_ = zeroed_slots(new_capacity);
        mask_ = new_capacity - 1;
        if (old_capacity < kIncrementalFrom) migrate(old_capacity);
    }

    Slots slots_;
    std::size_t mask_ = 0;
    std::size_t size_ = 0;  // in both tables
    Slots old_;              // while migrating: the slots before the last doubling
    std::size_t old_capacity_ = 0;
    std::size_t migrated_ = 0;  // old slots before this one are moved (tombstones or empty)
};

}  // namespace corsair::containers
