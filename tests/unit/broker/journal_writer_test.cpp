#include "journal_writer.hpp"

#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <zmq.hpp>

#include <sys/resource.h>
#include <csignal>

#include "journal_error.hpp"
#include "journal_reader.hpp"
#include "deadline.hpp"
#include "journal_test_support.hpp"

namespace corsair::broker {
namespace {

using namespace std::chrono_literals;
using test::numbered_record;
using test::same_record;
using test::ScratchDir;

std::shared_ptr<spdlog::logger> quiet_log() {
    return std::make_shared<spdlog::logger>("journal", std::make_shared<spdlog::sinks::null_sink_mt>());
}

// Polls the writer's notification, as the broker's loop would, until take_durable() reaches
// `sequence` or `timeout` passes. Every value seen must be at least the one before.
bool wait_durable(JournalWriter& writer, std::uint64_t sequence, std::chrono::milliseconds timeout = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::uint64_t last = 0;
    for (;;) {
        const auto now = std::chrono::steady_clock::now();
        if (now >= deadline) return false;
        zmq::pollitem_t item{nullptr, writer.durable_fd(), ZMQ_POLLIN, 0};
        zmq::poll(&item, 1, std::chrono::ceil<std::chrono::milliseconds>(deadline - now));
        if ((item.revents & ZMQ_POLLIN) == 0) continue;
        const std::uint64_t durable = writer.take_durable();
        CHECK(durable >= last);
        CHECK(durable <= writer.last_sequence());
        last = durable;
        if (durable >= sequence) return true;
    }
}

std::vector<JournalRecord> read_journal(const std::filesystem::path& path) {
    JournalReader reader(path);
    std::vector<JournalRecord> records;
    while (auto record = reader.next()) records.push_back(std::move(*record));
    CHECK(reader.ending().kind == JournalEnding::Kind::clean);
    return records;
}

void check_same(const std::vector<JournalRecord>& read, const std::vector<JournalRecord>& expected) {
    REQUIRE(read.size() == expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
        INFO("record " << i);
        CHECK(same_record(read[i], expected[i]));
    }
}

// Lowers this process's file size limit (RLIMIT_FSIZE) to `bytes` for regular files: a write
// past it fails with EFBIG, as a full disk fails with ENOSPC, without needing a full disk.
// SIGXFSZ, which would otherwise kill the process, is ignored meanwhile. Restored when it goes.
class FileSizeLimit {
public:
    explicit FileSizeLimit(rlim_t bytes) {
        ::getrlimit(RLIMIT_FSIZE, &saved_);
        previous_handler_ = std::signal(SIGXFSZ, SIG_IGN);
        set(bytes);
    }
    ~FileSizeLimit() {
        ::setrlimit(RLIMIT_FSIZE, &saved_);
        std::signal(SIGXFSZ, previous_handler_);
    }
    FileSizeLimit(const FileSizeLimit&) = delete;
    FileSizeLimit& operator=(const FileSizeLimit&) = delete;
    void set(rlim_t bytes) {
        rlimit limit = saved_;
        limit.rlim_cur = bytes;
        REQUIRE(::setrlimit(RLIMIT_FSIZE, &limit) == 0);
    }
    void lift() { REQUIRE(::setrlimit(RLIMIT_FSIZE, &saved_) == 0); }

private:
    rlimit saved_{};
    void (*previous_handler_)(int) = SIG_DFL;
};

// Polls the writer's notifications until `condition` holds or `timeout` passes.
template <class Condition>
bool wait_notified(JournalWriter& writer, Condition condition, std::chrono::milliseconds timeout = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!condition()) {
        const auto now = std::chrono::steady_clock::now();
        if (now >= deadline) return false;
        zmq::pollitem_t item{nullptr, writer.durable_fd(), ZMQ_POLLIN, 0};
        zmq::poll(&item, 1, std::chrono::ceil<std::chrono::milliseconds>(deadline - now));
        if (item.revents & ZMQ_POLLIN) writer.take_durable();
    }
    return true;
}

struct WriterFixture {
    ScratchDir dir;
    std::filesystem::path path = dir / "journal.log";

    std::unique_ptr<JournalWriter> writer(FsyncPolicy policy, std::chrono::milliseconds interval = 100ms) {
        return std::make_unique<JournalWriter>(path, JournalWriterOptions{policy, interval}, quiet_log());
    }
};

}  // namespace

