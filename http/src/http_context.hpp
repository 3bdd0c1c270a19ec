// What every HTTP route shares: the options, the broker link, the counters, readiness and the
// tokens, plus the one way a route is added (add_route: the token check, the broker session,
// errors as JSON). Thread-safe; owned by HttpServer, read by its request threads.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

#include <httplib.h>
#include <nlohmann/json.hpp>
#include <spdlog/logger.h>

#include "access_tokens.hpp"
#include "corsair/http/http_options.hpp"
#include "corsair/http/http_server.hpp"
#include "corsair/protocol/error_code.hpp"

namespace corsair::producer {
class Producer;
}

namespace corsair::http {

class LeaseKeeper;

// Counted since the broker started; shown in /metrics as corsair_http_*_total.
struct HttpCounters {
    std::atomic<std::uint64_t> requests{0};
    std::atomic<std::uint64_t> bad_requests{0};     // answered 4xx for the request itself (not 401/403/404 of a job)
    std::atomic<std::uint64_t> auth_refusals{0};    // 401 and 403
    std::atomic<std::uint64_t> overload_refusals{0};  // 503: every thread busy and the backlog full
    std::atomic<std::uint64_t> server_errors{0};    // 5xx other than overload and the broker's refusals
};

// A request the route refuses: its HTTP status and the protocol's (or HTTP's own) error code.
class HttpError : public std::runtime_error {
public:
    HttpError(int status, std::string code, const std::string& message, std::string id = {})
        : std::runtime_error(message), status_(status), code_(std::move(code)), id_(std::move(id)) {}
    int status() const noexcept { return status_; }
    const std::string& code() const noexcept { return code_; }
    const std::string& id() const noexcept { return id_; }

private:
    int status_;
    std::string code_;
    std::string id_;
};

// 400 bad_request naming the culprit, e.g. bad_request("priority must be an integer").
inline HttpError bad_request(const std::string& message) { return HttpError(400, "bad_request", message); }

// The queue name in the route's capture `match`, checked against the protocol's grammar (400
// naming it otherwise), and a job id likewise.
std::string queue_in_path(const httplib::Request& request, std::size_t match = 1);
std::string job_in_path(const httplib::Request& request, std::size_t match = 1);

// The HTTP status that fits a protocol error code (docs/http.md §Errors).
int http_status_of(protocol::ErrorCode code) noexcept;

// The error document {"error": CODE, "message": ..., "id": ...} with `status`.
void send_error(httplib::Response& response, int status, std::string_view code, std::string_view message,
                std::string_view id = {});
void send_json(httplib::Response& response, int status, const nlohmann::json& body);

// Which tokens may use a route. `open`: no token needed (/health, /ready).
struct Access {
    bool is_open = false;
    bool admin = true;
    bool producer = false;
    bool worker = false;
};
inline constexpr Access kOpen{true, true, true, true};
inline constexpr Access kAdminOnly{false, true, false, false};
inline constexpr Access kProducers{false, true, true, false};
inline constexpr Access kWorkers{false, true, false, true};
inline constexpr Access kAnyRole{false, true, true, true};

// The bearer token of `request`: the Authorization header, else the dashboard's cookie
// corsair_token; empty when neither is there.
std::string presented_token(const httplib::Request& request);

// The thread's own connection to the broker's producer endpoint: made by the request thread
// that uses it, when that thread starts, and closed when it ends (SessionPool).
producer::Producer& broker_session();

struct HttpContext {
    HttpOptions options;
    BrokerLink link;
    std::shared_ptr<spdlog::logger> log;
    HttpCounters counters;
    std::atomic<bool> is_ready{false};
    std::atomic<bool> has_been_ready{false};  // the broker came up; not ready since means stopping
    std::atomic<bool> is_stopping{false};
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
    LeaseKeeper* lease_keeper = nullptr;

    // The tokens in force; null when --http-tokens is not given (every request is let in).
    std::shared_ptr<const AccessTokens> tokens() const {
        std::lock_guard lock(tokens_mutex);
        return tokens_in_force;
    }
    void set_tokens(std::shared_ptr<const AccessTokens> tokens) {
        std::lock_guard lock(tokens_mutex);
        tokens_in_force = std::move(tokens);
    }

    mutable std::mutex tokens_mutex;
    std::shared_ptr<const AccessTokens> tokens_in_force;
};

using RouteHandler = std::function<void(const httplib::Request&, httplib::Response&)>;

// Registers `handler` for `method` (GET, POST, PUT, PATCH, DELETE) and `pattern` (cpp-httplib's regex),
// behind the token check of `access`. The handler may throw HttpError (answered as it says),
// producer::ProducerError (the broker's refusal, or a timeout: 504) or nlohmann's exceptions
// (400); anything else is a 500, logged.
void add_route(httplib::Server& server, HttpContext& context, const std::string& method, const std::string& pattern,
               Access access, RouteHandler handler);

}  // namespace corsair::http
