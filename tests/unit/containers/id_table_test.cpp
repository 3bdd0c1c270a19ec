#include "corsair/containers/id_table.hpp"

#include <algorithm>
#include <catch2/catch.hpp>

#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

using corsair::containers::IdTable;

namespace {

struct TestRecord {
    std::string name;
    std::uint32_t id_hash = 0;
    std::string_view id() const { return name; }
};

// Ids whose std::hash lands in slot `home` of a table of `capacity` slots: certain collisions.
std::vector<std::string> ids_with_home(std::size_t home, std::size_t capacity, std::size_t count) {
    std::vector<std::string> ids;
    for (std::size_t n = 0; ids.size() < count; ++n) {
        std::string id = "id-" + std::to_string(n);
        if ((std::hash<std::string_view>{}(id) & (capacity - 1)) == home) ids.push_back(id);
    }
    return ids;
}

struct Records {
    std::vector<std::unique_ptr<TestRecord>> owned;
    TestRecord* make(std::string id) {
        owned.push_back(std::make_unique<TestRecord>(TestRecord{std::move(id)}));
        return owned.back().get();
    }
};

// A table driven alongside std::map, the model it must agree with.
struct ModelledTable {
    IdTable<TestRecord> table;
    Records records;
    std::map<std::string, TestRecord*> model;

    // Inserts `id` if it is new (`inserts`), else removes it, checking the removal against the model.
    void apply(const std::string& id, bool inserts) {
        if (inserts) {
            if (model.count(id) == 0) {
                TestRecord* r = records.make(id);
                table.insert(r);
                model[id] = r;
            }
        } else {
            TestRecord* expected = model.count(id) ? model[id] : nullptr;
            REQUIRE(table.remove(id) == expected);
            model.erase(id);
        }
    }
    void check_finds() {
        REQUIRE(table.size() == model.size());
        for (const auto& [key, r] : model) REQUIRE(table.find(key) == r);
    }
};

}  // namespace

TEST_CASE("an id table finds what was inserted and forgets what was removed", "[containers][id_table]") {
    IdTable<TestRecord> table;
    Records records;
    CHECK(table.find("a") == nullptr);
    CHECK(table.remove("a") == nullptr);
    TestRecord* a = records.make("a");
    TestRecord* b = records.make("b");
    table.insert(a);
    table.insert(b);
    CHECK(table.size() == 2);
    CHECK(table.find("a") == a);
    CHECK(table.find("b") == b);
    CHECK(table.find("c") == nullptr);
    CHECK(table.remove("a") == a);
    CHECK(table.find("a") == nullptr);
    CHECK(table.find("b") == b);
    CHECK(table.size() == 1);
}

TEST_CASE("colliding ids that wrap around the end of the table stay findable through removals",
          "[containers][id_table]") {
    IdTable<TestRecord> table;
    Records records;
    table.insert(records.make("seed"));  // the first insert makes 16 slots
    REQUIRE(table.capacity() == 16);
    table.remove("seed");
    // Five ids whose home is the last slot: they fill 15, 0, 1, 2, 3.
    const auto last = ids_with_home(15, 16, 5);
    // Two whose home is slot 1: pushed behind the wrapped cluster.
    const auto second = ids_with_home(1, 16, 2);
    std::vector<TestRecord*> all;
    for (const auto& id : last) all.push_back(records.make(id));
    for (const auto& id : second) all.push_back(records.make(id));
    for (auto* r : all) table.insert(r);
    REQUIRE(table.capacity() == 16);
    for (auto* r : all) CHECK(table.find(r->name) == r);

    SECTION("removing the head of the wrapped cluster shifts the rest back") {
        CHECK(table.remove(last[0]) == all[0]);
        for (std::size_t i = 1; i < all.size(); ++i) CHECK(table.find(all[i]->name) == all[i]);
    }
    SECTION("removing in the middle keeps entries whose home is past the hole") {
        CHECK(table.remove(last[2]) == all[2]);
        for (std::size_t i = 0; i < all.size(); ++i) {
            if (i != 2) CHECK(table.find(all[i]->name) == all[i]);
        }
        CHECK(table.find(last[2]) == nullptr);
    }
    SECTION("removing everything in any order leaves an empty table") {
        for (std::size_t i = all.size(); i-- > 0;) {
            CHECK(table.remove(all[i]->name) == all[i]);
            for (std::size_t j = 0; j < i; ++j) CHECK(table.find(all[j]->name) == all[j]);
        }
        CHECK(table.empty());
    }
}