TEST_CASE("under every fsync policy, records are read back in order and durable sequences only grow",
          "[broker][journal][journal_writer]") {
    const FsyncPolicy policy = GENERATE(FsyncPolicy::always, FsyncPolicy::interval, FsyncPolicy::never);
    INFO("fsync=" << to_string(policy));
    WriterFixture fixture;
    std::vector<JournalRecord> expected;
    {
        auto writer = fixture.writer(policy);
        CHECK(writer->take_durable() == 0);
        for (std::uint64_t n = 1; n <= 300; ++n) {
            expected.push_back(numbered_record(n));
            CHECK(writer->append(expected.back()) == n);
            if (n % 100 == 0) REQUIRE(wait_durable(*writer, n));
        }
        for (const auto& record : test::one_record_of_each_type()) expected.push_back(record), writer->append(record);
        REQUIRE(wait_durable(*writer, expected.size()));
        CHECK(writer->stats().records_written == expected.size());
        CHECK_FALSE(writer->has_failed());
    }
    check_same(read_journal(fixture.path), expected);
}

TEST_CASE("group commit: records appended together share fdatasyncs", "[broker][journal][journal_writer]") {
    WriterFixture fixture;
    auto writer = fixture.writer(FsyncPolicy::always);
    constexpr std::uint64_t kRecords = 5000;
    for (std::uint64_t n = 1; n <= kRecords; ++n) writer->append(numbered_record(n));
    REQUIRE(wait_durable(*writer, kRecords));
    const JournalWriterStats stats = writer->stats();
    INFO("fdatasyncs=" << stats.fdatasyncs << " batches=" << stats.batches_written);
    CHECK(stats.records_written == kRecords);
    CHECK(stats.fdatasyncs == stats.batches_written);  // always: one sync per batch
    CHECK(stats.fdatasyncs < kRecords);
}

TEST_CASE("thousands of batches in a row never stall the pipe between the loop and the writer",
          "[broker][journal][journal_writer]") {
    // Each record waited for: one wake and one notification per batch, past zmq's default
    // high-water mark of 1000 messages.
    WriterFixture fixture;
    auto writer = fixture.writer(FsyncPolicy::never);
    for (std::uint64_t n = 1; n <= 3000; ++n) REQUIRE(wait_durable(*writer, writer->append(numbered_record(n)), 5s));
    CHECK(writer->stats().batches_written == 3000);
}

TEST_CASE("a loop that takes durable sequences while the writer publishes never misses the next one",
          "[broker][journal][journal_writer]") {
    // Records kept in flight while earlier ones become durable, so the writer publishes while the
    // loop is inside take_durable(): a notification lost there would stall this loop.
    WriterFixture fixture;
    auto writer = fixture.writer(FsyncPolicy::never);
    constexpr std::uint64_t kRecords = 30'000;
    constexpr std::uint64_t kInFlight = 4;
    std::uint64_t appended = 0;
    for (; appended < kInFlight; ++appended) writer->append(numbered_record(appended));
    std::uint64_t durable = 0;
    while (durable < kRecords) {
        zmq::pollitem_t item{nullptr, writer->durable_fd(), ZMQ_POLLIN, 0};
        zmq::poll(&item, 1, std::chrono::milliseconds(5000));
        INFO("durable=" << durable << " appended=" << appended);
        REQUIRE((item.revents & ZMQ_POLLIN) != 0);
        durable = writer->take_durable();
        for (; appended < kRecords && appended < durable + kInFlight; ++appended) {
            writer->append(numbered_record(appended));
        }
    }
}

TEST_CASE("each fdatasync of the journal counts in its histograms with the records it made durable",
          "[broker][journal][journal_writer]") {
    WriterFixture fixture;
    auto writer = fixture.writer(FsyncPolicy::always);
    CHECK(writer->histograms().fsync.count() == 0);
    for (std::uint64_t n = 1; n <= 50; ++n) writer->append(numbered_record(n));
    REQUIRE(wait_durable(*writer, 50));
    const JournalHistograms histograms = writer->histograms();
    CHECK(histograms.fsync.count() >= 1);
    CHECK(histograms.fsync.count() == writer->stats().fdatasyncs);
    CHECK(histograms.records_per_fsync.count() == histograms.fsync.count());
    CHECK(histograms.records_per_fsync.to_wire().sum == 50);
}

