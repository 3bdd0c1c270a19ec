// HttpServer: the broker's HTTP side (docs/http.md): /metrics, /health, /ready, the JSON API
// under /api/v1, jobs and workers over HTTP, and the dashboard at /. It is a client of the
// broker's loop like any other: each of its threads reaches the loop only through the protocol,
// over the broker's inproc endpoints, so HTTP can do nothing the protocol cannot and every rule
// (leases, fencing, durability before acknowledgement, limits) holds for it unchanged.
// Owned by the broker's main thread; serves on threads of its own until destroyed.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <spdlog/logger.h>
#include <zmq.hpp>

#include "corsair/http/http_options.hpp"

namespace corsair::http {

// How the HTTP side reaches the broker's loop, and the broker settings it must mirror.
struct BrokerLink {
    std::string producer_endpoint;  // the producer ROUTER's inproc endpoint
    std::string worker_endpoint;    // the worker ROUTER's inproc endpoint
    std::chrono::milliseconds heartbeat_interval{1000};
    std::uint32_t liveness = 3;
    std::size_t max_payload_bytes = 0;
};

class HttpServer {
public:
    // Reads the token file, binds options.address and starts serving. /ready answers 503 until
    // set_ready(true). Throws std::invalid_argument naming the flag for a setting that cannot
    // work (a bad token file; a non-loopback address without tokens or --http-insecure), and
    // std::runtime_error naming the address when it cannot be bound.
    HttpServer(zmq::context_t& context, HttpOptions options, BrokerLink link, std::shared_ptr<spdlog::logger> log);
    // Stops accepting, ends the long polls, joins every thread; HTTP workers' leases are left to
    // the broker's liveness rules, as a worker process that stops.
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    // How many ZeroMQ sockets the HTTP side may open in the broker's context: one producer
    // session per request thread, and one worker connection per HTTP lease or claim (at most
    // 1,024). libzmq's default of 1,023 per context would refuse the last ones with EMFILE.
    static std::size_t zmq_sockets_needed(const HttpOptions& options) noexcept;

    // The address as bound, the port resolved: "127.0.0.1:41234".
    const std::string& bound_address() const noexcept;
    // Thread-safe: whether the broker has recovered its journal and bound its sockets (and is not
    // stopping); /ready tells it.
    void set_ready(bool is_ready) noexcept;
    // Thread-safe: rereads --http-tokens (SIGHUP). A bad file is logged and the tokens in use stay.
    void reload_tokens();

private:
    class Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace corsair::http
