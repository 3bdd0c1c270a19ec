// The broker-wide counters STATS reports, under these names (docs/protocol.md §5.7). Owned by
// the broker's loop thread.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace corsair::broker {

// Broker-wide counters, reported by STATS under these names.
struct SchedulerCounters {
    std::uint64_t jobs_submitted = 0;
    std::uint64_t duplicate_submits = 0;
    std::uint64_t id_conflicts = 0;  // submits refused: their id names another queue's or payload's job
    std::uint64_t jobs_dispatched = 0;
    std::uint64_t jobs_done = 0;
    std::uint64_t jobs_failed = 0;     // ended failed: into the dead set
    std::uint64_t jobs_requeued = 0;   // taken back from a worker that died or left
    std::uint64_t jobs_cancelled = 0;
    std::uint64_t jobs_delayed = 0;    // submitted with a delay or a run_at time
    std::uint64_t unique_hits = 0;     // submits answered with the live job holding their unique key
    std::uint64_t attempts_failed = 0;     // FAIL, timeout or worker death: each failed attempt
    std::uint64_t attempts_timed_out = 0;
    std::uint64_t attempts_not_started = 0;  // FAIL not_started: given back uncounted, the worker's fault
    std::uint64_t recalls_sent = 0;  // RECALLs for jobs held ready while another worker sat idle
    std::uint64_t jobs_recalled = 0;  // ... answered by a FAIL not_started: the job went to another worker
    std::uint64_t retries_scheduled = 0;   // failed attempts that will be tried again after a backoff
    std::uint64_t dead_retried = 0;
    std::uint64_t dead_purged = 0;
    std::uint64_t dead_evicted = 0;        // over a queue's dead_max_count or dead_max_age
    std::uint64_t queue_full_refusals = 0;
    std::uint64_t queue_limit_refusals = 0;  // requests that would have created a queue past --max-queues
    std::uint64_t payload_refusals = 0;      // SUBMITs refused: payload over --max-payload
    std::uint64_t results_too_large = 0;     // DONEs over --max-payload, ended as a permanent FAIL
    std::uint64_t progress_reports = 0;
    std::uint64_t stale_completions = 0;  // DONE/FAIL from a worker not holding the current lease
    std::uint64_t workers_joined = 0;
    std::uint64_t workers_dead = 0;        // declared dead: silent past liveness, or unreachable
    std::uint64_t workers_disconnected = 0;
    std::uint64_t malformed_messages = 0;
    std::uint64_t unexpected_commands = 0;
    std::uint64_t results_undeliverable = 0;  // RESULT for a producer connection that is gone
    std::uint64_t results_expired = 0;
    std::uint64_t accepts_folded = 0;  // ACCEPTEDs left out: the job's RESULT went first (accept_within_ms)
    std::uint64_t storage_refusals = 0;  // requests refused with storage_unavailable
    std::uint64_t storage_stalls = 0;    // times the journal could not be written (a full disk)
    std::uint64_t storage_unavailable = 0;  // not a count: 1 while the journal cannot be written
    std::uint64_t leases_readopted = 0;  // leases a worker announced again after a restart or reconnect
    std::uint64_t workers_refused = 0;   // READYs refused: another connected worker has that name
    std::uint64_t auth_refusals = 0;  // CURVE handshakes refused: keys not in --allowed-keys (the ZAP handler's)
    std::uint64_t forbidden_commands = 0;  // commands refused: the sender's CURVE key's role may not send them
    std::uint64_t in_flight_refusals = 0;  // SUBMITs refused: their connection was at --max-in-flight
    std::uint64_t worker_limit_refusals = 0;  // READYs refused: --max-workers workers were connected
    // Direct transport connections closed for a bad greeting, a malformed stream or one too many (the DirectServer's)
    std::uint64_t direct_connections_dropped = 0;

    std::map<std::string, std::uint64_t> to_map() const;
};

}  // namespace corsair::broker
