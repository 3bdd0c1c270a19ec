// /api/v1 for what `corsair` does besides submitting: stats, queues and their settings, workers,
// the dead set, job listing, cancel, retry, purge, pause, resume, clear and delete. Every answer
// is a JSON document in the shape `corsair ... --json` prints (cli_output.hpp, docs/cli.md).
#include "cli_output.hpp"
#include "corsair/producer/producer.hpp"
#include "corsair/protocol/limits.hpp"
#include "corsair/protocol/text.hpp"
#include "http_context.hpp"
#include "json_body.hpp"
#include "route_groups.hpp"

namespace corsair::http {

namespace cli = producer::cli;

namespace {

// ?name=N, an integer within [min, max], or `fallback`.
std::uint64_t count_param(const httplib::Request& request, const std::string& name, std::uint64_t fallback,
                          std::uint64_t min, std::uint64_t max) {
    if (!request.has_param(name.c_str())) return fallback;
    const auto text = request.get_param_value(name.c_str());
    std::uint64_t value = 0;
    const bool is_number = !text.empty() && text.size() <= 19 && text.find_first_not_of("0123456789") == std::string::npos;
    if (is_number) value = std::stoull(text);
    if (!is_number || value < min || value > max) {
        throw bad_request("?" + name + " must be an integer from " + std::to_string(min) + " to " + std::to_string(max));
    }
    return value;
}

bool flag_param(const httplib::Request& request, const std::string& name) {
    if (!request.has_param(name.c_str())) return false;
    const auto text = request.get_param_value(name.c_str());
    if (text.empty() || text == "true" || text == "1") return true;
    if (text == "false" || text == "0") return false;
    throw bad_request("?" + name + " must be true or false");
}

protocol::ListedState listed_state_param(const httplib::Request& request) {
    const auto text = request.has_param("state") ? request.get_param_value("state") : std::string("pending");
    for (auto state : {protocol::ListedState::pending, protocol::ListedState::delayed, protocol::ListedState::running,
                       protocol::ListedState::failed}) {
        if (text == protocol::to_string(state)) return state;
    }
    throw bad_request("?state must be pending, delayed, running or failed");
}

// The queue's entry of STATS (`corsair stats --json`'s shape), or 404 unknown_queue.
nlohmann::json queue_entry(const std::string& queue) {
    const auto stats = cli::stats_json(broker_session().stats());
    for (const auto& entry : stats["queues"]) {
        if (entry["queue"] == cli::json_text(queue)) return entry;
    }
    throw HttpError(404, "unknown_queue", "no queue " + protocol::quoted(queue), queue);
}

void add_stats_routes(httplib::Server& server, HttpContext& context) {
    add_route(server, context, "GET", "/api/v1/stats", kAdminOnly, [](const httplib::Request&, httplib::Response& response) {
        send_json(response, 200, cli::stats_json(broker_session().stats()));
    });
    add_route(server, context, "GET", "/api/v1/workers", kAdminOnly, [](const httplib::Request&, httplib::Response& response) {
        send_json(response, 200, {{"workers", cli::stats_json(broker_session().stats())["workers"]}});
    });
    add_route(server, context, "GET", "/api/v1/queues", kAdminOnly, [](const httplib::Request&, httplib::Response& response) {
        send_json(response, 200, {{"queues", cli::stats_json(broker_session().stats())["queues"]}});
    });
}

void add_queue_routes(httplib::Server& server, HttpContext& context) {
    const std::string queue_path = "/api/v1/queues/([^/]+)";
    add_route(server, context, "GET", queue_path, kAdminOnly, [](const httplib::Request& request, httplib::Response& response) {
        const auto queue = queue_in_path(request);
        auto entry = queue_entry(queue);
        protocol::QueueSettings read;
        read.queue = queue;
        entry["settings"] = cli::queue_settings_json(broker_session().queue_settings(read));
        send_json(response, 200, entry);
    });
    add_route(server, context, "PUT", queue_path, kAdminOnly, [](const httplib::Request& request, httplib::Response& response) {
        auto settings = queue_settings_from(queue_in_path(request), parse_object(request.body, true));
        const auto created = broker_session().create_queue(settings);
        send_json(response, created.was_created ? 201 : 200, cli::queue_settings_json(created));
    });
    add_route(server, context, "DELETE", queue_path, kAdminOnly, [](const httplib::Request& request, httplib::Response& response) {
        const auto queue = queue_in_path(request);
        const auto removed = broker_session().delete_queue(queue, flag_param(request, "force"));
        send_json(response, 200, {{"queue", cli::json_text(queue)}, {"deleted", true}, {"jobs_removed", removed}});
    });
    add_route(server, context, "GET", queue_path + "/settings", kAdminOnly,
              [](const httplib::Request& request, httplib::Response& response) {
                  protocol::QueueSettings read;
                  read.queue = queue_in_path(request);
                  send_json(response, 200, cli::queue_settings_json(broker_session().queue_settings(read)));
              });
    add_route(server, context, "PATCH", queue_path + "/settings", kAdminOnly,
              [](const httplib::Request& request, httplib::Response& response) {
                  auto settings = queue_settings_from(queue_in_path(request), parse_object(request.body, false));
                  send_json(response, 200, cli::queue_settings_json(broker_session().queue_settings(settings)));
              });
    add_route(server, context, "POST", queue_path + "/pause", kAdminOnly,
              [](const httplib::Request& request, httplib::Response& response) {
                  send_json(response, 200, cli::queue_settings_json(broker_session().pause(queue_in_path(request))));
              });
    add_route(server, context, "POST", queue_path + "/resume", kAdminOnly,
              [](const httplib::Request& request, httplib::Response& response) {
                  send_json(response, 200, cli::queue_settings_json(broker_session().resume(queue_in_path(request))));
              });
    add_route(server, context, "POST", queue_path + "/clear", kAdminOnly,
              [](const httplib::Request& request, httplib::Response& response) {
                  const auto queue = queue_in_path(request);
                  const auto body = parse_object(request.body, true);
                  reject_unknown_fields(body, {"pending", "delayed"});
                  const bool pending = body.value("pending", true);
                  const bool delayed = body.value("delayed", false);
                  const auto removed = broker_session().clear(queue, pending, delayed);
                  send_json(response, 200, {{"queue", cli::json_text(queue)}, {"cleared", removed}});
              });
    add_route(server, context, "GET", queue_path + "/jobs", kAdminOnly,
              [](const httplib::Request& request, httplib::Response& response) {
                  const auto queue = queue_in_path(request);
                  const auto state = listed_state_param(request);
                  const auto after = request.has_param("after") ? request.get_param_value("after") : std::string();
                  const auto limit = static_cast<std::uint32_t>(count_param(request, "limit", 100, 1, protocol::kMaxListed));
                  send_json(response, 200, cli::list_json(broker_session().list(queue, state, after, limit)));
              });
}

void add_dead_set_routes(httplib::Server& server, HttpContext& context) {
    const std::string dead_path = "/api/v1/queues/([^/]+)/dead";
    add_route(server, context, "GET", dead_path, kAdminOnly, [](const httplib::Request& request, httplib::Response& response) {
        const auto limit = static_cast<std::uint32_t>(count_param(request, "limit", 100, 1, protocol::kMaxDeadListed));
        send_json(response, 200, cli::dead_json(broker_session().dead(queue_in_path(request), limit)));
    });
    add_route(server, context, "POST", dead_path + "/retry", kAdminOnly,
              [](const httplib::Request& request, httplib::Response& response) {
                  const auto queue = queue_in_path(request);
                  send_json(response, 200, {{"queue", cli::json_text(queue)}, {"retried", broker_session().retry_all(queue)}});
              });
    add_route(server, context, "DELETE", dead_path, kAdminOnly, [](const httplib::Request& request, httplib::Response& response) {
        const auto queue = queue_in_path(request);
        send_json(response, 200, {{"queue", cli::json_text(queue)}, {"purged", broker_session().purge(queue)}});
    });
    add_route(server, context, "DELETE", dead_path + "/([^/]+)", kAdminOnly,
              [](const httplib::Request& request, httplib::Response& response) {
                  const auto queue = queue_in_path(request);
                  const auto id = job_in_path(request, 2);
                  send_json(response, 200, {{"queue", cli::json_text(queue)}, {"id", cli::json_text(id)},
                                            {"purged", broker_session().purge(queue, id)}});
              });
    add_route(server, context, "POST", "/api/v1/jobs/([^/]+)/retry", kAdminOnly,
              [](const httplib::Request& request, httplib::Response& response) {
                  const auto id = job_in_path(request);
                  broker_session().retry(id);
                  send_json(response, 200, {{"id", cli::json_text(id)}, {"retried", true}});
              });
}

}  // namespace

void add_admin_routes(httplib::Server& server, HttpContext& context) {
    add_stats_routes(server, context);
    add_queue_routes(server, context);
    add_dead_set_routes(server, context);
}

}  // namespace corsair::http
