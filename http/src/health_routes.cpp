// GET /health and GET /ready: open to all, so that a load balancer or a supervisor needs no token.
#include "corsair/producer/producer.hpp"
#include "corsair/options/flags.hpp"
#include "http_context.hpp"
#include "route_groups.hpp"

namespace corsair::http {

namespace {

// The loop answers STATS between two turns: an answer this soon says it turns.
constexpr std::chrono::milliseconds kLoopAnswerWithin{2000};

std::uint64_t counter(const protocol::StatsReply& stats, const std::string& name) {
    const auto found = stats.counters.find(name);
    return found == stats.counters.end() ? 0 : found->second;
}

void answer_health(HttpContext& context, httplib::Response& response) {
    const auto http_uptime = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                                   context.started);
    if (!context.has_been_ready) {
        send_json(response, 503,
                  {{"status", "starting"},
                   {"message", "the broker is recovering its journal and binding its sockets"},
                   {"version", options::kVersion},
                   {"uptime_ms", http_uptime.count()}});
        return;
    }
    protocol::StatsReply stats;
    try {
        stats = broker_session().stats(kLoopAnswerWithin);
    } catch (const producer::ProducerError& error) {
        send_json(response, 503,
                  {{"status", "stalled"},
                   {"message", "the broker's loop did not answer within 2s: " + std::string(error.what())},
                   {"version", options::kVersion},
                   {"uptime_ms", http_uptime.count()}});
        return;
    }
    const auto done = counter(stats, "jobs_done");
    const auto failed = counter(stats, "jobs_failed");
    nlohmann::json body{{"status", context.is_ready && !context.is_stopping ? "ok" : "stopping"},
                        {"version", stats.version.empty() ? std::string(options::kVersion) : stats.version},
                        {"uptime_ms", stats.uptime_ms},
                        {"jobs_processed", done + failed},
                        {"jobs_done", done},
                        {"jobs_failed", failed},
                        {"storage_available", counter(stats, "storage_unavailable") == 0},
                        {"broker_instance", stats.broker_instance == 0 ? nlohmann::json() : nlohmann::json(std::to_string(stats.broker_instance))},
                        {"last_job_ended_at_ms", stats.last_job_ended_at_ms ? nlohmann::json(*stats.last_job_ended_at_ms)
                                                                            : nlohmann::json()}};
    send_json(response, 200, body);
}

}  // namespace

void add_health_routes(httplib::Server& server, HttpContext& context) {
    add_route(server, context, "GET", "/health", kOpen,
              [&context](const httplib::Request&, httplib::Response& response) { answer_health(context, response); });
    add_route(server, context, "GET", "/ready", kOpen, [&context](const httplib::Request&, httplib::Response& response) {
        const bool is_ready = context.is_ready && !context.is_stopping;
        send_json(response, is_ready ? 200 : 503,
                  {{"ready", is_ready},
                   {"message", is_ready ? "the journal is recovered and the sockets are bound"
                                        : "the broker is starting (recovering its journal, binding) or stopping"}});
    });
}

}  // namespace corsair::http
