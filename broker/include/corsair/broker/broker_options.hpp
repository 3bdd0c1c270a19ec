// Everything an operator can set on the broker, with the documented defaults (docs/broker.md).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "corsair/protocol/limits.hpp"

namespace corsair::broker {

struct BrokerOptions {
    std::string producer_endpoint = protocol::kDefaultProducerEndpoint;
    std::string worker_endpoint = protocol::kDefaultWorkerEndpoint;
    std::chrono::milliseconds heartbeat_interval = protocol::kDefaultHeartbeatInterval;
    std::uint32_t liveness = protocol::kDefaultLiveness;
    // A worker holding no lease (and saying READY `idle_heartbeat`) heartbeats, and is heartbeated,
    // every this many intervals, at most kMaxIdleHeartbeatInterval (protocol.md §9): an idle
    // fleet costs the broker a tenth. 1: as often as a busy worker.
    std::uint32_t idle_heartbeat_factor = protocol::kDefaultIdleHeartbeatFactor;
    std::size_t max_payload_bytes = protocol::kDefaultMaxPayloadBytes;
    // Ended jobs' results are kept this long for `corsair result`, within max_result_bytes
    // (0 = no age limit; max_result_bytes, at least 1, always bounds them).
    std::chrono::milliseconds result_ttl = std::chrono::hours(24);
    std::size_t max_result_bytes = 256 * 1024 * 1024;
    // Most queues the broker holds; a SUBMIT, READY or QUEUE naming a new queue beyond it is
    // refused (too_many_queues), so that queue names from the network cannot grow memory without
    // bound. 0 = no limit.
    std::size_t max_queues = 10'000;
    // Most SUBMITs one producer connection may have unacknowledged at once (ACCEPTED held for the
    // journal or for accept_within_ms); the next new job is refused (too_many_in_flight), so that
    // one connection cannot hold acknowledgements without bound. 0 = no limit.
    std::uint64_t max_in_flight = protocol::kDefaultMaxInFlightSubmits;
    // Most workers connected at once (in-process HTTP workers not counted); a READY of a new worker
    // beyond it is refused (too_many_workers). 0 = no limit.
    std::uint64_t max_workers = protocol::kDefaultMaxWorkers;
    // SIGTERM/SIGINT drain the broker: no job is handed out, the leases out may still end, for at
    // most this long; 0 stops at once. A second signal stops at once too (docs/durability.md).
    std::chrono::milliseconds drain_timeout{30'000};
    // Extra endpoints the producer and worker ROUTERs also bind (empty: none): the HTTP side's
    // inproc way in, so that it reaches the loop only through the protocol (docs/http.md).
    std::string inproc_producer_endpoint;
    std::string inproc_worker_endpoint;
    // The direct transport (docs/protocol.md §2.1), for the low-latency mode: producers and
    // workers that connect with direct://HOST:PORT. Empty: off. Refused together with CURVE.
    std::string direct_endpoint;
    // After a message over the direct transport, the loop polls without blocking for this long
    // before it waits again: a core kept busy while jobs flow, for a shorter round trip. 0: off.
    std::chrono::milliseconds direct_spin{0};
    // CURVE (docs/security.md): the broker's own secret certificate, and the directory of the
    // public certificates it lets in, each with its role. Both or neither: empty = CURVE off.
    std::string curve_secret_key_file;
    std::string allowed_keys_dir;
    // Seeds the retry backoff's jitter; 0 draws a random seed at start.
    std::uint64_t random_seed = 0;

    // The journal (docs/durability.md). Empty data_dir: jobs live in memory only.
    std::string data_dir = "corsair-data";
    std::string fsync = "always";  // always | interval | never
    std::chrono::milliseconds fsync_interval{100};
    // Compact once the journal is over this size and over compact_ratio x the estimated size of
    // the live state (Scheduler::estimated_snapshot_bytes).
    std::size_t compact_min_bytes = 64 * 1024 * 1024;
    double compact_ratio = 4.0;

    std::chrono::milliseconds idle_heartbeat_interval() const noexcept {
        return std::min(heartbeat_interval * idle_heartbeat_factor,
                        std::chrono::duration_cast<std::chrono::milliseconds>(protocol::kMaxIdleHeartbeatInterval));
    }
};

}  // namespace corsair::broker
