// The broker's ZAP handler (ZeroMQ RFC 27): one thread owning a REP socket bound at
// inproc://zeromq.zap.01 in the broker's context, which libzmq asks about every CURVE handshake
// on the broker's ROUTERs. A key in --allowed-keys gets in, with its public key as the
// connection's User-Id (the loop looks its role up per message, so a reload applies to
// connected peers too); any other key is refused before a single command gets through, counted,
// and logged once per key per minute.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <spdlog/logger.h>
#include <zmq.hpp>

#include "allowed_keys.hpp"
#include "corsair/broker/log_limiter.hpp"

namespace corsair::broker {

class ZapHandler {
public:
    // Loads `allowed_keys_dir` (throws protocol::KeyFileError), binds the ZAP endpoint and starts
    // the thread. Must exist before the ROUTERs bind and outlive them.
    ZapHandler(zmq::context_t& context, std::filesystem::path allowed_keys_dir, std::shared_ptr<spdlog::logger> log);
    ~ZapHandler();
    ZapHandler(const ZapHandler&) = delete;
    ZapHandler& operator=(const ZapHandler&) = delete;

    // Rereads the directory (SIGHUP). A directory that no longer loads keeps the keys in force and
    // logs why. Thread-safe.
    void reload();

    // The keys in force, and a number that changes with each successful reload, so that the loop
    // takes a new snapshot only when there is one. Thread-safe.
    std::shared_ptr<const AllowedKeys> keys() const;
    std::uint64_t generation() const noexcept { return generation_.load(std::memory_order_acquire); }
    // Handshakes refused: keys not in --allowed-keys (STATS auth_refusals).
    std::uint64_t refusals() const noexcept { return refusals_.load(std::memory_order_relaxed); }

private:
    void run(zmq::socket_t handler, zmq::socket_t stop);
    void answer(zmq::socket_t& handler);

    zmq::context_t& context_;
    std::filesystem::path dir_;
    std::shared_ptr<spdlog::logger> log_;
    mutable std::mutex mutex_;
    std::shared_ptr<const AllowedKeys> keys_;
    std::atomic<std::uint64_t> generation_{1};
    std::atomic<std::uint64_t> refusals_{0};
    LogLimiter refusal_log_;  // used by the thread only
    std::string stop_endpoint_;
    std::thread thread_;
};

}  // namespace corsair::broker
