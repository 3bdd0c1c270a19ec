// Everything an operator can set on the broker's HTTP side (docs/http.md), with the documented
// defaults, and the flags that set them. Read on the main thread before anything starts.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include <CLI/CLI.hpp>

namespace corsair::http {

struct HttpOptions {
    // ADDR:PORT to listen on; empty: no HTTP at all. Port 0 picks a free port (read it back
    // from the ready line).
    std::string address = "127.0.0.1:5580";
    // One token per line with its role (docs/http.md §Tokens); reread on SIGHUP. Empty: no
    // tokens, which is refused on an address other than loopback unless `insecure`.
    std::string tokens_file;
    bool insecure = false;
    // Threads serving requests. A keep-alive connection or a long poll holds one while it lasts,
    // so this also bounds the connections served at once; more wait in a bounded backlog.
    std::size_t threads = 32;
    // Connections accepted and waiting for a thread; beyond it a connection gets 503 at once.
    std::size_t backlog = 256;
    // A request whose bytes stop coming for this long is dropped (slow clients); also how long
    // an idle keep-alive connection is kept.
    std::chrono::milliseconds read_timeout{5'000};
    // Longest `wait` a long poll (a claim, GET /api/v1/jobs/ID?wait=) may ask for.
    std::chrono::milliseconds max_wait{60'000};
};

// Adds --http, --http-tokens, --http-insecure, --http-threads, --http-backlog,
// --http-read-timeout and --http-max-wait to `app`.
void add_http_flags(CLI::App& app, HttpOptions& options);

// Whether `address` (HOST:PORT as given to --http) listens only on a loopback address
// (127.0.0.0/8, ::1, localhost).
bool is_loopback_address(const std::string& address);
// Splits ADDR:PORT ("127.0.0.1:5580", "[::1]:5580"); false when `address` is not that shape.
bool parse_http_address(const std::string& address, std::string& host, int& port);

}  // namespace corsair::http