TEST_CASE("fsync=interval reports records durable once written and syncs them within the interval",
          "[broker][journal][journal_writer]") {
    WriterFixture fixture;
    SECTION("durable without waiting for a sync") {
        auto writer = fixture.writer(FsyncPolicy::interval, std::chrono::hours(1));
        for (std::uint64_t n = 1; n <= 10; ++n) writer->append(numbered_record(n));
        REQUIRE(wait_durable(*writer, 10));
        CHECK(writer->stats().fdatasyncs == 0);
    }
    SECTION("synced once the interval passes") {
        auto writer = fixture.writer(FsyncPolicy::interval, 20ms);
        for (std::uint64_t n = 1; n <= 10; ++n) writer->append(numbered_record(n));
        REQUIRE(wait_durable(*writer, 10));
        CHECK(test::wait_until([&] { return writer->stats().fdatasyncs >= 1; }, 5s));
    }
}

TEST_CASE("fsync=never reports records durable once written and never syncs while running",
          "[broker][journal][journal_writer]") {
    WriterFixture fixture;
    {
        auto writer = fixture.writer(FsyncPolicy::never);
        for (std::uint64_t n = 1; n <= 100; ++n) writer->append(numbered_record(n));
        REQUIRE(wait_durable(*writer, 100));
        CHECK(writer->stats().fdatasyncs == 0);
    }
    CHECK(read_journal(fixture.path).size() == 100);
}

TEST_CASE("records appended just before the writer is destroyed are written", "[broker][journal][journal_writer]") {
    WriterFixture fixture;
    const FsyncPolicy policy = GENERATE(FsyncPolicy::always, FsyncPolicy::interval, FsyncPolicy::never);
    {
        auto writer = fixture.writer(policy, std::chrono::hours(1));
        for (std::uint64_t n = 1; n <= 1000; ++n) writer->append(numbered_record(n));
    }
    CHECK(read_journal(fixture.path).size() == 1000);
}

TEST_CASE("a reopened journal is appended to after its records", "[broker][journal][journal_writer]") {
    WriterFixture fixture;
    std::vector<JournalRecord> expected;
    for (std::uint64_t n = 1; n <= 5; ++n) expected.push_back(numbered_record(n));
    {
        auto writer = fixture.writer(FsyncPolicy::always);
        for (std::size_t i = 0; i < 3; ++i) writer->append(expected[i]);
    }
    {
        auto writer = fixture.writer(FsyncPolicy::always);
        CHECK(writer->append(expected[3]) == 1);  // sequences belong to one writer, not the file
        writer->append(expected[4]);
        REQUIRE(wait_durable(*writer, 2));
    }
    check_same(read_journal(fixture.path), expected);
}

TEST_CASE("a writer refuses a file that is not a journal", "[broker][journal][journal_writer]") {
    WriterFixture fixture;
    test::write_bytes(fixture.path, "not a journal at all");
    CHECK_THROWS_AS(fixture.writer(FsyncPolicy::always), JournalError);
    test::write_bytes(fixture.path, "CSR");
    CHECK_THROWS_WITH(fixture.writer(FsyncPolicy::always), Catch::Contains("torn header"));
}

// What a snapshot child runs in these tests: waits (bounded) until `release` exists, so the test
// can append records while the snapshot is being written, then writes `records`. Its only way to
// hear from the test is the filesystem: the child keeps no other descriptor.
SnapshotProcess::Writer snapshot_writer(std::vector<JournalRecord> records, std::filesystem::path release = {}) {
    return [records = std::move(records), release = std::move(release)](JournalFile& file) {
        if (!release.empty() && !test::wait_until([&] { return std::filesystem::exists(release); }, 20s)) return ETIMEDOUT;
        std::string encoded;
        for (const auto& record : records) encode(record, encoded);
        return file.write({encoded});
    };
}