TEST_CASE("a cluster longer than a slot can store a distance for stays findable through removals",
          "[containers][id_table]") {
    // 300 ids with one home in a table of 512 slots: the entries sit up to 299 slots from home, past
    // the 254 a slot stores, so shifting them back reads their home from the record instead.
    IdTable<TestRecord> table;
    Records records;
    const auto ids = ids_with_home(77, 512, 300);
    std::vector<TestRecord*> all;
    for (const auto& id : ids) {
        all.push_back(records.make(id));
        table.insert(all.back());
    }
    REQUIRE(table.capacity() == 512);
    for (auto* r : all) CHECK(table.find(r->name) == r);
    const auto order = GENERATE(0, 1, 2);
    std::vector<std::size_t> removal(all.size());
    for (std::size_t i = 0; i < removal.size(); ++i) removal[i] = i;
    if (order == 1) std::reverse(removal.begin(), removal.end());
    if (order == 2) std::shuffle(removal.begin(), removal.end(), std::mt19937(7));
    std::vector<bool> is_removed(all.size(), false);
    for (std::size_t step = 0; step < removal.size(); ++step) {
        const std::size_t gone = removal[step];
        REQUIRE(table.remove(all[gone]->name) == all[gone]);
        is_removed[gone] = true;
        // Every so often (and near the cluster's long end) everything left must still be found.
        if (step % 37 == 0 || step + 5 >= removal.size()) {
            for (std::size_t i = 0; i < all.size(); ++i) {
                REQUIRE(table.find(all[i]->name) == (is_removed[i] ? nullptr : all[i]));
            }
        }
    }
    CHECK(table.empty());
}

TEST_CASE("an id table grows by doubling and keeps every record", "[containers][id_table]") {
    IdTable<TestRecord> table;
    Records records;
    for (int i = 0; i < 10000; ++i) table.insert(records.make("job-" + std::to_string(i)));
    CHECK(table.size() == 10000);
    CHECK(table.capacity() == 16384);  // at most 3/4 full
    for (int i = 0; i < 10000; ++i) {
        const std::string id = "job-" + std::to_string(i);
        REQUIRE(table.find(id) != nullptr);
        CHECK(table.find(id)->name == id);
    }
    std::size_t seen = 0;
    table.for_each([&](TestRecord*) { ++seen; });
    CHECK(seen == 10000);
}

TEST_CASE("an id table agrees with std::map under random inserts and removals", "[containers][id_table]") {
    ModelledTable t;
    std::mt19937 random(7);
    for (int step = 0; step < 50000; ++step) {
        const std::string id = "r-" + std::to_string(random() % 3000);
        t.apply(id, random() % 2 == 0);
        if (step % 1000 == 0) t.check_finds();
    }
}

TEST_CASE("a large id table grows incrementally and agrees with std::map while it migrates", "[containers][id_table]") {
    ModelledTable t;
    std::mt19937 random(11);
    bool saw_migration = false;
    auto check_all = [&] {
        t.check_finds();
        std::size_t seen = 0;
        t.table.for_each([&](TestRecord* r) {
            ++seen;
            REQUIRE(t.model.count(r->name) == 1);
        });
        REQUIRE(seen == t.model.size());
    };
    // Mostly inserts, so the table doubles incrementally (past 4,096 slots) several times;
    // removals and lookups land in both the old and the new slots while each doubling drains.
    for (int step = 0; step < 200000; ++step) {
        const std::string id = "m-" + std::to_string(random() % 150000);
        t.apply(id, random() % 4 != 0);
        if (t.table.is_migrating()) {
            if (!saw_migration || step % 97 == 0) check_all();
            saw_migration = true;
        }
    }
    CHECK(saw_migration);
    check_all();
    // Removing everything, old slots and new, leaves an empty table.
    for (const auto& [key, r] : t.model) REQUIRE(t.table.remove(key) == r);
    CHECK(t.table.empty());
    CHECK(t.table.find("m-1") == nullptr);
}

TEST_CASE("an emptied id table gives its slots back on release and works again after", "[containers][id_table]") {
    IdTable<TestRecord> table;
    Records records;
    // Enough to be migrating when emptied, so that both the new and the old slots are released.
    for (int i = 0; i < 7000; ++i) table.insert(records.make("r-" + std::to_string(i)));
    for (int i = 0; i < 7000; ++i) REQUIRE(table.remove("r-" + std::to_string(i)) != nullptr);
    REQUIRE(table.empty());
    table.release();
    CHECK(table.capacity() == 0);
    CHECK_FALSE(table.is_migrating());
    CHECK(table.find("r-1") == nullptr);
    CHECK(table.remove("r-1") == nullptr);
    TestRecord* again = records.make("again");
    table.insert(again);
    CHECK(table.capacity() == 16);
    CHECK(table.find("again") == again);
}
