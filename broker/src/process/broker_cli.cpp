#include "corsair/broker/broker_cli.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <limits>
#include <filesystem>

#include "corsair/protocol/duration.hpp"
#include "journal_directory.hpp"
#include "journal_error.hpp"
#include "journal_file.hpp"
#include "journal_salvage.hpp"

namespace corsair::broker {

namespace {

// A CLI11 option that reads a protocol duration ("250ms", "1s", "24h") into `target`.
CLI::Option* add_duration(CLI::App& app, const std::string& name, std::chrono::milliseconds& target,
                          const std::string& description) {
    auto* option = app.add_option_function<std::string>(
        name,
        [&target, name](const std::string& text) {
            auto parsed = protocol::parse_duration(text);
            if (!parsed) throw CLI::ValidationError(name, "not a duration (examples: 250ms, 1s, 2m, 24h): " + text);
            target = std::chrono::duration_cast<std::chrono::milliseconds>(*parsed);
        },
        description + " (default " + protocol::format_duration(target) + ")");
    option->type_name("DURATION");
    return option;
}

}  // namespace

void add_broker_flags(CLI::App& app, BrokerOptions& options, std::string& log_level, bool& salvage) {
    app.add_option("--producers", options.producer_endpoint, "endpoint producers connect to")
        ->capture_default_str()
        ->type_name("ENDPOINT");
    app.add_option("--workers", options.worker_endpoint, "endpoint workers connect to")
        ->capture_default_str()
        ->type_name("ENDPOINT");
    add_duration(app, "--heartbeat", options.heartbeat_interval,
                 "heartbeat interval, told to every worker; 10ms to 60s")
        ->check([](const std::string& text) -> std::string {
            auto parsed = protocol::parse_duration(text);
            if (parsed && (*parsed < protocol::kMinHeartbeatInterval || *parsed > protocol::kMaxHeartbeatInterval)) {
                return "heartbeat must be between 10ms and 60s";
            }
            return {};
        });
    app.add_option("--liveness", options.liveness, "missed heartbeats before a worker is declared dead")
        ->capture_default_str()
        ->check(CLI::Range(1, 100));
    app.add_option("--max-payload", options.max_payload_bytes,
                   "largest job payload or result accepted, in bytes, 1 to 1073741824 (0 is refused: no limit "
                   "would let one message take any amount of memory). Workers and producers are told it; a "
                   "larger SUBMIT gets ERROR payload_too_large, a larger result fails its job for good")
        ->capture_default_str()
        ->check(CLI::Range(std::size_t{1}, protocol::kMaxPayloadLimitBytes));
    add_duration(app, "--result-ttl", options.result_ttl,
                 "how long ended jobs' results are kept; 0 = no age limit (--result-memory still bounds them)");
    app.add_option("--result-memory", options.max_result_bytes,
                   "bytes of results kept at most; the oldest are dropped first (0 is refused: results would "
                   "grow without bound)")
        ->capture_default_str()
        ->check(CLI::Range(std::size_t{1}, std::numeric_limits<std::size_t>::max()));
    app.add_option("--max-queues", options.max_queues,
                   "most queues the broker holds; a SUBMIT, READY or QUEUE naming a new queue beyond it gets "
                   "ERROR too_many_queues (0 = no limit)")
        ->capture_default_str();
    app.add_option("--data-dir", options.data_dir,
                   "directory of the journal (created if missing, locked against a second broker); an empty "
                   "value keeps jobs in memory only")
        ->capture_default_str()
        ->type_name("DIR");
    app.add_option("--fsync", options.fsync,
                   "when ACCEPTED is sent: always = after the job is on disk (group commit); interval = once "
                   "written, synced every --fsync-interval (a power loss can lose that much); never = once "
                   "written, never synced (an OS crash can lose anything unsynced)")
        ->capture_default_str()
        ->check(CLI::IsMember({"always", "interval", "never"}));
    add_duration(app, "--fsync-interval", options.fsync_interval,
                 "with --fsync interval: longest wait before a sync, at least 1ms (0 is refused: for a sync "
                 "before every acknowledgement use --fsync always)")
        ->check([](const std::string& text) -> std::string {
            auto parsed = protocol::parse_duration(text);
            if (parsed && parsed->count() <= 0) return "--fsync-interval must be at least 1ms (or use --fsync always)";
            return {};
        });
    app.add_option("--compact-min-bytes", options.compact_min_bytes,
                   "compact the journal once it is this large and --compact-ratio times the estimated size of the "
                   "live state; 0 = no minimum size (the ratio alone decides)")
        ->capture_default_str();
    app.add_option("--compact-ratio", options.compact_ratio,
                   "compact when the journal is this many times the estimated size of the live state (pending, delayed, running and dead jobs, results within their TTL)")
        ->capture_default_str()
        ->check(CLI::Range(1.0, 1000.0));
    app.add_flag("--salvage", salvage,
                 "repair a damaged journal in --data-dir: keep every intact record, set the damaged file aside, "
                 "then exit");
    app.add_option("--log-level", log_level, "trace, debug, info, warn, error or off")
        ->capture_default_str()
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
}

int salvage_data_dir(const std::string& data_dir) {
    try {
        JournalDirectory directory(data_dir);  // locked: no broker may be using it
        const auto journal = directory.journal_path();
        if (!std::filesystem::exists(journal)) {
            std::fprintf(stderr, "corsair-broker: no journal at %s\n", journal.c_str());
            return 1;
        }
        const auto salvaged = std::filesystem::path(journal.string() + ".salvaged");
        std::filesystem::remove(salvaged);
        const auto report = salvage_journal(journal, salvaged);
        const auto damaged = std::filesystem::path(journal.string() + ".damaged-" + std::to_string(std::time(nullptr)));
        std::filesystem::rename(journal, damaged);
        std::filesystem::rename(salvaged, journal);
        sync_directory(directory.path());
        std::printf("salvaged %s: kept %llu records, skipped %llu bytes in %llu damaged regions; the damaged file "
                    "is kept as %s\n",
                    journal.c_str(), static_cast<unsigned long long>(report.records_kept),
                    static_cast<unsigned long long>(report.bytes_skipped),
                    static_cast<unsigned long long>(report.damaged_regions), damaged.c_str());
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "corsair-broker: salvage failed: %s\n", e.what());
        return 1;
    }
}

}  // namespace corsair::broker