TEST_CASE("compaction replaces the journal with the snapshot followed by every later record",
          "[broker][journal][journal_writer]") {
    const FsyncPolicy policy = GENERATE(FsyncPolicy::always, FsyncPolicy::interval, FsyncPolicy::never);
    INFO("fsync=" << to_string(policy));
    WriterFixture fixture;
    const auto release = fixture.dir / "release";
    std::vector<JournalRecord> snapshot_records = {numbered_record(100), numbered_record(101)};
    std::vector<JournalRecord> later;
    {
        auto writer = fixture.writer(policy);
        for (std::uint64_t n = 1; n <= 5; ++n) writer->append(numbered_record(n));
        REQUIRE(writer->compact(snapshot_writer(snapshot_records, release)));
        CHECK(writer->is_compacting());
        CHECK_FALSE(writer->compact(snapshot_writer({})));  // one at a time
        // Records appended while the snapshot is written are acknowledged without waiting for it.
        for (std::uint64_t n = 6; n <= 8; ++n) later.push_back(numbered_record(n)), writer->append(later.back());
        REQUIRE(wait_durable(*writer, 8));
        CHECK(writer->is_compacting());
        test::write_bytes(release, "go");
        CHECK(test::wait_until([&] { writer->take_durable(); return !writer->is_compacting(); }, 20s));
        CHECK(writer->stats().compactions == 1);
        CHECK(writer->stats().journal_bytes == std::filesystem::file_size(fixture.path));
        CHECK(writer->stats().last_snapshot_bytes > kJournalHeaderBytes);
        // The writer keeps appending to the new file.
        later.push_back(numbered_record(9));
        writer->append(later.back());
        REQUIRE(wait_durable(*writer, 9));
    }
    auto expected = snapshot_records;
    expected.insert(expected.end(), later.begin(), later.end());
    check_same(read_journal(fixture.path), expected);
    CHECK_FALSE(std::filesystem::exists(compaction_path_of(fixture.path)));
}

TEST_CASE("a compaction that cannot create its file is refused and the old journal carries on",
          "[broker][journal][journal_writer]") {
    WriterFixture fixture;
    // A non-empty directory where the compaction file would go: it can be neither removed nor created.
    std::filesystem::create_directories(compaction_path_of(fixture.path) / "blocker");
    std::vector<JournalRecord> expected;
    {
        auto writer = fixture.writer(FsyncPolicy::always);
        for (std::uint64_t n = 1; n <= 3; ++n) expected.push_back(numbered_record(n)), writer->append(expected.back());
        CHECK_FALSE(writer->compact(snapshot_writer({numbered_record(100)})));
        CHECK_FALSE(writer->is_compacting());
        for (std::uint64_t n = 4; n <= 6; ++n) expected.push_back(numbered_record(n)), writer->append(expected.back());
        REQUIRE(wait_durable(*writer, 6));
        CHECK(writer->stats().compactions == 0);
        CHECK(writer->stats().compactions_failed == 1);
        CHECK_FALSE(writer->has_failed());
    }
    check_same(read_journal(fixture.path), expected);
}

TEST_CASE("a snapshot process that fails abandons the compaction and loses nothing",
          "[broker][journal][journal_writer]") {
    WriterFixture fixture;
    std::vector<JournalRecord> expected;
    {
        auto writer = fixture.writer(FsyncPolicy::always);
        for (std::uint64_t n = 1; n <= 3; ++n) expected.push_back(numbered_record(n)), writer->append(expected.back());
        // The child writes part of a snapshot, then fails as a full disk would.
        REQUIRE(writer->compact([](JournalFile& file) {
            std::string partial;
            encode(numbered_record(100), partial);
            file.write({partial});
            return ENOSPC;
        }));
        for (std::uint64_t n = 4; n <= 6; ++n) expected.push_back(numbered_record(n)), writer->append(expected.back());
        REQUIRE(wait_durable(*writer, 6));
        CHECK(test::wait_until([&] { writer->take_durable(); return !writer->is_compacting(); }, 20s));
        CHECK(writer->stats().compactions == 0);
        CHECK(writer->stats().compactions_failed == 1);
        CHECK_FALSE(writer->has_failed());
        CHECK_FALSE(std::filesystem::exists(compaction_path_of(fixture.path)));
        expected.push_back(numbered_record(7));
        writer->append(expected.back());
        REQUIRE(wait_durable(*writer, 7));
    }
    check_same(read_journal(fixture.path), expected);
}

