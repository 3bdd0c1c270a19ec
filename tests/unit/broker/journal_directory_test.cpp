#include "journal_directory.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>

#include "journal_error.hpp"
#include "journal_test_support.hpp"

namespace corsair::broker {

using test::ScratchDir;

TEST_CASE("a data directory is created if missing, with its LOCK file holding our PID",
          "[broker][journal][journal_directory]") {
    ScratchDir scratch;
    const auto path = scratch / "nested" / "data";
    JournalDirectory directory(path);
    CHECK(std::filesystem::is_directory(path));
    CHECK(directory.path() == path);
    CHECK(directory.journal_path() == path / "journal.log");
    CHECK(directory.compaction_path() == path / "journal.log.compact");
    CHECK(test::read_bytes(directory.lock_path()) == std::to_string(::getpid()) + "\n");
}

TEST_CASE("the lock refuses a second broker on the same directory, naming it and the holder's PID",
          "[broker][journal][journal_directory]") {
    ScratchDir scratch;
    const auto path = scratch / "data";
    {
        JournalDirectory first(path);
        CHECK_THROWS_AS(JournalDirectory(path), JournalError);
        CHECK_THROWS_WITH(JournalDirectory(path), Catch::Contains("data directory " + path.string()) &&
                                                      Catch::Contains("in use by another broker") &&
                                                      Catch::Contains("(pid " + std::to_string(::getpid()) + ")"));
    }
    // Released with its holder: the next broker gets it.
    CHECK_NOTHROW(JournalDirectory(path));
}

TEST_CASE("a stale compaction file is removed at startup", "[broker][journal][journal_directory]") {
    ScratchDir scratch;
    JournalDirectory directory(scratch / "data");
    CHECK_FALSE(directory.remove_stale_compaction());
    test::write_bytes(directory.compaction_path(), "half a compaction");
    CHECK(directory.remove_stale_compaction());
    CHECK_FALSE(std::filesystem::exists(directory.compaction_path()));
}

TEST_CASE("a data directory that cannot be created is reported by path", "[broker][journal][journal_directory]") {
    ScratchDir scratch;
    test::write_bytes(scratch / "file", "x");
    CHECK_THROWS_WITH(JournalDirectory(scratch / "file" / "data"), Catch::Contains((scratch / "file").string()));
}

}  // namespace corsair::broker
