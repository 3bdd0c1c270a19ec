// Settings of one Worker, filled from flags in main or by a custom worker's own code.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "corsair/protocol/curve.hpp"
#include "corsair/protocol/limits.hpp"

namespace corsair::worker {

struct WorkerOptions {
    std::string broker_endpoint;  // e.g. tcp://127.0.0.1:5556
    std::string name;             // shown in the broker's stats; empty means "<hostname>:<pid>"
    std::uint32_t capacity = 1;   // jobs held at once: the credit announced in READY
    // Threads that run handlers; 0 means one per unit of capacity (what blocking handlers, such
    // as commands, need). More than `capacity` are not started: the extra ones would run jobs
    // held ready (prefetch), past the capacity the worker announced (protocol.md §11).
    std::uint32_t handler_threads = 0;
    // Run handlers on the I/O thread itself, with no hand-off to a handler thread: for handlers
    // that return within microseconds (the built-in echo and noop, an in-memory computation).
    // While a handler runs, heartbeats wait, so a slow one would get the worker declared dead.
    bool runs_handlers_inline = false;
    // Jobs per message both ways (protocol.md §5.25, §5.26): the most jobs the broker may send in
    // one JOBS (READY `batch`, at most the capacity plus the prefetch), and the most DONEs sent as one DONES once
    // the broker allows it. A DONES goes out when the jobs at hand are done, never held back to
    // fill up. 0 or 1: one JOB and one DONE per message.
    std::uint32_t batch = 64;
    // Jobs held ready beyond `capacity` (READY `prefetch`, protocol.md §11): the next jobs are
    // already here when a running one ends, instead of a round trip to the broker later, and
    // come and go several to a message (JOBS, DONES). The
    // broker asks a ready job back (RECALL) when another worker of its queue sits idle, so a long
    // job never keeps a short one waiting behind it. 0: never more jobs than `capacity`.
    // A ceiling: the broker leases as many as this worker gets through in 10 ms, at least one,
    // so long jobs are held ready one at a time whatever this says. 32: at capacity 1 and short
    // jobs, about 120k jobs/s against 54k with 8 and 16k with 1 (docs/performance.md).
    std::uint32_t prefetch = 32;
    // Over the direct transport (a direct:// broker endpoint, the low-latency mode): after a
    // message from the broker, the I/O thread polls without sleeping for this long before it
    // waits again, so that the next job is read at once. One core at 100 % while jobs come
    // closer together than this; nothing when idle. 0: off. Ignored over ZeroMQ, where the
    // socket's own I/O thread sleeps anyway (docs/performance.md, "The low-latency mode").
    std::chrono::milliseconds direct_spin{0};
    // Used until the broker's first HEARTBEAT says otherwise.
    std::chrono::milliseconds heartbeat_interval = protocol::kDefaultHeartbeatInterval;
    std::uint32_t liveness = protocol::kDefaultLiveness;
    // Backoff between reconnects (src/reconnect_backoff.hpp): starts at reconnect_min and doubles
    // up to the broker's liveness window (interval x liveness, 3 s at the defaults), never past
    // reconnect_max; each wait is then jittered down by up to half. It resets once the broker answers.
    std::chrono::milliseconds reconnect_min{1000};
    std::chrono::milliseconds reconnect_max{32000};
    // How long request_drain() waits for in-flight jobs before disconnecting anyway; 0 = no limit.
    std::chrono::milliseconds drain_timeout{30000};
    // CURVE (docs/security.md): the broker's public key and this worker's key pair, e.g. from
    // protocol::CurveClientKeys::from_files(). Empty: no CURVE.
    protocol::CurveClientKeys curve;
};

// "<hostname>:<pid>", the default worker name.
std::string default_worker_name();

}  // namespace corsair::worker