TEST_CASE("a writer stopped mid-compaction kills the snapshot process and keeps the old journal",
          "[broker][journal][journal_writer]") {
    WriterFixture fixture;
    std::vector<JournalRecord> expected;
    {
        auto writer = fixture.writer(FsyncPolicy::always);
        for (std::uint64_t n = 1; n <= 3; ++n) expected.push_back(numbered_record(n)), writer->append(expected.back());
        // Never released: the child waits until the writer's destructor kills it.
        REQUIRE(writer->compact(snapshot_writer({numbered_record(100)}, fixture.dir / "never")));
        expected.push_back(numbered_record(4));
        writer->append(expected.back());
        REQUIRE(wait_durable(*writer, 4));
        CHECK(writer->is_compacting());
    }
    check_same(read_journal(fixture.path), expected);
    CHECK_FALSE(std::filesystem::exists(compaction_path_of(fixture.path)));
}

TEST_CASE("an older journal is read as it is and upgraded to the current version before anything is appended",
          "[broker][journal][journal_writer]") {
    const std::uint32_t old_version = GENERATE(1u, 2u);
    WriterFixture fixture;
    // An older file: the same records, only the header's version differs.
    std::vector<JournalRecord> expected = {numbered_record(1), numbered_record(2)};
    std::string bytes;
    append_journal_header(bytes, old_version);
    for (const auto& record : expected) encode(record, bytes);
    test::write_bytes(fixture.path, bytes);
    check_same(read_journal(fixture.path), expected);
    {
        auto writer = fixture.writer(FsyncPolicy::always);
        expected.push_back(JournalReleased{"job-1"});
        writer->append(expected.back());
        REQUIRE(wait_durable(*writer, 1));
    }
    std::ifstream file(fixture.path, std::ios::binary);
    std::string header(kJournalHeaderBytes, '\0');
    file.read(header.data(), static_cast<std::streamsize>(header.size()));
    CHECK(journal_version_of(header) == kJournalFormatVersion);
    check_same(read_journal(fixture.path), expected);
}

TEST_CASE("fsync policies parse from their names", "[broker][journal][journal_writer]") {
    CHECK(parse_fsync_policy("always") == FsyncPolicy::always);
    CHECK(parse_fsync_policy("interval") == FsyncPolicy::interval);
    CHECK(parse_fsync_policy("never") == FsyncPolicy::never);
    CHECK_FALSE(parse_fsync_policy("sometimes").has_value());
}

