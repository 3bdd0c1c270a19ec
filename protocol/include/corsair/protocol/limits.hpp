// Every limit the wire imposes, with its default. docs/protocol.md §14 names each one.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace corsair::protocol {

// Protocol signature and version carried in frame 0 of every message.
inline constexpr char kSignature[3] = {'C', 'S', 'R'};
inline constexpr std::uint8_t kVersion = 1;

// A header frame is a small msgpack map; anything larger is hostile or a bug.
inline constexpr std::size_t kMaxHeaderBytes = 64 * 1024;
// Default cap on a job's payload and on a result (the broker's --max-payload changes it).
inline constexpr std::size_t kDefaultMaxPayloadBytes = 8 * 1024 * 1024;
// The largest --max-payload a broker takes.
inline constexpr std::size_t kMaxPayloadLimitBytes = std::size_t{1} << 30;
// Bytes allowed on top of the payload in one ZeroMQ message (ZMQ_MAXMSGSIZE = payload + this).
inline constexpr std::size_t kFrameOverheadBytes = kMaxHeaderBytes;

// ZMQ_MAXMSGSIZE of the broker's sockets (protocol.md §2). Never below the default limit: a peer
// that does not know a lowered limit still reaches the broker and is answered ERROR
// payload_too_large, where libzmq would cut its connection without a word.
inline constexpr std::size_t broker_max_message_bytes(std::size_t max_payload_bytes) noexcept {
    return std::max(max_payload_bytes, kDefaultMaxPayloadBytes) + kFrameOverheadBytes;
}
// ZMQ_MAXMSGSIZE of a producer's or a worker's socket: any limit a broker announces fits, so a
// client never has to reopen its connection after learning it.
inline constexpr std::size_t kClientMaxMessageBytes = kMaxPayloadLimitBytes + kFrameOverheadBytes;

inline constexpr std::size_t kMaxJobIdBytes = 128;
inline constexpr std::size_t kMaxQueueNameBytes = 128;
inline constexpr std::size_t kMaxWorkerNameBytes = 256;
// A CURVE key's name: its file name in the broker's --allowed-keys (docs/security.md).
inline constexpr std::size_t kMaxKeyNameBytes = 255;
inline constexpr std::size_t kMaxQueuesPerWorker = 64;
inline constexpr std::size_t kMaxErrorTextBytes = 8 * 1024;
inline constexpr std::uint32_t kMaxCapacity = 10'000;
// Most jobs a worker may hold ready beyond its capacity (READY's `prefetch`, docs/protocol.md §11).
inline constexpr std::uint32_t kMaxPrefetch = 64;
// Most leases one READY's `holding` names (the header's own bound usually comes first).
inline constexpr std::size_t kMaxHeldLeases = kMaxCapacity;

// Job lifecycle (docs/jobs.md). Ranges the decoder enforces, and the broker's defaults.
inline constexpr std::int32_t kMinPriority = -1000;
inline constexpr std::int32_t kMaxPriority = 1000;
inline constexpr std::uint32_t kMaxAttemptsLimit = 100;           // largest max_attempts
inline constexpr std::uint64_t kMaxTimeoutMs = 7ULL * 24 * 3'600'000;      // 7 days
inline constexpr std::uint64_t kMaxDelayMs = 365ULL * 24 * 3'600'000;      // 365 days
inline constexpr std::uint64_t kMaxBackoffMs = 24ULL * 3'600'000;          // 24 hours
inline constexpr std::uint64_t kMaxDeadAgeMs = 365ULL * 24 * 3'600'000;    // 365 days
inline constexpr std::size_t kMaxUniqueKeyBytes = 128;
inline constexpr std::uint64_t kMaxAcceptWithinMs = 60'000;  // longest a SUBMIT may let ACCEPTED wait
inline constexpr std::size_t kMaxProgressMessageBytes = 256;
inline constexpr std::size_t kMaxHistoryErrorBytes = 400;  // each attempt's error in a job's history
inline constexpr std::uint32_t kMaxDeadListed = 10'000;    // most jobs one DEAD reply lists
inline constexpr std::uint32_t kMaxListed = 10'000;        // most jobs one LIST_REPLY lists
inline constexpr std::uint32_t kMaxBatchEntries = 1024;    // most entries in one JOBS, DONES, RESULTS or SUBMITS
inline constexpr std::size_t kMaxHistogramBounds = 64;     // most bucket bounds of one STATS_REPLY histogram
// Largest packed payload frame of a batch (docs/protocol.md §3.1): its sizes and every payload
// of the batch in one frame. A sender packs only a batch that fits and sends a larger one with a
// frame per payload, which moves big payloads without copying them.
inline constexpr std::size_t kMaxPackedFrameBytes = 256 * 1024;

inline constexpr std::uint32_t kDefaultMaxAttempts = 3;
inline constexpr std::chrono::milliseconds kDefaultBackoff{1000};
inline constexpr std::chrono::milliseconds kDefaultBackoffMax{600'000};
inline constexpr std::uint32_t kDefaultBackoffJitterPct = 20;
inline constexpr std::uint64_t kDefaultMaxQueueLength = 1'000'000;  // pending + delayed; 0 = no limit
// Broker-wide bounds on what peers may hold at once (docs/jobs.md, Limits); 0 = no limit. The
// in-flight default sits far above any producer window (ProducerOptions::window, corsair-bench).
inline constexpr std::uint64_t kDefaultMaxInFlightSubmits = 100'000;  // per producer connection
inline constexpr std::uint64_t kDefaultMaxWorkers = 10'000;          // connected workers
inline constexpr std::uint64_t kDefaultDeadMaxCount = 10'000;  // 0 = no limit (dead_max_age still applies)
inline constexpr std::chrono::milliseconds kDefaultDeadMaxAge{7LL * 24 * 3'600'000};

// Heartbeat defaults: a peer silent for kDefaultLiveness intervals is dead.
inline constexpr std::chrono::milliseconds kDefaultHeartbeatInterval{1000};
inline constexpr std::uint32_t kDefaultLiveness = 3;
inline constexpr std::chrono::milliseconds kMinHeartbeatInterval{10};
inline constexpr std::chrono::milliseconds kMaxHeartbeatInterval{60'000};
// A worker holding no lease heartbeats every HEARTBEAT `idle_interval_ms` instead (READY
// `idle_heartbeat`, docs/protocol.md §9): at most this long. The broker's default is
// kDefaultIdleHeartbeatFactor intervals.
inline constexpr std::chrono::milliseconds kMaxIdleHeartbeatInterval{600'000};
inline constexpr std::uint32_t kDefaultIdleHeartbeatFactor = 10;
inline constexpr std::uint32_t kMaxIdleHeartbeatFactor = 100;

// Default endpoints of the broker: loopback only, so that a broker started without thought is not
// open to the network; other hosts need an address given on purpose (docs/security.md).
inline constexpr const char* kDefaultProducerEndpoint = "tcp://127.0.0.1:5555";
inline constexpr const char* kDefaultWorkerEndpoint = "tcp://127.0.0.1:5556";

}  // namespace corsair::protocol
