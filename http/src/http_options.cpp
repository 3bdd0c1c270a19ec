#include "corsair/http/http_options.hpp"

#include <arpa/inet.h>

#include "corsair/options/flags.hpp"

namespace corsair::http {

namespace {

// "HOST:PORT", "[::1]:PORT" or ":PORT" split into host and port; false when it is none of them.
bool split_address(const std::string& address, std::string& host, int& port) {
    const auto colon = address.rfind(':');
    if (colon == std::string::npos || colon + 1 == address.size()) return false;
    host = address.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    const auto digits = address.substr(colon + 1);
    if (digits.size() > 5 || digits.find_first_not_of("0123456789") != std::string::npos) return false;
    port = std::stoi(digits);
    return port <= 65535 && !host.empty();
}

}  // namespace

bool parse_http_address(const std::string& address, std::string& host, int& port) {
    return split_address(address, host, port);
}

bool is_loopback_address(const std::string& address) {
    std::string host;
    int port = 0;
    if (!split_address(address, host, port)) return false;
    if (host == "localhost") return true;
    in_addr v4{};
    if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
    in6_addr v6{};
    if (::inet_pton(AF_INET6, host.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
    return false;
}

void add_http_flags(CLI::App& app, HttpOptions& options) {
    app.add_option("--http", options.address,
                   "ADDR:PORT of the HTTP API, /metrics, /health and the dashboard (docs/http.md); port 0 picks a "
                   "free one; an empty value turns HTTP off. Another address than loopback needs --http-tokens "
                   "(or --http-insecure)")
        ->capture_default_str()
        ->type_name("ADDR:PORT")
        ->check(CLI::Validator(
            [](std::string& text) -> std::string {
                std::string host;
                int port = 0;
                if (text.empty() || split_address(text, host, port)) return {};
                return "'" + text + "' is not ADDR:PORT (e.g. 127.0.0.1:5580, 0.0.0.0:5580, [::1]:5580)";
            },
            "", ""));
    app.add_option("--http-tokens", options.tokens_file,
                   "file of HTTP tokens, one per line: ROLE TOKEN (roles admin, producer, worker); once given, "
                   "every request but /health and /ready needs `Authorization: Bearer TOKEN`. Reread on SIGHUP")
        ->type_name("FILE");
    app.add_flag("--http-insecure", options.insecure,
                 "allow --http on an address other than loopback without --http-tokens: anyone who reaches the port "
                 "can then submit jobs, take them and purge queues");
    app.add_option("--http-threads", options.threads,
                   "threads serving HTTP requests; a keep-alive connection or a long poll holds one while it lasts")
        ->capture_default_str()
        ->check(CLI::Range(2, 4096));
    app.add_option("--http-backlog", options.backlog,
                   "connections waiting for an HTTP thread; beyond it a connection is answered 503 at once")
        ->capture_default_str()
        ->check(CLI::Range(1, 100000));
    options::add_duration_flag(app, "--http-read-timeout", options.read_timeout,
                               "drop an HTTP connection whose request stops arriving for this long (slow clients), "
                               "or that stays idle between keep-alive requests",
                               std::chrono::milliseconds(100), std::chrono::minutes(10));
    options::add_duration_flag(app, "--http-max-wait", options.max_wait,
                               "longest wait a long poll may ask for (POST .../claim, GET /api/v1/jobs/ID?wait=)",
                               std::chrono::milliseconds(0), std::chrono::hours(1));
}

}  // namespace corsair::http