// Not run by ctest (hidden tag); run by hand:
//   build/tests/unit/broker/unit_broker_tests "[.benchmark]"
TEST_CASE("benchmark: 100,000 small records with fsync=always", "[.benchmark]") {
    WriterFixture fixture;
    constexpr std::uint64_t kRecords = 100'000;
    std::vector<JournalRecord> records;
    for (std::uint64_t n = 1; n <= kRecords; ++n) records.push_back(numbered_record(n, 20));
    std::string one;
    encode(records.front(), one);
    auto writer = fixture.writer(FsyncPolicy::always);
    auto report = [&](const char* what, std::uint64_t count, std::chrono::steady_clock::time_point start,
                      const JournalWriterStats& before) {
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        const auto syncs = writer->stats().fdatasyncs - before.fdatasyncs;
        std::printf(
            "fsync=always, %s: %llu records of %zu bytes in %.3f s = %.0f records/s; %llu fdatasyncs "
            "(%.1f records and %.2f ms per batch)\n",
            what, static_cast<unsigned long long>(count), one.size(), seconds, count / seconds,
            static_cast<unsigned long long>(syncs), static_cast<double>(count) / syncs, 1000.0 * seconds / syncs);
    };

    // All at once, as fast as the loop can append: the ceiling.
    auto start = std::chrono::steady_clock::now();
    auto before = writer->stats();
    for (const auto& record : records) writer->append(record);
    REQUIRE(wait_durable(*writer, kRecords, 120s));
    report("appended in one burst", kRecords, start, before);

    // A closed loop of 1,000 producers with one submit in flight each: a record is appended only
    // when an earlier one is durable, as the broker would with acknowledgements held for the disk.
    constexpr std::uint64_t kWindow = 1000;
    start = std::chrono::steady_clock::now();
    before = writer->stats();
    const std::uint64_t base = writer->last_sequence();
    for (std::uint64_t n = 0; n < kWindow; ++n) writer->append(records[n]);
    std::uint64_t next = kWindow;
    while (next < kRecords) {
        zmq::pollitem_t item{nullptr, writer->durable_fd(), ZMQ_POLLIN, 0};
        zmq::poll(&item, 1, std::chrono::milliseconds(10'000));
        REQUIRE((item.revents & ZMQ_POLLIN) != 0);
        const std::uint64_t durable = writer->take_durable() - base;
        for (; next < kRecords && next < durable + kWindow; ++next) writer->append(records[next]);
    }
    REQUIRE(wait_durable(*writer, base + kRecords, 120s));
    report("1,000 in flight", kRecords, start, before);

    // One record at a time, each waited for: a lone fdatasync's latency, nothing to group.
    constexpr std::uint64_t kLone = 200;
    start = std::chrono::steady_clock::now();
    before = writer->stats();
    for (std::uint64_t n = 0; n < kLone; ++n) REQUIRE(wait_durable(*writer, writer->append(records[n])));
    report("1 in flight", kLone, start, before);
}

}  // namespace corsair::broker

namespace corsair::broker {
namespace {

TEST_CASE("a full disk stalls the writer without losing a record, and it resumes once space returns",
          "[broker][journal][journal_writer]") {
    const FsyncPolicy policy = GENERATE(FsyncPolicy::always, FsyncPolicy::interval);
    INFO("fsync=" << to_string(policy));
    WriterFixture fixture;
    std::vector<JournalRecord> expected;
    auto writer = fixture.writer(policy);
    for (std::uint64_t n = 1; n <= 10; ++n) expected.push_back(numbered_record(n)), writer->append(expected.back());
    REQUIRE(wait_durable(*writer, 10));
    const auto full_at = std::filesystem::file_size(fixture.path) + 1000;
    FileSizeLimit limit(full_at);

    // Records of 300 bytes: the fourth batch cannot fit, and part of it lands before the error.
    std::uint64_t durable = 10;
    for (std::uint64_t n = 11; n <= 40 && !writer->is_stalled(); ++n) {
        expected.push_back(numbered_record(n, 300));
        writer->append(expected.back());
        wait_notified(*writer, [&] { return writer->is_stalled() || writer->take_durable() >= n; }, 5s);
    }
    REQUIRE(wait_notified(*writer, [&] { return writer->is_stalled(); }));
    durable = writer->take_durable();
    CHECK(durable < writer->last_sequence());
    CHECK_FALSE(writer->has_failed());
    CHECK(writer->stats().stalls == 1);
    CHECK(writer->failure().find("File too large") != std::string::npos);
    // The file holds whole records only: the partial write was cut back.
    {
        JournalReader reader(fixture.path);
        std::uint64_t read = 0;
        while (reader.next()) ++read;
        CHECK(reader.ending().kind == JournalEnding::Kind::clean);
        CHECK(read == durable);
        CHECK(std::filesystem::file_size(fixture.path) <= full_at);
    }
    // More records while stalled are held too, and nothing becomes durable.
    for (std::uint64_t n = 41; n <= 45; ++n) expected.push_back(numbered_record(n)), writer->append(expected.back());
    CHECK_FALSE(wait_notified(*writer, [&] { return writer->take_durable() > durable; }, 300ms));

    limit.lift();
    REQUIRE(wait_durable(*writer, writer->last_sequence()));
    CHECK_FALSE(writer->is_stalled());
    CHECK(writer->failure().empty());
    writer.reset();
    check_same(read_journal(fixture.path), expected);
}

TEST_CASE("a writer stalled past its memory bound fails for good", "[broker][journal][journal_writer]") {
    WriterFixture fixture;
    JournalWriterOptions options{FsyncPolicy::always, 100ms};
    options.max_stalled_bytes = 4096;
    JournalWriter writer(fixture.path, options, quiet_log());
    REQUIRE(wait_durable(writer, writer.append(numbered_record(1))));
    FileSizeLimit limit(std::filesystem::file_size(fixture.path) + 10);
    writer.append(numbered_record(2, 100));
    REQUIRE(wait_notified(writer, [&] { return writer.is_stalled(); }));
    for (std::uint64_t n = 3; n <= 20; ++n) writer.append(numbered_record(n, 400));
    REQUIRE(wait_notified(writer, [&] { return writer.has_failed(); }, 10s));
    CHECK_FALSE(writer.is_stalled());
    CHECK(writer.failure().find("while the disk is full") != std::string::npos);
}

}  // namespace
}  // namespace corsair::broker
