#include "corsair/broker/broker_cli.hpp"

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <limits>
#include <filesystem>
#include <string>
#include <vector>

#include "corsair/options/endpoint.hpp"
#include "corsair/options/flags.hpp"
#include "corsair/protocol/duration.hpp"
#include "corsair/protocol/stream.hpp"
#include "journal_directory.hpp"
#include "journal_error.hpp"
#include "journal_file.hpp"
#include "journal_salvage.hpp"
#include "corsair/protocol/text.hpp"

namespace corsair::broker {

namespace {

// A duration flag in the wording every program shares (corsair::options).
CLI::Option* add_duration(CLI::App& app, const std::string& name, std::chrono::milliseconds& target,
                          const std::string& description,
                          std::chrono::milliseconds min = std::chrono::milliseconds(0),
                          std::chrono::milliseconds max = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::microseconds(protocol::kMaxDurationMicroseconds))) {
    return options::add_duration_flag(app, name, target, description, min, max);
}

// --producers and --workers (ZeroMQ), and --direct: checked before the bind, so a typo is named
// with a hint.
CLI::Validator bind_endpoint_check(bool is_direct = false) {
    return CLI::Validator(
        [is_direct](std::string& text) -> std::string {
            if (auto problem = options::endpoint_problem(text, true)) return *problem;
            const bool names_direct = protocol::stream::is_direct_endpoint(text);
            if (is_direct && !names_direct) return "'" + text + "' is not a direct endpoint: write e.g. direct://127.0.0.1:5557";
            if (!is_direct && names_direct) return "'" + text + "' is for the direct transport: give it to --direct";
            return "";
        },
        "", "");
}

// --producers, --workers and the direct transport's --direct and --direct-spin.
void add_endpoint_flags(CLI::App& app, BrokerOptions& options) {
    app.add_option("--producers", options.producer_endpoint,
                   "endpoint producers (corsair, CORSAIR_PRODUCER_ENDPOINT) connect to")
        ->capture_default_str()
        ->type_name("ENDPOINT")
        ->check(bind_endpoint_check());
    app.add_option("--workers", options.worker_endpoint,
                   "endpoint workers (corsair-worker, CORSAIR_WORKER_ENDPOINT) connect to")
        ->capture_default_str()
        ->type_name("ENDPOINT")
        ->check(bind_endpoint_check());
    app.add_option("--direct", options.direct_endpoint,
                   "also serve producers and workers over the direct transport on this endpoint, e.g. "
                   "direct://127.0.0.1:5557 (they connect with --broker direct://HOST:PORT): one TCP connection read "
                   "by the broker's own loop, without ZeroMQ's I/O threads: the shortest round trip, and 1.4 to 2.1x the "
                   "jobs a second of ZeroMQ. No CURVE: refused together with --curve-secret-key. Off by default "
                   "(docs/performance.md, low-latency mode and stop 37)")
        ->type_name("ENDPOINT")
        ->check(bind_endpoint_check(true));
    add_duration(app, "--direct-spin", options.direct_spin,
                 "after a message over the direct transport (other than a heartbeat), poll without sleeping for "
                 "this long before waiting again: while jobs come closer together than this, the broker keeps one "
                 "core 100 % busy and a sequential job's round trip is shorter; idle, it costs nothing. 0 = off",
                 std::chrono::milliseconds(0), std::chrono::milliseconds(60'000));
}

// --heartbeat, --liveness and --idle-heartbeat-factor.
void add_heartbeat_flags(CLI::App& app, BrokerOptions& options) {
    add_duration(app, "--heartbeat", options.heartbeat_interval,
                 "heartbeat interval, told to every worker; each worker holding a job costs the broker a heartbeat "
                 "in and one out per interval, an idle one per idle interval (--idle-heartbeat-factor), so many "
                 "thousands of workers may want a longer one (docs/performance.md)",
                 std::chrono::duration_cast<std::chrono::milliseconds>(protocol::kMinHeartbeatInterval),
                 std::chrono::duration_cast<std::chrono::milliseconds>(protocol::kMaxHeartbeatInterval));
    app.add_option("--liveness", options.liveness, "missed heartbeats before a worker is declared dead")
        ->capture_default_str()
        ->check(CLI::Range(1, 100));
    app.add_option("--idle-heartbeat-factor", options.idle_heartbeat_factor,
                   "a worker holding no job heartbeats, and is heartbeated, every this many --heartbeat intervals "
                   "(at most 10m), and is declared dead after --liveness such intervals of silence; a job leased "
                   "to it brings it back to every interval at once. Cuts an idle fleet's cost to the broker by as "
                   "much; 1 = idle workers heartbeat as often as busy ones")
        ->capture_default_str()
        ->check(CLI::Range(1u, protocol::kMaxIdleHeartbeatFactor));
}

// What bounds memory: payloads, results, queues, in-flight submits, workers.
void add_limit_flags(CLI::App& app, BrokerOptions& options) {
    options::add_size_flag(app, "--max-payload", options.max_payload_bytes,
                           "largest job payload or result accepted, 1 byte to 1GiB (0 is refused: no limit would "
                           "let one message take any amount of memory). Workers and producers are told it; a larger "
                           "SUBMIT gets ERROR payload_too_large, a larger result fails its job for good",
                           1, protocol::kMaxPayloadLimitBytes);
    add_duration(app, "--result-ttl", options.result_ttl,
                 "how long ended jobs' results are kept; 0 = no age limit (--result-memory still bounds them)");
    options::add_size_flag(app, "--result-memory", options.max_result_bytes,
                           "most result bytes kept; the oldest are dropped first (0 is refused: results would "
                           "grow without bound)",
                           1, SIZE_MAX);
    app.add_option("--max-queues", options.max_queues,
                   "most queues the broker holds; a SUBMIT, READY or QUEUE naming a new queue beyond it gets "
                   "ERROR too_many_queues (0 = no limit)")
        ->capture_default_str();
    app.add_option("--max-in-flight", options.max_in_flight,
                   "most new jobs one producer connection may have waiting for their ACCEPTED (held for the "
                   "journal or for accept_within); one more SUBMIT gets ERROR too_many_in_flight (0 = no limit)")
        ->capture_default_str();
    app.add_option("--max-workers", options.max_workers,
                   "most workers connected at once (HTTP workers have their own limit); one more READY gets "
                   "ERROR too_many_workers and the worker retries later (0 = no limit)")
        ->capture_default_str();
}

// The journal (--data-dir, --fsync, compaction) and the drain at a stop.
void add_journal_flags(CLI::App& app, BrokerOptions& options) {
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
    options::add_size_flag(app, "--compact-min-bytes", options.compact_min_bytes,
                           "compact the journal once it is this large and --compact-ratio times the estimated size "
                           "of the live state; 0 = no minimum size (the ratio alone decides)",
                           0, SIZE_MAX);
    app.add_option("--compact-ratio", options.compact_ratio,
                   "compact when the journal is this many times the estimated size of the live state (pending, delayed, running and dead jobs, results within their TTL)")
        ->capture_default_str()
        ->check(CLI::Range(1.0, 1000.0));
    add_duration(app, "--drain-timeout", options.drain_timeout,
                 "on SIGTERM or SIGINT, stop handing out jobs and wait at most this long for the running ones to "
                 "end and be journaled; jobs still running then are re-adopted by the restarted broker. 0 = stop at "
                 "once; a second signal also stops at once");
}

// CURVE: both flags or neither.
void add_curve_flags(CLI::App& app, BrokerOptions& options) {
    auto* secret_key = app.add_option("--curve-secret-key", options.curve_secret_key_file,
                   "the broker's secret key file (`corsair keygen`): turns CURVE encryption and authentication on "
                   "for both endpoints; needs --allowed-keys (docs/security.md)")
        ->type_name("FILE")
        ->envname("CORSAIR_CURVE_SECRET_KEY");
    auto* allowed_keys = app.add_option("--allowed-keys", options.allowed_keys_dir,
                   "directory of the public key files of the clients let in, one per client, each with its role "
                   "(producer, worker, admin); reread on SIGHUP. Needs --curve-secret-key")
        ->type_name("DIR")
        ->envname("CORSAIR_ALLOWED_KEYS");
    secret_key->needs(allowed_keys);
    allowed_keys->needs(secret_key);
}

}  // namespace

void add_broker_flags(CLI::App& app, BrokerOptions& options, corsair::options::LogSettings& log, bool& salvage) {
    options::use_stable_help(app);
    options::add_version_flag(app, "corsair-broker");
    app.footer(std::string(options::kDurationHelp) + "\n" + options::kSizeHelp + "\n\n" + options::kExitCodeHelp);
    add_endpoint_flags(app, options);
    add_heartbeat_flags(app, options);
    add_limit_flags(app, options);
    add_journal_flags(app, options);
    add_curve_flags(app, options);
    app.add_flag("--salvage", salvage,
                 "repair a damaged journal in --data-dir: keep every intact record, set the damaged file aside, "
                 "then exit");
    corsair::options::add_log_flags(app, log);
}

namespace {

// The jobs a salvage may have left with an incomplete history, one per line (escaped, since the
// bytes came from a damaged file), so an operator can check each with `corsair status ID`.
void print_affected_ids(const std::vector<std::string>& ids) {
    if (ids.empty()) {
        std::printf("no job id was found in the damaged regions\n");
        return;
    }
    std::printf("%zu jobs may have lost changes (check each with `corsair status ID`):\n", ids.size());
    for (const auto& id : ids) std::printf("  %s\n", protocol::printable(id).c_str());
}

}  // namespace

int salvage_data_dir(const std::string& data_dir) {
    try {
        JournalDirectory directory(data_dir);  // locked: no broker may be using it
        const auto journal = directory.journal_path();
        if (!std::filesystem::exists(journal)) {
            std::fprintf(stderr, "corsair-broker: no journal at %s\n", journal.c_str());
            return options::exit_status(options::ExitCode::usage);
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
        print_affected_ids(report.affected_ids);
        return options::exit_status(options::ExitCode::ok);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "corsair-broker: salvage failed: %s\n", e.what());
        return options::exit_status(options::ExitCode::fatal);
    }
}

}  // namespace corsair::broker
