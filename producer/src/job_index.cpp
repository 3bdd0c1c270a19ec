#include "corsair/producer/job_index.hpp"

#include <cassert>

namespace corsair::producer {

namespace {

constexpr std::size_t kMinCapacity = 64;  // a power of two

}  // namespace

void JobIndex::insert(std::uint64_t hash, std::uint32_t slot) {
    assert(slot != kNoSlot);
    if ((size_ + 1) * 2 > entries_.size()) rehash(entries_.empty() ? kMinCapacity : entries_.size() * 2);
    const auto tag = tag_of(hash);
    std::size_t i = tag & mask_;
    while (entries_[i].slot != kNoSlot) i = (i + 1) & mask_;
    entries_[i] = Entry{tag, slot};
    ++size_;
}

void JobIndex::erase(std::uint64_t hash, std::uint32_t slot) {
    if (size_ == 0) return;
    std::size_t hole = tag_of(hash) & mask_;
    while (entries_[hole].slot != slot) {
        if (entries_[hole].slot == kNoSlot) return;
        hole = (hole + 1) & mask_;
    }
    // Backward-shift deletion: pull later entries of the run into the hole when their home
    // position allows, so lookups never need tombstones.
    for (std::size_t next = (hole + 1) & mask_; entries_[next].slot != kNoSlot; next = (next + 1) & mask_) {
        const std::size_t home = entries_[next].tag & mask_;
        // `next` may move to `hole` unless its home lies cyclically in (hole, next].
        const bool stays = hole <= next ? (hole < home && home <= next) : (hole < home || home <= next);
        if (stays) continue;
        entries_[hole] = entries_[next];
        hole = next;
    }
    entries_[hole] = Entry{};
    --size_;
    if (entries_.size() > kMinCapacity && size_ * 8 < entries_.size()) rehash(entries_.size() / 2);
}

void JobIndex::rehash(std::size_t capacity) {
    std::vector<Entry> old(capacity);
    old.swap(entries_);
    mask_ = capacity - 1;
    for (const Entry& entry : old) {
        if (entry.slot == kNoSlot) continue;
        std::size_t i = entry.tag & mask_;
        while (entries_[i].slot != kNoSlot) i = (i + 1) & mask_;
        entries_[i] = entry;
    }
}

}  // namespace corsair::producer
