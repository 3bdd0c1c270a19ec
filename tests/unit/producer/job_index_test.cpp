#include "corsair/producer/job_index.hpp"

#include <map>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

using corsair::producer::JobIndex;

namespace {

// Ids kept by the test, as the Producer keeps them in its slots; hashes may be forced to collide.
struct Slots {
    std::vector<std::string> ids;
    std::vector<std::uint64_t> hashes;

    std::uint32_t find(const JobIndex& index, const std::string& id, std::uint64_t hash) const {
        return index.find(hash, [&](std::uint32_t slot) { return ids[slot] == id; });
    }
};

}  // namespace

TEST_CASE("a job index finds what was inserted and forgets what was erased", "[producer][job_index]") {
    JobIndex index;
    Slots slots;
    CHECK(index.find(JobIndex::hash("a"), [](std::uint32_t) { return true; }) == JobIndex::kNoSlot);
    for (std::uint32_t slot = 0; slot < 3; ++slot) {
        slots.ids.push_back("job-" + std::to_string(slot));
        slots.hashes.push_back(JobIndex::hash(slots.ids.back()));
        index.insert(slots.hashes.back(), slot);
    }
    CHECK(index.size() == 3);
    CHECK(slots.find(index, "job-1", slots.hashes[1]) == 1);
    CHECK(slots.find(index, "job-9", JobIndex::hash("job-9")) == JobIndex::kNoSlot);
    index.erase(slots.hashes[1], 1);
    CHECK(slots.find(index, "job-1", slots.hashes[1]) == JobIndex::kNoSlot);
    CHECK(slots.find(index, "job-0", slots.hashes[0]) == 0);
    CHECK(slots.find(index, "job-2", slots.hashes[2]) == 2);
    index.erase(slots.hashes[1], 1);  // not there: nothing happens
    CHECK(index.size() == 2);
}

TEST_CASE("a job index stays exact through collisions, wrap-around, growth and shrinking",
          "[producer][job_index]") {
    JobIndex index;
    Slots slots;
    std::map<std::string, std::uint32_t> expected;
    std::mt19937_64 random(20250505);
    std::uint32_t colliding_hashes = 0;
    SECTION("hashes of a few values only, so runs are long and cross the end of the table") {
        colliding_hashes = 5;
    }
    SECTION("real hashes") { colliding_hashes = 0; }
    auto hash_of = [&](const std::string& id, std::uint32_t n) -> std::uint64_t {
        // Forced collisions near the table's end exercise the wrap-around of probing and shifting.
        return colliding_hashes != 0 ? 0xFFFF'FFFF'FFFF'FFF0ULL + n % colliding_hashes : JobIndex::hash(id);
    };
    std::size_t largest = 0;
    for (std::uint32_t n = 0; n < 20'000; ++n) {
        // Mostly inserts at first, then mostly erases: the table grows, then shrinks.
        const bool inserts = expected.empty() || random() % 100 < (n < 10'000 ? 70u : 25u);
        if (inserts) {
            const auto slot = static_cast<std::uint32_t>(slots.ids.size());
            slots.ids.push_back("id-" + std::to_string(n));
            slots.hashes.push_back(hash_of(slots.ids.back(), n));
            index.insert(slots.hashes.back(), slot);
            expected.emplace(slots.ids.back(), slot);
        } else {
            auto victim = expected.begin();
            std::advance(victim, static_cast<long>(random() % expected.size()));
            index.erase(slots.hashes[victim->second], victim->second);
            expected.erase(victim);
        }
        REQUIRE(index.size() == expected.size());
        largest = std::max(largest, index.capacity());
        if (n % 997 == 0) {
            for (const auto& [id, slot] : expected) REQUIRE(slots.find(index, id, slots.hashes[slot]) == slot);
        }
    }
    for (std::uint32_t slot = 0; slot < slots.ids.size(); ++slot) {
        const auto it = expected.find(slots.ids[slot]);
        const auto want = it == expected.end() ? JobIndex::kNoSlot : it->second;
        REQUIRE(slots.find(index, slots.ids[slot], slots.hashes[slot]) == want);
    }
    CHECK(index.capacity() >= 2 * index.size());
    for (const auto& [id, slot] : expected) index.erase(slots.hashes[slot], slot);
    CHECK(index.size() == 0);
    CHECK(index.capacity() < largest);  // shrunk back when emptied
}
