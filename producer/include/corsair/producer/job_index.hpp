// JobIndex: the Producer's table from job id to the slot holding the job, used from the
// Producer's thread. Open addressing with linear probing over 8-byte entries, so a lookup reads
// one cache line of the table and then the slot it names, instead of std::unordered_map's chain
// of bucket, previous node and node. Not part of the producer API.
//
// It stores no ids: the caller keeps each id in its slot, passes the id's hash, and confirms a
// candidate slot with `is_match`. The table grows at half full and shrinks at an eighth full.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <string_view>
#include <vector>

namespace corsair::producer {

class JobIndex {
public:
    static constexpr std::uint32_t kNoSlot = std::numeric_limits<std::uint32_t>::max();

    static std::uint64_t hash(std::string_view id) noexcept { return std::hash<std::string_view>{}(id); }

    // The slot of the entry with this hash for which is_match(slot) holds, or kNoSlot.
    template <class IsMatch>
    std::uint32_t find(std::uint64_t hash, IsMatch&& is_match) const {
        if (size_ == 0) return kNoSlot;
        const auto tag = tag_of(hash);
        for (std::size_t i = tag & mask_;; i = (i + 1) & mask_) {
            const Entry& entry = entries_[i];
            if (entry.slot == kNoSlot) return kNoSlot;
            if (entry.tag == tag && is_match(entry.slot)) return entry.slot;
        }
    }

    // Adds slot under hash; the caller has checked that its id is not indexed yet.
    void insert(std::uint64_t hash, std::uint32_t slot);
    // Removes the entry of slot, inserted under hash; nothing if there is none.
    void erase(std::uint64_t hash, std::uint32_t slot);

    std::size_t size() const noexcept { return size_; }
    std::size_t capacity() const noexcept { return entries_.size(); }

private:
    struct Entry {
        std::uint32_t tag = 0;  // the hash's low 32 bits: its home position, and a cheap first comparison
        std::uint32_t slot = kNoSlot;
    };

    static std::uint32_t tag_of(std::uint64_t hash) noexcept { return static_cast<std::uint32_t>(hash); }
    void rehash(std::size_t capacity);

    std::vector<Entry> entries_;
    std::size_t mask_ = 0;
    std::size_t size_ = 0;
};

}  // namespace corsair::producer
